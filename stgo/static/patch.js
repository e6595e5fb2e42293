// Applying what the server draws: a whole render of the page, and patches
// (update, value, insert, remove, and the adapters' own ops), each numbered
// so that an older drawing never replaces a newer one.
import { root, within, parse, isWidget, applyStyles } from "./dom.js";
import { loadRequirements, runOp } from "./adapters.js";
import { pendingByWidget } from "./events.js";
import { isPending, disableSubmit } from "./forms.js";
import { captureDrafts, restoreDrafts, captureFocus, restoreFocus, captureView,
         restoreView } from "./keep.js";
import { chatBoxesAtEnd, keepAtEnd, selectTab, syncLayout } from "./layout.js";
import { markLink } from "./nav.js";
import { translate } from "./strings.js";
import { fillRange, limitChoices, updateOutput } from "./values.js";

// What new HTML (a render, an updated or inserted widget) needs beside its
// markup, by the elements that need it.
var SET_UPS = [
  ["input[type=range]", fillRange],
  [".stgo-multiselect-group[data-max]", limitChoices],
  ["dialog[data-open]", function (d) { if (!d.open && d.isConnected) d.showModal(); }],
  ["[data-requires]", loadRequirements],
  ["a[data-stgo-path]", markLink],
  ["[data-say], [data-say-label]", translate],
];
var SET_UP_SELECTOR = SET_UPS.map(function (s) { return s[0]; }).join(", ");

// Only in *scope*, in one query: the rest of the page has been set up,
// and a click's patch should not cost a walk over the whole document.
export function setUp(scope) {
  within(scope, SET_UP_SELECTOR).forEach(function (el) {
    SET_UPS.forEach(function (s) { if (el.matches(s[0])) s[1](el); });
  });
}

// Draw generations (docs/protocol.md, "Ops out of order"): a redraw of a
// shared widget carries the number it took before reading the widget; of
// two that crossed on their way here, the higher one read it last, so an
// older one arriving after it (or after a newer full render) is dropped.
// A whole redraw ("update") is judged against whole redraws only: an older
// one still brings what a newer part ("value", "figure") does not carry (a
// label), and the newer part is applied again after it.
var drawFloor = 0;
var drawn = {};  // id -> the number of its last whole redraw
var parts = {};  // id -> the last numbered op that redrew a part of it

function fresh(op) {
  if (op.g < drawFloor || op.g < (drawn[op.id] || 0)) return false;
  if (op.op === "update") { drawn[op.id] = op.g; return true; }
  if (parts[op.id] && op.g < parts[op.id].g) return false;
  parts[op.id] = op;
  return true;
}

// A whole render (numbered *msg.g*): every widget drawn anew.
export function render(msg) {
  drawFloor = msg.g || 0; drawn = {}; parts = {}; renderAll(msg);
}

// A patch's ops, in order.
export function applyOps(ops) {
  var ends = chatBoxesAtEnd();
  for (var i = 0; i < ops.length;) {
    var run = ops.slice(i, i + Math.max(1, appends(ops, i)));
    if (run.length < 2 || !appendAll(run)) run.forEach(applyOp);
    i += run.length;
  }
  syncLayout();
  keepAtEnd(ends);
}

// How many ops from *i* on append to the same container (a callback that
// writes many lines: one patch of many inserts).
function appends(ops, i) {
  var n = 0, parent = ops[i].parent;
  while (i + n < ops.length && ops[i + n].op === "insert" && ops[i + n].parent === parent &&
         typeof ops[i + n].index !== "number" && typeof ops[i + n].g !== "number") n++;
  return n;
}

// Those appends parsed at once and put in with one DOM insertion; false
// (nothing done) where one must go its own way (op by op, applyOp): a
// widget already there, a chat input that stays last.
function appendAll(run) {
  var parent = holder(run[0].parent);
  if (!parent || parent.querySelector(":scope > .stgo-chat_input")) return false;
  var box = document.createElement("div");
  box.innerHTML = run.map(function (op) { return op.html; }).join("");
  var nodes = Array.prototype.slice.call(box.children);
  if (nodes.length !== run.length || nodes.some(function (node) {
    return !node.id || document.getElementById(node.id) || node.classList.contains("stgo-chat_input");
  })) return false;
  var all = document.createDocumentFragment();
  nodes.forEach(function (node) { all.appendChild(node); });
  parent.appendChild(all);
  nodes.forEach(function (node) { applyStyles(node); setUp(node); });
  return true;
}

