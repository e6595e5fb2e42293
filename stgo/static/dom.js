// Small helpers over the page's elements, shared by the other modules.

// The app's element; stgo.js starts nothing on a page without it.
export const root = document.getElementById("stgo-app");

// The elements in *scope* that match *selector*, *scope* itself first if it does.
export function within(scope, selector) {
  var all = Array.prototype.slice.call(scope.querySelectorAll(selector));
  if (scope.matches(selector)) all.unshift(scope);
  return all;
}

// Parsed in an element of this document, not a <template>: a template's
// nodes belong to a document of its own and are adopted when inserted,
// which costs as much again as the parse.  (A widget's root is a <div>,
// which a <div> may hold.)
export function parse(html) {
  var box = document.createElement("div");
  box.innerHTML = html;
  return box.firstElementChild;
}

// The innermost widget around an element is the element's own widget.
export function widgetOf(el) { return el.closest(".stgo-w"); }

export function isWidget(el) { return el.classList && el.classList.contains("stgo-w"); }

export function isText(el) {
  return el.tagName === "TEXTAREA" ||
    (el.tagName === "INPUT" && /^(text|password|email|search|url|tel)$/.test(el.type));
}

// Widgets give their inline styles as data-stgo-style="prop: value; ..."
// and we set them through the CSSOM, which a strict Content-Security-Policy
// (no 'unsafe-inline' styles) allows, unlike style attributes.
export function applyStyles(el) {
  within(el, "[data-stgo-style]").forEach(function (node) {
    node.getAttribute("data-stgo-style").split(";").forEach(function (decl) {
      var i = decl.indexOf(":");
      if (i > 0) node.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
    });
  });
}
