// Loaded just before plotly.js (data-requires keeps the order).  plotly.js
// would add its layout rules with a <style> element of its own, which the
// page's Content-Security-Policy (style-src 'self') refuses: one policy
// violation and a warning per rule.  Given a stylesheet with the id it looks
// for and the class "no-inline-styles", it adds none; charts.css, from the
// app's origin, holds the rules instead.
(function () {
  "use strict";
  if (document.getElementById("plotly.js-style-global")) return;
  var query = document.currentScript ? new URL(document.currentScript.src).search : "";
  var sheet = document.createElement("link");
  sheet.id = "plotly.js-style-global";
  sheet.className = "no-inline-styles";
  sheet.rel = "stylesheet";
  sheet.href = "static/charts.css" + query;
  document.head.appendChild(sheet);
  // plotly.js also bundles maplibre's stylesheet (map traces), added in a
  // <style> of this id unless an element has it already.  Maps draw tiles
  // from other origins, which the default policy refuses anyway: a
  // placeholder keeps the console clean.  (A plotly upgrade that changes the
  // id shows up as one policy violation in tests/browser/test_chart_page.py.)
  var maps = document.createElement("meta");
  maps.id = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53";
  document.head.appendChild(maps);
})();