function applyOp(op) {
  var el;
  if (typeof op.g === "number" && !fresh(op)) return;
  if (op.op === "update") {
    el = document.getElementById(op.id);
    if (el) replaceWidget(el, op.html);
    el = op.g && document.getElementById(op.id);
    if (el) {
      // A container's redraw drew its children too, as they were then;
      // a newer part of one of them goes back on.
      var again = [];
      [el].concat(Array.prototype.slice.call(el.querySelectorAll(".stgo-w[id]")))
        .forEach(function (w) {
          if ((drawn[w.id] || 0) < op.g) drawn[w.id] = op.g;
          if (parts[w.id] && parts[w.id].g > op.g) again.push(parts[w.id]);
        });
      again.forEach(applyOp);
    }
  } else if (op.op === "value") {
    el = document.getElementById(op.id);
    if (el) setValue(el, op.value);
  } else if (op.op === "insert") {
    var parent = holder(op.parent);
    var node = parse(op.html);
    if (!parent || !node) return;
    var old = document.getElementById(node.id);
    if (old) { replaceWidget(old, op.html); return; }
    var kids = Array.prototype.filter.call(parent.children, isWidget);
    // A chat input stays last in its container (as the server draws it).
    var chat = node.classList.contains("stgo-chat_input") ? null
      : parent.querySelector(":scope > .stgo-chat_input");
    if (typeof op.index === "number" && op.index < kids.length) parent.insertBefore(node, kids[op.index]);
    else if (chat) parent.insertBefore(node, chat);
    else parent.appendChild(node);
    applyStyles(node);
    setUp(node);
  } else if (op.op === "remove") {
    el = document.getElementById(op.id);
    if (el) el.remove();
  } else {
    runOp(op);
  }
}

function renderAll(msg) {
  if (msg.title) document.title = msg.title;
  var roots = msg.roots || {};
  var keep = captureFocus();
  var view = captureView();
  var drafts = captureDrafts(root);
  setRoot("stgo-global", roots.global);
  setRoot("stgo-sidebar", roots.sidebar);
  setRoot("stgo-topbar", roots.topbar || "");
  setRoot("stgo-session", roots.session);
  restoreDrafts(drafts);
  restoreView(view);
  restoreFocus(keep);
  setUp(root);
  syncLayout();
  keepAtEnd(chatBoxesAtEnd(true));
}

function setRoot(id, html) {
  var el = document.getElementById(id);
  if (el && typeof html === "string" && el.innerHTML !== html) {
    el.innerHTML = html;
    applyStyles(el);
  }
}

function holder(parentId) {
  var named = { global: "stgo-global", session: "stgo-session", sidebar: "stgo-sidebar",
                topbar: "stgo-topbar" };
  if (named[parentId]) return document.getElementById(named[parentId]);
  var el = document.getElementById(parentId);
  if (!el) return null;
  return el.hasAttribute("data-children") ? el : el.querySelector("[data-children]");
}

// Replace a widget's element, keeping what the user is doing in it: focus,
// caret, selection, and text not yet acknowledged by the server.
function replaceWidget(el, html) {
  var node = parse(html);
  if (!node) return;
  var keep = captureFocus();
  // Keep the open/closed state of an expander and the chosen tab.
  if (el.tagName === node.tagName) {
    var details = el.querySelector("details"), newDetails = node.querySelector("details");
    if (details && newDetails && details.hasAttribute("data-user-toggled")) {
      newDetails.open = details.open;
      newDetails.setAttribute("data-user-toggled", "");
    }
  }
  var chosen = el.querySelector("[role=tab][aria-selected=true]");
  var drafts = captureDrafts(el);
  el.replaceWith(node);
  applyStyles(node);
  restoreDrafts(drafts);
  if (isPending(node.id)) disableSubmit(node);
  // Keep the tab the user picked, if it still exists and is shown.
  if (chosen) {
    var again = node.querySelector("[data-tab-target=\"" + chosen.getAttribute("data-tab-target") + "\"]");
    if (again && !again.hidden) selectTab(again, false);
  }
  restoreFocus(keep);
  setUp(node);
}

function setValue(widgetEl, value) {
  // A form field the user edited keeps the draft until it is submitted.
  if (widgetEl.hasAttribute("data-dirty")) return;
  var compound = widgetEl.getAttribute("data-compound");
  if (compound) {
    var parts = widgetEl.querySelectorAll("[data-part]");
    var list = Array.isArray(value) ? value : [];
    parts.forEach(function (p, i) {
      if (compound === "checked") p.checked = list.indexOf(Number(p.value)) >= 0;
      else if (i < list.length && p.value !== String(list[i])) p.value = list[i];
      updateOutput(p);
    });
    within(widgetEl, ".stgo-multiselect-group[data-max]").forEach(limitChoices);
    return;
  }
  var inputs = widgetEl.querySelectorAll("[data-event=change]");
  for (var i = 0; i < inputs.length; i++) {
    var input = inputs[i];
    var busy = input === document.activeElement && pendingByWidget[widgetEl.id];
    if (input.type === "checkbox") input.checked = !!value;
    else if (input.type === "radio") input.checked = String(value) === input.value;
    else if (input.tagName === "SELECT") input.selectedIndex = Number(value);
    else if (busy) continue;  // never wipe what this user is typing
    else if (input.value !== String(value)) {
      if (input === document.activeElement && typeof input.setSelectionRange === "function") {
        var s = input.selectionStart, e = input.selectionEnd;
        input.value = value;
        try { input.setSelectionRange(s, e); } catch (err) { /* ignore */ }
      } else {
        input.value = value;
      }
    }
    updateOutput(input);
  }
}
