// What the user is doing survives a redraw: focus, caret and selection,
// text not acknowledged yet, form drafts, the chosen tabs and expanders.
import { root, within, widgetOf, isText } from "./dom.js";
import { pendingByWidget } from "./events.js";
import { selectTab } from "./layout.js";
import { updateOutput } from "./values.js";

// -- form drafts: what the user typed in a form and has not submitted --------------

export function captureDrafts(scope) {
  var drafts = [];
  within(scope, ".stgo-w[data-dirty]").forEach(function (w) {
    var fields = Array.prototype.map.call(w.querySelectorAll("input, select, textarea"), function (el) {
      return { value: el.value, checked: el.checked, index: el.selectedIndex };
    });
    drafts.push({ id: w.id, fields: fields });
  });
  return drafts;
}

export function restoreDrafts(drafts) {
  drafts.forEach(function (d) {
    var w = document.getElementById(d.id);
    if (!w) return;
    var els = w.querySelectorAll("input, select, textarea");
    if (els.length !== d.fields.length) return;  // the widget changed shape
    d.fields.forEach(function (f, i) {
      var el = els[i];
      if (el.type === "file") return;  // a file field cannot be given a value
      if (el.type === "checkbox" || el.type === "radio") el.checked = f.checked;
      else if (el.tagName === "SELECT") el.selectedIndex = f.index;
      else el.value = f.value;
      updateOutput(el);
    });
    w.setAttribute("data-dirty", "");
  });
}

// -- the view: tabs and expanders -------------------------------------------------

// What the user chose in the page itself (tabs, opened expanders), so that
// a full render (on reconnect) does not undo it.
export function captureView() {
  var view = { tabs: [], details: [] };
  root.querySelectorAll("[role=tab][aria-selected=true]").forEach(function (t) {
    view.tabs.push(t.getAttribute("data-tab-target"));
  });
  root.querySelectorAll("details[data-user-toggled]").forEach(function (d) {
    var w = widgetOf(d);
    if (w) view.details.push({ id: w.id, open: d.open });
  });
  return view;
}

export function restoreView(view) {
  view.tabs.forEach(function (target) {
    var tab = root.querySelector("[data-tab-target=\"" + target + "\"]");
    if (tab && !tab.hidden && tab.getAttribute("aria-selected") !== "true") selectTab(tab, false);
  });
  view.details.forEach(function (d) {
    var w = document.getElementById(d.id);
    var details = w && w.querySelector("details");
    if (!details) return;
    details.open = d.open;
    details.setAttribute("data-user-toggled", "");
  });
}

// -- focus ------------------------------------------------------------------------

// The focusable parts of a widget, in order: an element without an id (a
// table's sort header or row check box) is found again by its place here.
var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";

export function captureFocus() {
  var a = document.activeElement;
  if (!a || a === document.body) return null;
  var w = a.closest(".stgo-w");
  if (!a.id && !(w && w.id)) return null;
  var keep = { el: a, id: a.id, start: null, end: null, dir: null, scroll: a.scrollTop,
               value: a.value, widget: w ? w.id : null,
               nth: a.id ? -1 : Array.prototype.indexOf.call(w.querySelectorAll(FOCUSABLE), a) };
  try {
    keep.start = a.selectionStart; keep.end = a.selectionEnd; keep.dir = a.selectionDirection;
  } catch (e) { /* not a text field */ }
  return keep;
}

export function restoreFocus(keep) {
  if (!keep) return;
  var now = keep.id ? document.getElementById(keep.id) : null;
  if (!keep.id && keep.nth >= 0) {
    var w = document.getElementById(keep.widget);
    now = w && w.querySelectorAll(FOCUSABLE)[keep.nth];
    // Only when the focus was lost with the old element (not moved on by the user).
    if (document.activeElement !== document.body && document.activeElement !== null) return;
  }
  if (!now || now === document.activeElement) return;
  // Text the server has not acknowledged yet stays as the user typed it.
  // (A chat field's draft is never sent before Enter: it is always kept.)
  if (keep.widget && (pendingByWidget[keep.widget] || now.hasAttribute("data-chat")) &&
      isText(now)) now.value = keep.value;
  now.focus({ preventScroll: true });
  if (keep.start !== null && typeof now.setSelectionRange === "function") {
    try { now.setSelectionRange(keep.start, keep.end, keep.dir || "none"); } catch (e) { /* ignore */ }
  }
  now.scrollTop = keep.scroll;
}
