// Notices over the page: alerts (errors), toasts and spinners.
import { say } from "./strings.js";

var alertsEl = document.getElementById("stgo-alerts");
var spinners = {};            // spinner id -> its element

export function showAlert(text, kind) {
  if (!alertsEl) return;
  var box = document.createElement("div");
  box.className = "stgo-alert stgo-alert-" + kind + " stgo-toast";
  box.setAttribute("role", "alert");
  var span = document.createElement("span");
  span.textContent = text;
  box.appendChild(span);
  box.appendChild(dismissButton(box));
  alertsEl.appendChild(box);
  while (alertsEl.children.length > 5) alertsEl.firstElementChild.remove();
}

// The "×" that removes a notice (an alert or a toast) from the page.
function dismissButton(box) {
  var close = document.createElement("button");
  close.type = "button";
  close.className = "stgo-dismiss";
  close.setAttribute("aria-label", say("dismiss", "Dismiss"));
  close.textContent = "\u00d7";
  close.addEventListener("click", function () { box.remove(); });
  return close;
}

export function showToast(msg) {
  if (!alertsEl) return;
  var box = document.createElement("div");
  box.className = "stgo-toast stgo-notice";
  box.setAttribute("role", "status");
  if (msg.icon) {
    var icon = document.createElement("span");
    icon.className = "stgo-toast-icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = msg.icon;
    box.appendChild(icon);
  }
  var span = document.createElement("span");
  span.className = "stgo-toast-text";
  span.textContent = msg.text || "";
  box.appendChild(span);
  box.appendChild(dismissButton(box));
  alertsEl.appendChild(box);
  var ms = Number(msg.duration) * 1000;
  if (ms > 0) window.setTimeout(function () { box.remove(); }, ms);
  while (alertsEl.children.length > 8) alertsEl.firstElementChild.remove();
}

export function showSpinner(msg) {
  var el = spinners[msg.id];
  if (msg.done) {
    if (el) el.remove();
    delete spinners[msg.id];
    return;
  }
  if (!alertsEl || el) return;
  el = document.createElement("div");
  el.className = "stgo-toast stgo-spinner-note";
  el.setAttribute("role", "status");
  var wheel = document.createElement("span");
  wheel.className = "stgo-spinner";
  wheel.setAttribute("aria-hidden", "true");
  var span = document.createElement("span");
  span.textContent = msg.text || "";
  el.appendChild(wheel);
  el.appendChild(span);
  alertsEl.appendChild(el);
  spinners[msg.id] = el;
}
