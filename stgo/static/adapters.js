// Adapters: the scripts a widget needs (its data-requires: charts.js,
// files.js, table.js), loaded once, in order, only on pages that show such
// a widget; and the ops they handle (a chart's "figure" and "extend").
import { showAlert } from "./notices.js";

var opHandlers = {};
var deferredOps = {};
var DEFERRED_MAX = 1000;
var scripts = {};
// "?v=<version>" from this module's URL (static/v/<version>/adapters.js),
// so that adapters are cached per version as the client is.
var versioned = /\/v\/([^/]+)\/[^/]+$/.exec(new URL(import.meta.url).pathname);
var scriptQuery = versioned ? "?v=" + versioned[1] : "";

function loadScript(url) {
  if (!scripts[url]) {
    scripts[url] = new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url + scriptQuery;
      s.onload = resolve;
      s.onerror = function () {
        // Said once: the rejected promise stays, so no retry and no repeat.
        showAlert("could not load " + url + ": this part of the page cannot be drawn", "error");
        reject(new Error("could not load " + url));
      };
      document.head.appendChild(s);
    });
  }
  return scripts[url];
}

// Widgets whose scripts are still on their way, and the clicks and changes
// made in them meanwhile: those scripts listen on the document, so a click
// before they run would be lost (a sort, a page, a cell).  Held, then given
// again once the scripts ran.
var loading = new Set();
var held = [];
var HELD_MAX = 100;

function holdUntilReady(ev) {
  if (!loading.size || !ev.target.closest || ev.target.matches("input[type=file]")) return;
  var el = ev.target.closest("[data-requires]");
  if (!el || !loading.has(el)) return;
  ev.stopImmediatePropagation();
  if (ev.type === "click") ev.preventDefault();  // a checkbox's toggle comes with the replay
  if (held.length < HELD_MAX) {
    held.push({ el: el, target: ev.target, type: ev.type, id: el.id, path: pathFrom(el, ev.target) });
  }
}

// Where *node* is in *el*: the child indexes down to it.
function pathFrom(el, node) {
  var path = [];
  for (; node && node !== el; node = node.parentElement) {
    path.unshift(Array.prototype.indexOf.call(node.parentElement.children, node));
  }
  return path;
}

// The element at *path* in *el*, or null.
function follow(el, path) {
  for (var i = 0; el && i < path.length; i++) el = el.children[path[i]];
  return el || null;
}
document.addEventListener("click", holdUntilReady, true);
document.addEventListener("change", holdUntilReady, true);

function replay(el) {
  var mine = held.filter(function (h) { return h.el === el; });
  held = held.filter(function (h) { return h.el !== el; });
  mine.forEach(function (h) {
    var target = h.target;
    if (!target.isConnected) {
      // Redrawn meanwhile (the socket's first render replaces what the page
      // drew): the same place in the widget as it is now.
      var now = h.id && document.getElementById(h.id);
      target = now && follow(now, h.path);
      if (!target) return;
      if (loading.has(now)) {  // its own wait for the scripts ends later: held till then
        held.push({ el: now, target: target, type: h.type, id: h.id, path: h.path });
        return;
      }
    }
    if (h.type === "click") target.click();
    else target.dispatchEvent(new Event(h.type, { bubbles: true }));
  });
}

export function loadRequirements(el) {
  // Only the app's own static files: nothing from another origin.
  var urls = el.getAttribute("data-requires").split(/\s+/).filter(function (u) {
    return /^static\/[\w.\/-]+$/.test(u) && u.indexOf("..") < 0;
  });
  loading.add(el);
  urls.reduce(function (done, url) {
    return done.then(function () { return loadScript(url); });
  }, Promise.resolve()).then(function () {
    loading.delete(el);
    replay(el);
  }, function () {
    loading.delete(el);  // told already; what was held is dropped with it
    held = held.filter(function (h) { return h.el !== el; });
  });
}

// An adapter handles the ops named *name* (window.stgo.onOp).
export function onOp(name, fn) {
  opHandlers[name] = fn;
  var queued = deferredOps[name] || [];
  delete deferredOps[name];
  queued.forEach(fn);
}

// A widget's own op, to the adapter that registered for it.
export function runOp(op) {
  if (opHandlers[op.op]) {
    opHandlers[op.op](op);
  } else {
    // A widget's own op (a chart's "extend") that arrived before its
    // adapter script: kept, bounded, and replayed once the adapter registers.
    var queue = deferredOps[op.op] || (deferredOps[op.op] = []);
    queue.push(op);
    if (queue.length > DEFERRED_MAX) queue.shift();
  }
}
