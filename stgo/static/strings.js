// stgo's own words in the App's language (App(language=...)): the page
// carries them as a JSON element (data, not a script: the CSP holds).
var words = null;

export function say(name, fallback) {
  if (words === null) {
    words = {};
    var el = document.getElementById("stgo-strings");
    try { if (el) words = JSON.parse(el.textContent || "{}") || {}; } catch (e) { words = {}; }
  }
  return typeof words[name] === "string" ? words[name] : fallback;
}

// stgo's words in widgets the server drew (in English): data-say names the
// text, data-say-label the aria-label.
export function translate(el) {
  var text = el.getAttribute("data-say"), label = el.getAttribute("data-say-label");
  if (text) el.textContent = say(text, el.textContent);
  if (label) el.setAttribute("aria-label", say(label, el.getAttribute("aria-label")));
}
