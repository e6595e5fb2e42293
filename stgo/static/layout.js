// What the page does by itself, without the server: tabs, expanders,
// popovers, dialogs (a dialog the user closes tells the server), and the
// sidebar's room.
import { root, widgetOf } from "./dom.js";
import { sendEvent } from "./events.js";

var closingDialogs = [];      // dialogs the server closed (their close event is not the user's)

export function setDialog(id, open) {
  var w = document.getElementById(id);
  var d = w && w.querySelector("dialog");
  if (!d) return;
  if (open) {
    d.setAttribute("data-open", "");
    if (!d.open) d.showModal();
  } else {
    d.removeAttribute("data-open");
    if (d.open) { closingDialogs.push(d); d.close(); }
  }
}

// The sidebar takes room only while it shows something.
export function syncLayout() {
  var side = document.getElementById("stgo-sidebar");
  var filled = !!(side && side.querySelector(".stgo-w .stgo-w"));
  root.classList.toggle("stgo-has-sidebar", filled);
}

// On a narrow screen the sidebar folds away behind the menu button.
function toggleMenu(button) {
  var open = !root.classList.contains("stgo-sidebar-open");
  root.classList.toggle("stgo-sidebar-open", open);
  button.setAttribute("aria-expanded", open ? "true" : "false");
}

// Chat boxes (containers holding a chat input) scrolled to their end, so
// that they stay there as messages come; *all*: every one (a new page).
export function chatBoxesAtEnd(all) {
  var boxes;
  try {
    boxes = root.querySelectorAll(".stgo-w > [data-children]:has(> .stgo-chat_input)");
  } catch (e) { return []; }  // a browser without :has() (its CSS has no chat box either)
  return Array.prototype.filter.call(boxes, function (box) {
    return all || box.scrollHeight - box.scrollTop - box.clientHeight < 8;
  });
}

export function keepAtEnd(boxes) {
  boxes.forEach(function (box) { box.scrollTop = box.scrollHeight; });
}

export function closePopovers(target) {
  root.querySelectorAll(".stgo-popover-details[open]").forEach(function (d) {
    if (!d.contains(target)) d.open = false;
  });
}

export function selectTab(tab, focus) {
  var list = tab.closest("[role=tablist]");
  if (!list) return;
  list.querySelectorAll("[data-tab-target]").forEach(function (t) {
    var on = t === tab;
    t.setAttribute("aria-selected", on ? "true" : "false");
    t.tabIndex = on ? 0 : -1;
    var panel = document.getElementById(t.getAttribute("data-tab-target"));
    if (panel) panel.hidden = !on;
  });
  if (focus !== false) tab.focus();
}

// The listeners for dialogs, popovers (Escape closes), expanders (the
// user's choice is kept over redraws) and tabs (the arrow keys move).
export function listen() {
  // A dialog closed by the user (Escape, its x button) tells the server.
  document.addEventListener("close", function (ev) {
    var d = ev.target;
    if (d.tagName !== "DIALOG") return;
    var i = closingDialogs.indexOf(d);
    if (i >= 0) { closingDialogs.splice(i, 1); return; }
    d.removeAttribute("data-open");
    var w = widgetOf(d);
    if (w && d.isConnected) sendEvent(w.id, "close", true);
  }, true);

  document.addEventListener("cancel", function (ev) {
    // A dialog without a close button cannot be closed with Escape either.
    if (ev.target.tagName === "DIALOG" && !ev.target.querySelector("[data-dialog-close]")) {
      ev.preventDefault();
    }
  }, true);

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = ev.target.closest && ev.target.closest(".stgo-popover-details[open]");
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });

  document.addEventListener("toggle", function (ev) {
    if (ev.target.tagName === "DETAILS") ev.target.setAttribute("data-user-toggled", "");
  }, true);

  var menu = document.getElementById("stgo-menu");
  if (menu) menu.addEventListener("click", function () { toggleMenu(menu); });

  document.addEventListener("keydown", function (ev) {
    var tab = ev.target.closest && ev.target.closest("[data-tab-target]");
    var step = { ArrowRight: 1, ArrowLeft: -1, Home: 0, End: 0 }[ev.key];
    if (!tab || step === undefined) return;
    // Hidden tabs are skipped: they are not there for the user.
    var tabs = Array.prototype.filter.call(
      tab.closest("[role=tablist]").querySelectorAll("[data-tab-target]"),
      function (t) { return !t.hidden; });
    if (!tabs.length) return;
    var i = ev.key === "Home" ? 0 : ev.key === "End" ? tabs.length - 1 : tabs.indexOf(tab) + step;
    selectTab(tabs[(i + tabs.length) % tabs.length]);
    ev.preventDefault();
  });
}
