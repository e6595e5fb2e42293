// stgo chart adapter: draws chart widgets with plotly.js (served by the app
// from the installed plotly package) and applies their "figure" and "extend"
// ops.  Loaded by the client (adapters.js) only on pages that show a chart
// (data-requires).
(function () {
  "use strict";

  var stgo = window.stgo, Plotly = window.Plotly;
  if (!stgo || !Plotly || stgo.chartsReady) return;
  stgo.chartsReady = true;

  // (plotly.js's layout rules come from charts.css, linked by charts-style.js.)
  // No "Share chart..." button: it would send the data to Plotly's cloud.
  var CONFIG = { responsive: true, displaylogo: false, showSendToCloud: false };
  // Series colours readable on light and dark backgrounds alike.
  var COLORWAY = ["#ff4b4b", "#1c83e1", "#29b09d", "#ffa421", "#803df5", "#00a3c4",
                  "#e0559b", "#6b8e23"];

  // The page's colours (light or dark) for charts drawn with the "stgo" theme.
  function themed(layout, el) {
    if (el.getAttribute("data-theme") !== "stgo") return layout;
    var style = window.getComputedStyle(el);
    var grid = style.getPropertyValue("--stgo-border").trim() || "rgba(128,128,128,0.3)";
    var out = Object.assign({}, layout);
    if (!out.paper_bgcolor) out.paper_bgcolor = "rgba(0,0,0,0)";
    if (!out.plot_bgcolor) out.plot_bgcolor = "rgba(0,0,0,0)";
    if (!out.colorway) out.colorway = COLORWAY;
    // The mode bar's default background is the paper's at half opacity: on
    // a transparent paper, a dark block over the chart.
    out.modebar = Object.assign({ bgcolor: "rgba(0,0,0,0)",
                                  color: style.getPropertyValue("--stgo-muted").trim() || grid,
                                  activecolor: style.color }, out.modebar || {});
    out.font = Object.assign({ color: style.color, family: style.fontFamily }, out.font || {});
    Object.keys(out).concat(["xaxis", "yaxis"]).forEach(function (name) {
      if (!/^[xy]axis\d*$/.test(name)) return;
      out[name] = Object.assign({ gridcolor: grid, zerolinecolor: grid, linecolor: grid },
                                out[name] || {});
    });
    return out;
  }

  function show(el, figure, total) {
    el.stgoFigure = figure;
    el.stgoTotal = total;
    Plotly.react(el, figure.data || [], themed(figure.layout || {}, el), CONFIG);
  }

  function drawNew() {
    document.querySelectorAll(".stgo-plot[data-figure]").forEach(function (el) {
      var figure;
      try { figure = JSON.parse(el.getAttribute("data-figure")); } catch (e) { return; }
      var total = Number(el.getAttribute("data-total") || 0);
      // The plot keeps the figure now; a copy in the DOM would only weigh.
      el.removeAttribute("data-figure");
      show(el, figure, total);
    });
  }

  function plotOf(id) {
    var w = document.getElementById(id);
    return w ? w.querySelector(".stgo-plot") : null;
  }

  stgo.onOp("figure", function (op) {
    drawNew();
    var el = plotOf(op.id);
    if (el) show(el, op.figure, op.total);
  });

  stgo.onOp("extend", function (op) {
    drawNew();
    var el = plotOf(op.id);
    if (!el || el.stgoTotal === undefined) return;
    var have = el.stgoTotal, end = op.start + op.count;
    if (end <= have) return;                    // a full render had these rows already
    if (op.start > have) { stgo.resync(); return; }  // rows went missing: redraw the page
    var skip = have - op.start, x = op.x, y = op.y;
    if (skip > 0) {
      if (!op.aligned) { stgo.resync(); return; }
      x = x.map(function (a) { return a.slice(skip); });
      y = y.map(function (a) { return a.slice(skip); });
    }
    if (op.max) Plotly.extendTraces(el, { x: x, y: y }, op.traces, op.max);
    else Plotly.extendTraces(el, { x: x, y: y }, op.traces);
    el.stgoTotal = end;
  });

  document.addEventListener("stgo:message", drawNew);

  // Follow the system's light/dark switch.
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      document.querySelectorAll(".stgo-plot[data-theme=stgo]").forEach(function (el) {
        if (el.stgoFigure) Plotly.react(el, el.data, themed(el.stgoFigure.layout || {}, el), CONFIG);
      });
    });
  }

  drawNew();
})();
