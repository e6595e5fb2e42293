// Forms: their fields are sent together, in one submit, and keep what the
// user typed (a draft) until the server acknowledges it.
import { widgetOf } from "./dom.js";
import { sendEvent } from "./events.js";
import { widgetValue } from "./values.js";

// form widget id -> seq of its submit not acknowledged yet.
var pendingForms = {};

export function formOf(el) { return el.closest(".stgo-form"); }

// Whether the form *id* waits for the server to acknowledge its submit.
export function isPending(id) { return !!pendingForms[id]; }

export function disableSubmit(form) {
  form.querySelectorAll("[data-form-submit]").forEach(function (b) {
    if (b.disabled && !pendingForms[form.id]) b.setAttribute("data-server-disabled", "");
    b.disabled = true;
  });
}

export function submitForm(form) {
  if (pendingForms[form.id]) return;  // the last submit is not acknowledged yet
  // Every submit button disabled: Enter does not submit either, as in an
  // HTML form (the server would refuse it).
  var buttons = form.querySelectorAll("[data-form-submit]");
  if (buttons.length && ![].some.call(buttons, function (b) { return !b.disabled; })) return;
  var values = {};
  form.querySelectorAll(".stgo-w").forEach(function (w) {
    var input = w.querySelector("[data-event=change]");
    // Files travel over HTTP, not in a submit.
    if (!input || input.type === "file" || formOf(w) !== form) return;
    var value = widgetValue(w);
    if (value !== null && !(Array.isArray(value) && value.indexOf(null) >= 0)) values[w.id] = value;
  });
  disableSubmit(form);
  pendingForms[form.id] = sendEvent(form.id, "submit", values);
}

export function markDirty(el) {
  var w = widgetOf(el);
  if (w) w.setAttribute("data-dirty", "");
}

// Every event up to *acked* is handled: the forms submitted by then take
// their submit buttons back (and, unless *refused*, drop their drafts).
export function acknowledge(acked, refused) {
  Object.keys(pendingForms).forEach(function (id) {
    if (pendingForms[id] > acked) return;
    delete pendingForms[id];
    var form = document.getElementById(id);
    if (!form) return;
    // Submitted: the fields show the server's values again.  Refused: the
    // draft is still the user's, to correct and submit again.
    if (!refused) {
      form.querySelectorAll("[data-dirty]").forEach(function (w) { w.removeAttribute("data-dirty"); });
    }
    form.querySelectorAll("[data-form-submit]").forEach(function (b) {
      if (!b.hasAttribute("data-server-disabled")) b.disabled = false;
    });
  });
}
