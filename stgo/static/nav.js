// Pages and URLs: this tab's name and page, links to other pages of the
// app, the browser's history (back and forward).
import { root, within } from "./dom.js";
import { send } from "./connection.js";

// The page's <base href> is the app's root relative to this page ("./",
// "../"): made absolute by init(), it stays right when pushState moves the
// URL, so "ws", "health", "static/..." and page links all resolve from the
// root, under any prefix.
var appRoot = null;
var currentPath = "/";
// This tab's name for the server (not a secret): kept in sessionStorage,
// which is per tab and outlives a reload, so reconnects and reloads find the
// same per-tab values (scope="tab"); another tab has its own.
var tabId = "";
var TAB_KEY = "stgo-tab";

export function init() {
  var baseEl = document.querySelector("base");
  appRoot = new URL(baseEl ? baseEl.getAttribute("href") : "./", window.location.href);
  appRoot.search = "";
  appRoot.hash = "";
  if (baseEl) baseEl.setAttribute("href", appRoot.href);
  currentPath = root.getAttribute("data-page") || "/";
  tabId = keptTabId();
}

function keptTabId() {
  var id = null;
  try { id = window.sessionStorage.getItem(TAB_KEY); } catch (e) { /* no storage */ }
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    id = randomId();
    try { window.sessionStorage.setItem(TAB_KEY, id); } catch (e) { /* this page only */ }
  }
  return id;
}

export function path() { return currentPath; }

export function tab() { return tabId; }

export function socketUrl() {
  // No session ID in the URL: the handshake carries the HttpOnly cookie.
  // It names this tab, and the page and query it shows.
  var url = new URL("ws", appRoot);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("tab", tabId);
  url.searchParams.set("path", currentPath);
  url.searchParams.set("query", window.location.search.replace(/^\?/, ""));
  return url.toString();
}

function randomId() {
  var bytes = new Uint8Array(12);
  window.crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
}

// The page path of a URL of this app ("/reports"), or null for another site.
export function pathOf(url) {
  if (url.origin !== appRoot.origin || url.pathname.indexOf(appRoot.pathname) !== 0) {
    // The app's root without its trailing slash ("/prefix") is its "/".
    if (url.origin === appRoot.origin && url.pathname + "/" === appRoot.pathname) return "/";
    return null;
  }
  return "/" + url.pathname.slice(appRoot.pathname.length);
}

function urlOf(path, query) {
  var url = new URL(path === "/" ? "./" : path.replace(/^\//, ""), appRoot);
  Object.keys(query || {}).forEach(function (k) { url.searchParams.set(k, query[k]); });
  return url;
}

export function queryOf(search) {
  var query = {};
  new URLSearchParams(search).forEach(function (v, k) { if (!(k in query)) query[k] = v; });
  return query;
}

// Follow a link to another page of this app: a history entry, then ask the
// server for the page (it answers with a render).
export function go(path, query, push) {
  var url = urlOf(path, query);
  if (push) window.history.pushState({ stgo: path }, "", url.href);
  currentPath = path;
  markCurrent();
  send({ type: "navigate", path: path, query: query || {} });
}

// The page now shown: on the root (for the CSS) and on every link to it.
function markCurrent() {
  root.setAttribute("data-page", currentPath);
  within(root, "a[data-stgo-path]").forEach(markLink);
}

// A link to the page now shown says so (aria-current).
export function markLink(a) {
  if (a.getAttribute("data-stgo-path") === currentPath) a.setAttribute("aria-current", "page");
  else a.removeAttribute("aria-current");
}

// A render says which page it is of: move the URL if the server moved us.
export function followRender(msg) {
  if (typeof msg.path !== "string") return;
  var url = urlOf(msg.path, msg.query);
  if (msg.push) window.history.pushState({ stgo: msg.path }, "", url.href);
  else if (pathOf(new URL(window.location.href)) !== msg.path ||
           JSON.stringify(queryOf(window.location.search)) !== JSON.stringify(msg.query || {})) {
    window.history.replaceState({ stgo: msg.path }, "", url.href);
  }
  currentPath = msg.path;
  root.setAttribute("data-page", currentPath);
  root.setAttribute("data-status", String(msg.status || 200));
}

export function onUrl(msg) {
  // The server set this tab's query: the URL follows, with no new entry.
  var url = urlOf(typeof msg.path === "string" ? msg.path : currentPath, msg.query);
  window.history.replaceState({ stgo: currentPath }, "", url.href);
}

// A click on a link to a page of this app, followed here; false for any
// other click (another site, a new tab, a modifier key).
export function followLink(ev) {
  var link = ev.target.closest("a[data-stgo-path]");
  if (link && ev.button === 0 && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && !ev.altKey &&
      !link.target) {
    var url = new URL(link.href);
    var path = pathOf(url);
    if (path !== null) {
      ev.preventDefault();
      go(path, queryOf(url.search), true);
      return true;
    }
  }
  return false;
}

// The back and forward buttons: show the page of that history entry.
export function listen() {
  window.addEventListener("popstate", function () {
    var path = pathOf(new URL(window.location.href));
    if (path === null) return;
    go(path, queryOf(window.location.search), false);
  });
}
