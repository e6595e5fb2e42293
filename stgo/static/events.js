// Widget events to the server, numbered; which of them the server has not
// acknowledged yet, and typing not sent yet.
import { widgetOf } from "./dom.js";
import { send } from "./connection.js";

var TYPING_PAUSE_MS = 300;

var seq = 0;
var acked = 0;
// widget id -> seq of its newest unacknowledged event, or Infinity while a
// text field holds typing not sent yet.  (Read by patch.js and keep.js: a
// value the server sends never wipes what the user is typing.)
export const pendingByWidget = {};
var typingTimers = {};

export function lastSeq() { return seq; }

export function lastAcked() { return acked; }

export function sendEvent(widgetId, event, value) {
  seq += 1;
  pendingByWidget[widgetId] = seq;
  send({ type: "event", widget: widgetId, event: event, value: value, seq: seq });
  return seq;
}

// The server has handled every event up to *n*; the newest such number.
export function acknowledge(n) {
  if (n > acked) acked = n;
  Object.keys(pendingByWidget).forEach(function (id) {
    if (pendingByWidget[id] <= acked) delete pendingByWidget[id];
  });
  return acked;
}

export function sendChat(w) {
  var field = w.querySelector("[data-chat]");
  if (!field || field.disabled || !field.value.trim()) return;
  sendEvent(w.id, "submit", field.value);
  field.value = "";
}

export function sendText(el) {
  var w = widgetOf(el);
  if (!w) return;
  window.clearTimeout(typingTimers[w.id]);
  // Only typing is sent: focus passing through a field (Tab, blur) is not a change.
  if (pendingByWidget[w.id] !== Infinity) return;
  sendEvent(w.id, "change", el.value);
}

// The user typed in the text field *el* of widget *w*: sent after a pause.
export function typed(w, el) {
  // Typed but not sent yet: no ack can clear this, only sending the text
  // (an ack for an earlier value must not let a push wipe newer typing).
  pendingByWidget[w.id] = Infinity;
  window.clearTimeout(typingTimers[w.id]);
  typingTimers[w.id] = window.setTimeout(function () { sendText(el); }, TYPING_PAUSE_MS);
}
