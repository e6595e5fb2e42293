// stgo table adapter: sorting by header, paging and row selection for
// interactive dataframes.  The server checks every event and redraws the
// table for this session only (see stgo/widgets/dataframe.py).
(function () {
  "use strict";

  var stgo = window.stgo;
  if (!stgo || stgo.tableReady) return;
  stgo.tableReady = true;

  function frameOf(el) {
    var w = el.closest(".stgo-w");
    return w && w.getAttribute("data-kind") === "dataframe" ? w : null;
  }

  function sort(th) {
    var w = frameOf(th);
    if (w) stgo.send(w.id, "sort", Number(th.getAttribute("data-sort")));
  }

  document.addEventListener("click", function (ev) {
    var th = ev.target.closest("th[data-sort]");
    if (th) { sort(th); return; }
    var pager = ev.target.closest("[data-page]");
    if (pager && !pager.disabled) {
      var w = frameOf(pager);
      if (w) stgo.send(w.id, "page", Number(pager.getAttribute("data-page")));
    }
  });

  document.addEventListener("keydown", function (ev) {
    var th = ev.target.closest && ev.target.closest("th[data-sort]");
    if (th && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); sort(th); }
  });

  document.addEventListener("change", function (ev) {
    var box = ev.target;
    if (!box.matches || !box.matches("input[data-select]")) return;
    var w = frameOf(box), table = w && w.querySelector("table[data-selected]");
    var tr = box.closest("tr[data-row]");
    if (!table || !tr) return;
    var row = Number(tr.getAttribute("data-row"));
    var chosen;
    try { chosen = JSON.parse(table.getAttribute("data-selected")); } catch (e) { chosen = []; }
    var single = box.type === "radio";
    if (box.checked) chosen = single ? [row] : chosen.concat([row]);
    else chosen = chosen.filter(function (i) { return i !== row; });
    table.setAttribute("data-selected", JSON.stringify(chosen));
    tr.setAttribute("aria-selected", box.checked ? "true" : "false");
    stgo.send(w.id, "select", chosen);
  });
})();
