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
