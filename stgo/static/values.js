// A widget's value as its inputs hold it, and what shows it beside them
// (a slider's number and fill, a multiselect's limit).
import { widgetOf } from "./dom.js";

export function valueOf(el) {
  if (el.type === "checkbox") return el.checked;
  if (el.type === "radio") return Number(el.value);
  if (el.type === "number" || el.type === "range") return el.value === "" ? null : Number(el.value);
  // A date or time being typed is empty until complete: nothing to send yet.
  if (el.type === "date" || el.type === "time") return el.value === "" ? null : el.value;
  if (el.tagName === "SELECT") {
    // The "Choose an option" placeholder (value "") is no choice to send.
    var option = el.options[el.selectedIndex];
    return option && option.value !== "" ? el.selectedIndex : null;
  }
  return el.value;
}

export function updateOutput(el) {
  var w = widgetOf(el);
  var out = w && w.querySelector("output");
  if (el.type === "color") { if (out) out.textContent = el.value; return; }
  if (el.type !== "range") return;
  fillRange(el);
  if (!out) return;
  var names = null;
  var labels = el.getAttribute("data-labels");
  try { if (labels !== null) names = JSON.parse(labels); } catch (e) { /* plain numbers */ }
  var shown = function (input) {
    var text = names ? String(names[Number(input.value)]) : input.value;
    if (names) input.setAttribute("aria-valuetext", text);
    return text;
  };
  if (w.getAttribute("data-compound") === "list") {
    var parts = w.querySelectorAll("[data-part]");
    out.textContent = shown(parts[0]) + " \u2013 " + shown(parts[1]);
  } else {
    out.textContent = shown(el);
  }
}

// The value of a whole widget, as its change event or a form submit carries it.
export function widgetValue(w) {
  var compound = w.getAttribute("data-compound");
  var parts;
  if (compound === "checked") {
    parts = w.querySelectorAll("[data-part]");
    return Array.prototype.filter.call(parts, function (p) { return p.checked; })
      .map(function (p) { return Number(p.value); });
  }
  if (compound === "list") {
    parts = w.querySelectorAll("[data-part]");
    return Array.prototype.map.call(parts, valueOf);
  }
  var inputs = w.querySelectorAll("[data-event=change]");
  if (inputs.length && inputs[0].type === "radio") {
    var on = Array.prototype.filter.call(inputs, function (r) { return r.checked; })[0];
    return on ? Number(on.value) : null;
  }
  return inputs.length ? valueOf(inputs[0]) : null;
}

// A multiselect at its max_selections offers no more boxes to tick.
export function limitChoices(group) {
  var max = Number(group.getAttribute("data-max"));
  var boxes = group.querySelectorAll("[data-part]");
  var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
  boxes.forEach(function (b) { b.disabled = !b.checked && ticked >= max; });
}

// A range's two ends never cross: the moved one stops at the other.
export function keepOrder(el) {
  var w = widgetOf(el);
  if (!w || w.getAttribute("data-compound") !== "list" || el.type !== "range") return;
  var parts = w.querySelectorAll("[data-part]");
  var lo = Number(parts[0].value), hi = Number(parts[1].value);
  if (lo <= hi) return;
  if (el === parts[0]) parts[0].value = parts[1].value;
  else parts[1].value = parts[0].value;
}

// How much of a slider's track is filled, for the CSS (--stgo-fill).
export function fillRange(el) {
  var lo = Number(el.min || 0), hi = Number(el.max || 100), v = Number(el.value);
  var pct = hi > lo ? Math.max(0, Math.min(100, (v - lo) / (hi - lo) * 100)) : 0;
  el.style.setProperty("--stgo-fill", pct + "%");
}
