// What the user does: the document's listeners that turn clicks, changes,
// typing and keys into widget events (or form drafts, or a page change).
import { widgetOf, isText } from "./dom.js";
import { sendEvent, sendChat, sendText, typed } from "./events.js";
import { formOf, markDirty, submitForm } from "./forms.js";
import { closePopovers, selectTab } from "./layout.js";
import { followLink } from "./nav.js";
import { keepOrder, limitChoices, updateOutput, valueOf, widgetValue } from "./values.js";

export function listen() {
  document.addEventListener("click", function (ev) {
    if (followLink(ev)) return;
    var tab = ev.target.closest("[data-tab-target]");
    if (tab) { selectTab(tab); return; }
    closePopovers(ev.target);
    var submit = ev.target.closest("[data-form-submit]");
    if (submit) {
      var form = formOf(submit);
      if (form && !submit.disabled) submitForm(form);
      return;
    }
    var send = ev.target.closest("[data-chat-send]");
    if (send) { if (widgetOf(send)) sendChat(widgetOf(send)); return; }
    var shut = ev.target.closest("[data-dialog-close]");
    if (shut) {
      var box = shut.closest("dialog");
      if (box) box.close();
      return;
    }
    var el = ev.target.closest("[data-event=click]");
    if (!el || el.disabled) return;
    var w = widgetOf(el);
    if (w) sendEvent(w.id, "click", true);
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("[data-event=change]")) return;
    keepOrder(el);
    updateOutput(el);
    var group = el.closest(".stgo-multiselect-group[data-max]");
    if (group) limitChoices(group);
    if (formOf(el)) { markDirty(el); return; }  // sent with the submit
    if (isText(el)) { sendText(el); return; }
    var w = widgetOf(el);
    if (w && w.hasAttribute("data-compound")) {
      var parts = widgetValue(w);
      if (parts.indexOf(null) < 0) sendEvent(w.id, "change", parts);
      return;
    }
    var value = valueOf(el);
    // An emptied number field has no value to send; the server keeps the last one.
    if (w && value !== null) sendEvent(w.id, "change", value);
  });

  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (!el.matches || !el.matches("[data-event=change]")) return;
    keepOrder(el);
    updateOutput(el);
    if (formOf(el)) { markDirty(el); return; }
    if (!isText(el)) return;
    var w = widgetOf(el);
    if (!w) return;
    typed(w, el);
  });

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    if (ev.key !== "Enter" || el.tagName !== "INPUT") return;
    if (el.matches("[data-chat]")) { ev.preventDefault(); sendChat(widgetOf(el)); return; }
    if (!el.matches("[data-event=change]")) return;
    var form = formOf(el);
    if (form) {
      // Enter in a one-line field submits its form, as in an HTML form.
      if (!/^(checkbox|radio|range|color)$/.test(el.type)) {
        ev.preventDefault();
        if (!form.hasAttribute("data-no-enter")) submitForm(form);
      }
      return;
    }
    if (isText(el)) sendText(el);
  });

  document.addEventListener("focusout", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("[data-event=change]") && isText(el) && !formOf(el)) sendText(el);
  });
}
