// stgo component adapter: mounts third-party components (stgo.Component).
// Each one's ES module is served by the app from the component's package
// (static/components/<name>/<version>/<file>: same origin, so the strict
// policy holds) and imported here; its stylesheets are linked once.
// The module exports mount(element, context); context has the label, props,
// value, disabled, and send(event, value), which sends a widget event
// (the server checks it, as for any input).  mount may return an object with
// destroy(), called when stgo redraws or removes the widget.
(function () {
  "use strict";

  var stgo = window.stgo;
  if (!stgo || stgo.componentsReady) return;
  stgo.componentsReady = true;

  var live = [];   // [element, handle] of mounted components

  function absolute(url) { return new URL(url, document.baseURI).href; }

  function linkStyles(urls) {
    urls.forEach(function (url) {
      var href = absolute(url);
      var have = Array.prototype.some.call(document.querySelectorAll("link[rel=stylesheet]"),
        function (l) { return l.href === href; });
      if (have) return;
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      document.head.appendChild(link);
    });
  }

  function parse(el, name, fallback) {
    try { return JSON.parse(el.getAttribute(name)); } catch (e) { return fallback; }
  }

  function mount(el) {
    if (el.stgoMounted) return;
    el.stgoMounted = true;
    var w = el.closest(".stgo-w");
    var url = el.getAttribute("data-module") || "";
    // Only the app's own component files (the server renders these URLs).
    if (!w || !/^static\/components\/[\w.\-]+\/\w+\/[\w.\/\-]+$/.test(url)) return;
    linkStyles((el.getAttribute("data-styles") || "").split(" ").filter(Boolean));
    import(absolute(url)).then(function (mod) {
      var fn = typeof mod.mount === "function" ? mod.mount
        : (mod.default && typeof mod.default.mount === "function" ? mod.default.mount : mod.default);
      if (typeof fn !== "function") throw new Error(url + " exports no mount(element, context)");
      if (!el.isConnected) return;
      var handle = fn(el, {
        id: w.id,
        key: w.getAttribute("data-key"),
        label: el.getAttribute("data-label") || "",
        props: parse(el, "data-props", {}),
        value: parse(el, "data-value", null),
        disabled: el.hasAttribute("data-disabled"),
        send: function (event, value) { return stgo.send(w.id, event, value); },
      });
      live.push([el, handle]);
    }).catch(function (err) {
      stgo.alert("could not draw component " + w.getAttribute("data-key") + ": " +
                 (err && err.message ? err.message : err), "error");
    });
  }

  function sweep() {
    // Redrawn or removed: the old element is gone; let its module clean up.
    live = live.filter(function (pair) {
      if (pair[0].isConnected) return true;
      if (pair[1] && typeof pair[1].destroy === "function") {
        try { pair[1].destroy(); } catch (e) { /* its own business */ }
      }
      return false;
    });
    document.querySelectorAll(".stgo-component-root[data-module]").forEach(mount);
  }

  document.addEventListener("stgo:message", sweep);
  sweep();
})();
