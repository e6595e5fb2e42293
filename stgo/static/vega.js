// stgo Vega-Lite adapter: draws Altair / Vega-Lite chart widgets with
// vega-embed (served by the app from the installed vl-convert-python package,
// static/vendor/vega.js, loaded just before this file), again at each redraw
// (new data); a chart's selections go back as "select" events.
// The page's policy has no 'unsafe-eval': every embed passes ast: true, so
// Vega evaluates expressions with its interpreter, never new Function.
(function () {
  "use strict";

  var stgo = window.stgo, vegaEmbed = window.vegaEmbed;
  if (!stgo || !vegaEmbed || stgo.vegaReady) return;
  stgo.vegaReady = true;

  // vega-embed and vega-tooltip add a <style> of these ids unless one is
  // there: the policy refuses inline styles, so vega.css stands in for both.
  var query = document.currentScript ? new URL(document.currentScript.src).search : "";
  ["vega-embed-style", "vega-tooltip-style"].forEach(function (id, i) {
    if (document.getElementById(id)) return;
    var el = document.createElement(i === 0 ? "link" : "meta");
    el.id = id;
    if (i === 0) { el.rel = "stylesheet"; el.href = "static/vega.css" + query; }
    document.head.appendChild(el);
  });

  var SELECT_PAUSE_MS = 150;
  var views = [];   // [element, embed result] of drawn charts
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function options(el) {
    var opts = {
      ast: true,                     // the expression interpreter: no eval
      renderer: "svg",
      // Export only: the editor links would post the chart's data to another site.
      actions: { export: true, source: false, compiled: false, editor: false },
      tooltip: { theme: "custom" },
    };
    if (el.getAttribute("data-theme") === "stgo") {
      var style = window.getComputedStyle(el);
      var fg = style.color, grid = style.getPropertyValue("--stgo-border").trim();
      opts.config = {
        background: null,
        font: style.fontFamily,
        axis: { labelColor: fg, titleColor: fg, gridColor: grid, domainColor: grid,
                tickColor: grid },
        legend: { labelColor: fg, titleColor: fg },
        title: { color: fg, subtitleColor: fg },
        view: { stroke: grid },
      };
    }
    return opts;
  }

  function watchSelections(el, w, view, names) {
    var timers = {};
    names.forEach(function (name) {
      try {
        view.addSignalListener(name, function (n, value) {
          // A brush fires on every move: send where it rests.
          window.clearTimeout(timers[n]);
          timers[n] = window.setTimeout(function () {
            var out = {};
            out[n] = JSON.parse(JSON.stringify(value || {}));
            stgo.send(w.id, "select", out);
          }, SELECT_PAUSE_MS);
        });
      } catch (e) { /* a param without a top-level signal: nothing to send */ }
    });
  }

  function show(el, spec, names) {
    var w = el.closest(".stgo-w");
    if (!w) return;
    el.stgoSpec = spec;
    el.stgoSelections = names;
    var run = (el.stgoRun || 0) + 1;
    el.stgoRun = run;
    if (el.stgoView) {
      var old = el.stgoView;
      views = views.filter(function (pair) { return pair[1] !== old; });
      old.finalize();
      el.stgoView = null;
    }
    vegaEmbed(el, spec, options(el)).then(function (result) {
      if (el.stgoRun !== run) { result.finalize(); return; }  // a newer spec came meanwhile
      el.stgoView = result;
      views.push([el, result]);
      // The "..." menu's button is an icon: give it a name for screen readers.
      var summary = el.querySelector(".vega-embed > details > summary");
      if (summary) summary.setAttribute("aria-label", "Chart actions: export as SVG or PNG");
      watchSelections(el, w, result.view, names);
    }).catch(function (err) {
      stgo.alert("could not draw chart " + w.getAttribute("data-key") + ": " + err.message,
                 "error");
    });
  }

  function drawNew() {
    // A redraw replaced the element (new data) or removed it: free its view.
    views = views.filter(function (pair) {
      if (pair[0].isConnected) return true;
      pair[1].finalize();
      return false;
    });
    document.querySelectorAll(".stgo-vega[data-spec]").forEach(function (el) {
      var spec;
      try { spec = JSON.parse(el.getAttribute("data-spec")); } catch (e) { return; }
      var names = (el.getAttribute("data-selections") || "").split(" ").filter(Boolean);
      el.removeAttribute("data-spec");   // the view keeps it now
      show(el, spec, names);
    });
  }

  document.addEventListener("stgo:message", drawNew);

  // Follow the system's light/dark switch.
  if (dark) {
    dark.addEventListener("change", function () {
      document.querySelectorAll(".stgo-vega[data-theme=stgo]").forEach(function (el) {
        if (el.stgoSpec) show(el, el.stgoSpec, el.stgoSelections || []);
      });
    });
  }

  drawNew();
})();
