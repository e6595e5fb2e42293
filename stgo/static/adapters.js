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

export function loadRequirements(el) {
  // Only the app's own static files: nothing from another origin.
  var urls = el.getAttribute("data-requires").split(/\s+/).filter(function (u) {
    return /^static\/[\w.\/-]+$/.test(u) && u.indexOf("..") < 0;
  });
  urls.reduce(function (done, url) {
    return done.then(function () { return loadScript(url); });
  }, Promise.resolve()).catch(function () { /* told already */ });
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
