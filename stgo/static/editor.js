// stgo data editor adapter: a table of fields, one per cell (see
// stgo/widgets/editor.py).  Text and number cells show their formatted value
// and the raw one while focused; Enter or leaving the cell sends the edit,
// Escape puts the cell back.  Arrow keys move between cells (left and right
// at the ends of a text), Tab goes through them in order.  The server checks
// every value: a refused one comes back as an error for that event, shown on
// the cell (aria-invalid, and a message the field is described by).
(function () {
  "use strict";

  var stgo = window.stgo;
  if (!stgo || stgo.editorReady) return;
  stgo.editorReady = true;

  // seq of an edit -> the id of its cell, until the server answers it.
  var pending = {};
  // cell id -> what the user is typing there: a redraw of the table (another
  // tab's edit, a push) draws a new field, which gets the text back.
  var drafts = {};
  var NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

  function editorOf(el) {
    var w = el.closest(".stgo-w");
    return w && w.getAttribute("data-kind") === "data_editor" ? w : null;
  }

  function isCell(el) { return !!(el && el.matches && el.matches("[data-cell]") && editorOf(el)); }

  function isTyped(el) { return el.tagName === "INPUT" && el.type === "text"; }

  function rowOf(el) {
    var tr = el.closest("tr[data-row]");
    return tr ? Number(tr.getAttribute("data-row")) : -1;
  }

  // -- errors on a cell --------------------------------------------------------------

  function clearError(el) {
    var msg = document.getElementById(el.id + "-error");
    if (msg) msg.remove();
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
    var td = el.closest("td");
    if (td) td.classList.remove("stgo-cell-invalid");
  }

  function showError(el, text) {
    clearError(el);
    var msg = document.createElement("span");
    msg.id = el.id + "-error";
    msg.className = "stgo-editor-error";
    msg.setAttribute("role", "alert");
    msg.textContent = text;
    el.insertAdjacentElement("afterend", msg);
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", msg.id);
    var td = el.closest("td");
    if (td) td.classList.add("stgo-cell-invalid");
  }

  document.addEventListener("stgo:message", function (ev) {
    var msg = ev.detail || {};
    if (!msg.ack) return;
    var id = pending[msg.ack];
    Object.keys(pending).forEach(function (k) { if (Number(k) <= msg.ack) delete pending[k]; });
    if (!id) return;
    if (msg.type !== "error") { delete drafts[id]; return; }
    var el = document.getElementById(id);
    if (!el) return;
    // Not stored: a tick or an option goes back to what the server holds;
    // typed text stays, to be fixed (or put back with Escape).
    if (el.type === "checkbox") el.checked = el.defaultChecked;
    if (el.tagName === "SELECT") {
      Array.prototype.forEach.call(el.options, function (o) { o.selected = o.defaultSelected; });
    }
    // The cell says what is wrong; where it is ("'Stock': Price, row 2: ") it shows.
    showError(el, (msg.message || "refused").replace(/^.*?, row \d+: /, ""));
  });

  // -- sending edits ---------------------------------------------------------------------

  function send(el, value) {
    var w = editorOf(el);
    if (!w) return;
    var seq = stgo.send(w.id, "edited",
                        { row: rowOf(el), column: el.getAttribute("data-column"), value: value });
    pending[seq] = el.id;
  }

  function typedValue(el) {
    if (el.getAttribute("data-type") !== "number") return el.value;
    var text = el.value.trim();
    if (text === "") return null;
    // Not a number: sent as typed, for the server to refuse with its reason.
    return NUMBER.test(text) ? Number(text) : el.value;
  }

  function commit(el) {
    var raw = el.getAttribute("data-raw");
    if (el.value === raw) {
      delete drafts[el.id];
      clearError(el);
      el.removeAttribute("data-sent");
      return;
    }
    if (el.value === el.getAttribute("data-sent")) return;  // sent already, answer awaited
    el.setAttribute("data-sent", el.value);
    drafts[el.id] = el.value;  // until stored: a refused text stays through redraws
    send(el, typedValue(el));
  }

  function cancel(el) {
    delete drafts[el.id];
    if (isTyped(el)) el.value = el.getAttribute("data-raw");
    else if (el.type === "date") el.value = el.defaultValue;
    el.removeAttribute("data-sent");
    clearError(el);
  }

  // -- moving between cells -------------------------------------------------------------

  function focusable(td) { return td && td.querySelector("[data-cell], button"); }

  function move(el, rows, cols) {
    var td = el.closest("td"), tr = td && td.parentElement;
    if (!tr) return false;
    var cells = Array.prototype.slice.call(tr.children);
    var col = cells.indexOf(td), target = null;
    if (rows) {
      var other = rows < 0 ? tr.previousElementSibling : tr.nextElementSibling;
      target = other && focusable(other.children[col]);
    } else {
      for (var c = col + cols; !target && c >= 0 && c < cells.length; c += cols) {
        target = focusable(cells[c]);
      }
    }
    if (!target) return false;
    target.focus();
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    var el = ev.target;
    var inEditor = el.closest && el.closest(".stgo-editor-table") && editorOf(el);
    if (!inEditor || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    var typed = isTyped(el), date = el.type === "date";
    if (ev.key === "Enter" && isCell(el)) {
      if (typed) commit(el);
      else if (el.type === "checkbox") el.click();
      else return;
      ev.preventDefault();
    } else if (ev.key === "Escape" && isCell(el)) {
      cancel(el);
      if (typed) el.select();
      ev.preventDefault();
    } else if ((ev.key === "ArrowUp" || ev.key === "ArrowDown") && !date) {
      // (A closed <select> would change its option: here the arrows move.)
      if (move(el, ev.key === "ArrowUp" ? -1 : 1, 0)) ev.preventDefault();
    } else if ((ev.key === "ArrowLeft" || ev.key === "ArrowRight") && !date) {
      var left = ev.key === "ArrowLeft";
      if (typed) {
        var at = left ? 0 : el.value.length;
        if (el.selectionStart !== at || el.selectionEnd !== at) return;  // the caret moves
      }
      if (move(el, 0, left ? -1 : 1)) ev.preventDefault();
    }
  });

  document.addEventListener("focusin", function (ev) {
    var el = ev.target;
    if (!isCell(el) || !isTyped(el) || el.hasAttribute("data-editing")) return;
    el.setAttribute("data-editing", "");
    if (drafts[el.id] !== undefined && el.value === el.defaultValue) {
      el.value = drafts[el.id];  // redrawn while typing: the caret is put back after this
      return;
    }
    // The raw value while editing ("1.5", not "$1.50"); a refused text stays.
    if (!el.hasAttribute("aria-invalid")) el.value = el.getAttribute("data-raw");
    el.select();
  });

  document.addEventListener("input", function (ev) {
    var el = ev.target;
    if (isCell(el) && isTyped(el)) drafts[el.id] = el.value;
  });

  document.addEventListener("focusout", function (ev) {
    var el = ev.target;
    if (!isCell(el) || !isTyped(el)) return;
    el.removeAttribute("data-editing");
    // Chromium also says focusout when a redraw takes the field out (before
    // it is gone): only a field still on the page a moment later was left
    // by the user; a redrawn one lives on in its successor (see focusin).
    window.setTimeout(function () {
      if (!el.isConnected) return;
      commit(el);
      delete drafts[el.id];  // kept only while the user is in the cell
      if (document.activeElement !== el && el.value === el.getAttribute("data-raw")) {
        el.value = el.defaultValue;  // formatted again
      }
    }, 0);
  });

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (!isCell(el) || isTyped(el)) return;
    if (el.type === "checkbox") send(el, el.checked);
    else if (el.tagName === "SELECT") send(el, el.value === "" ? null : Number(el.value));
    else if (el.type === "date") send(el, el.value || null);
  });

  // A row added or deleted renumbers the rows: an edit still unsent (its
  // focusout waits a moment, above) goes first, numbered as the user saw it.
  document.addEventListener("pointerdown", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-add-row], [data-delete-row]");
    var el = document.activeElement;
    if (button && el && isCell(el) && isTyped(el)) commit(el);
  }, true);

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest &&
      ev.target.closest("[data-add-row], [data-delete-row], [data-page]");
    var w = button && !button.disabled && editorOf(button);
    if (!w) return;
    if (button.hasAttribute("data-page")) stgo.send(w.id, "page", Number(button.getAttribute("data-page")));
    else if (button.hasAttribute("data-add-row")) stgo.send(w.id, "added", null);
    else stgo.send(w.id, "deleted", [rowOf(button)]);
  });
})();
