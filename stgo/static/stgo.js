// stgo browser client: applies server renders and patches in place, sends
// widget events, reconnects by itself.  Plain JS, no build step.
// Protocol reference: docs/protocol.md.
(function () {
  "use strict";

  var VERSION = 1;
  var TYPING_PAUSE_MS = 300;
  var BACKOFF_FIRST_MS = 250;
  var BACKOFF_MAX_MS = 5000;
  // Close codes (docs/protocol.md): the session was rotated by an event, or
  // outside any event (nobody holds a token: reload into a fresh session).
  var CLOSE_ROTATED = 4001;
  var CLOSE_MOVED = 4002;
  // After CLOSE_ROTATED, a refused socket means the browser's cookie has not
  // changed yet (the tab that rotated is still trading its token): retry
  // this often, for this long, before giving the session up.
  var ROTATION_RETRY_MS = 250;
  var ROTATION_WAIT_MS = 10000;
  // A page refused its socket reloads at most RELOAD_LIMIT times in
  // RELOAD_WINDOW_MS (counted in sessionStorage, per tab), then stops.
  var RELOAD_LIMIT = 3;
  var RELOAD_WINDOW_MS = 60000;
  var RELOADS_KEY = "stgo-reloads";

  var root = document.getElementById("stgo-app");
  if (!root) return;
  // The query of our own URL (?v=...), reused so that adapters are cached per version.
  var scriptQuery = document.currentScript ? new URL(document.currentScript.src).search : "";

  // -- pages and URLs -----------------------------------------------------------
  // The page's <base href> is the app's root relative to this page ("./",
  // "../"): made absolute now, it stays right when pushState moves the URL,
  // so "ws", "health", "static/..." and page links all resolve from the root,
  // under any prefix.
  var baseEl = document.querySelector("base");
  var appRoot = new URL(baseEl ? baseEl.getAttribute("href") : "./", window.location.href);
  appRoot.search = "";
  appRoot.hash = "";
  if (baseEl) baseEl.setAttribute("href", appRoot.href);
  var currentPath = root.getAttribute("data-page") || "/";
  // This tab's name for the server (not a secret): kept while the page lives,
  // so reconnects find the same per-tab state.
  var tabId = randomId();
  var statusEl = document.getElementById("stgo-status");
  var alertsEl = document.getElementById("stgo-alerts");

  var ws = null;
  var seq = 0;
  var acked = 0;
  var everOpened = false;
  var failures = 0;
  var expired = false;
  var trade = null;             // the rotation token being traded (a Promise)
  var rotatedUntil = 0;         // retry refused sockets until then (see CLOSE_ROTATED)
  var outbox = [];              // events typed while offline, sent on reconnect
  // widget id -> seq of its newest unacknowledged event, or Infinity while a
  // text field holds typing not sent yet.
  var pendingByWidget = {};
  var typingTimers = {};
  // form widget id -> seq of its submit not acknowledged yet.
  var pendingForms = {};
  var spinners = {};            // spinner id -> its element
  var closingDialogs = [];      // dialogs the server closed (their close event is not the user's)

  // -- the connection ---------------------------------------------------------

  function socketUrl() {
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
  function pathOf(url) {
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

  function queryOf(search) {
    var query = {};
    new URLSearchParams(search).forEach(function (v, k) { if (!(k in query)) query[k] = v; });
    return query;
  }

  // Follow a link to another page of this app: a history entry, then ask the
  // server for the page (it answers with a render).
  function go(path, query, push) {
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
  function markLink(a) {
    if (a.getAttribute("data-stgo-path") === currentPath) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }

  // A render says which page it is of: move the URL if the server moved us.
  function followRender(msg) {
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

  function onUrl(msg) {
    // The server set this tab's query: the URL follows, with no new entry.
    var url = urlOf(typeof msg.path === "string" ? msg.path : currentPath, msg.query);
    window.history.replaceState({ stgo: currentPath }, "", url.href);
  }

  function connect() {
    if (expired) return;
    var opened = false;
    ws = new WebSocket(socketUrl());
    ws.onopen = function () {
      opened = true;
      everOpened = true;
      failures = 0;
      rotatedUntil = 0;
      try { window.sessionStorage.removeItem(RELOADS_KEY); } catch (e) { /* no storage */ }
      setStatus(null);
      var queued = outbox;
      outbox = [];
      queued.forEach(function (text) { ws.send(text); });
    };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      handle(msg);
    };
    ws.onclose = function (ev) {
      ws = null;
      if (expired) return;
      if (ev.code === CLOSE_MOVED) { reloadPage(); return; }
      setStatus("Reconnecting\u2026");
      if (ev.code === CLOSE_ROTATED) {
        // Reconnect once this tab has traded its token (if it got one), so
        // that the handshake carries the new cookie; the other tabs retry.
        rotatedUntil = Date.now() + ROTATION_WAIT_MS;
        failures = 0;
        var traded = trade;
        trade = null;
        if (traded) traded.then(connect);
        else window.setTimeout(connect, ROTATION_RETRY_MS);
        return;
      }
      failures += 1;
      if (!opened && Date.now() < rotatedUntil) {
        window.setTimeout(connect, ROTATION_RETRY_MS);
        return;
      }
      if (!opened && failures >= 3) {
        // The server answers but refuses the socket: our session is gone
        // (server restarted, or it expired while we were offline).  A reload
        // gets a fresh session; a server that is down keeps us retrying.
        // Under --reload, an app file that fails to load answers with its
        // error page (marked): reload to show it; it reloads itself until fixed.
        fetch("health", { cache: "no-store" }).then(function (r) {
          if (r.ok || r.headers.get("X-Stgo-Load-Error")) reloadPage();
          else schedule();
        }, schedule);
        return;
      }
      schedule();
    };
  }

  // Reload (a fresh session), unless this tab already did so RELOAD_LIMIT
  // times in RELOAD_WINDOW_MS without ever connecting (a server that refuses
  // us for good, a frame without our cookie): then stop and say so.
  function reloadPage() {
    var now = Date.now();
    var times = [];
    try {
      times = JSON.parse(window.sessionStorage.getItem(RELOADS_KEY) || "[]");
      if (!Array.isArray(times)) times = [];
      times = times.filter(function (t) { return typeof t === "number" && now - t < RELOAD_WINDOW_MS; });
      if (times.length < RELOAD_LIMIT) {
        times.push(now);
        window.sessionStorage.setItem(RELOADS_KEY, JSON.stringify(times));
        window.location.reload();
        return;
      }
    } catch (e) { /* no storage: no count, so no reload either */ }
    expired = true;
    if (ws) ws.close();
    setStatus("Cannot connect to the server. Reload the page to try again later.");
  }

  function schedule() {
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, Math.max(0, failures - 1)));
    delay = delay * (0.8 + Math.random() * 0.4);
    window.setTimeout(connect, delay);
  }

  function send(msg) {
    msg.v = VERSION;
    var text = JSON.stringify(msg);
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(text);
    else outbox.push(text);
  }

  function sendEvent(widgetId, event, value) {
    seq += 1;
    pendingByWidget[widgetId] = seq;
    send({ type: "event", widget: widgetId, event: event, value: value, seq: seq });
    return seq;
  }

  function setStatus(text) {
    if (!statusEl) return;
    if (text) {
      statusEl.textContent = text;
      statusEl.hidden = false;
      document.documentElement.classList.add("stgo-offline");
    } else {
      statusEl.hidden = true;
      statusEl.textContent = "";
      document.documentElement.classList.remove("stgo-offline");
    }
  }

  // -- messages from the server ----------------------------------------------------

  function handle(msg) {
    if (msg.ack) acknowledge(msg.ack, msg.type === "error");
    switch (msg.type) {
      case "render": followRender(msg); drawFloor = msg.g || 0; drawn = {}; parts = {}; renderAll(msg); break;
      case "url": onUrl(msg); break;
      case "patch": (msg.ops || []).forEach(applyOp); syncLayout(); break;
      case "error": showAlert(msg.message || "error", "error"); break;
      case "expired": onExpired(msg); break;
      case "cookie": exchangeCookie(msg); return;  // not for the page's listeners
      case "toast": showToast(msg); break;
      case "spinner": showSpinner(msg); break;
      case "dialog": setDialog(msg.id, !!msg.open); break;
      default: break;
    }
    document.dispatchEvent(new CustomEvent("stgo:message", { detail: msg }));
  }

  function acknowledge(n, refused) {
    if (n > acked) acked = n;
    Object.keys(pendingByWidget).forEach(function (id) {
      if (pendingByWidget[id] <= acked) delete pendingByWidget[id];
    });
    Object.keys(pendingForms).forEach(function (id) {
      if (pendingForms[id] > acked) return;
      delete pendingForms[id];
      var form = document.getElementById(id);
      if (!form) return;
      // Submitted: the fields show the server's values again.  Refused: the
      // draft is still the user's, to correct and submit again.
      if (!refused) {
        form.querySelectorAll("[data-dirty]").forEach(function (w) { w.removeAttribute("data-dirty"); });
      }
      form.querySelectorAll("[data-form-submit]").forEach(function (b) {
        if (!b.hasAttribute("data-server-disabled")) b.disabled = false;
      });
    });
  }

  function onExpired(msg) {
    expired = true;
    setStatus((msg.message || "Session expired") + " \u2014 starting a new session\u2026");
    window.setTimeout(reloadPage, 1500);
  }

  function exchangeCookie(msg) {
    // ID rotation: the server hands this tab (the one whose event rotated)
    // a one-time token, then closes the socket (CLOSE_ROTATED); trading the
    // token over HTTP sets the new HttpOnly cookie, and the reconnect waits
    // for it.  The page never learns the ID itself.
    trade = fetch("session/rotate?token=" + encodeURIComponent(msg.token), {
      method: "POST", credentials: "same-origin", cache: "no-store",
    }).then(function () {}, function () {});
  }

  function renderAll(msg) {
    if (msg.title) document.title = msg.title;
    var roots = msg.roots || {};
    var keep = captureFocus();
    var view = captureView();
    var drafts = captureDrafts(root);
    setRoot("stgo-global", roots.global);
    setRoot("stgo-sidebar", roots.sidebar);
    setRoot("stgo-topbar", roots.topbar || "");
    setRoot("stgo-session", roots.session);
    restoreDrafts(drafts);
    restoreView(view);
    restoreFocus(keep);
    setUp(root);
    syncLayout();
  }

  // -- form drafts: what the user typed in a form and has not submitted --------------

  function captureDrafts(scope) {
    var drafts = [];
    within(scope, ".stgo-w[data-dirty]").forEach(function (w) {
      var fields = Array.prototype.map.call(w.querySelectorAll("input, select, textarea"), function (el) {
        return { value: el.value, checked: el.checked, index: el.selectedIndex };
      });
      drafts.push({ id: w.id, fields: fields });
    });
    return drafts;
  }

  function restoreDrafts(drafts) {
    drafts.forEach(function (d) {
      var w = document.getElementById(d.id);
      if (!w) return;
      var els = w.querySelectorAll("input, select, textarea");
      if (els.length !== d.fields.length) return;  // the widget changed shape
      d.fields.forEach(function (f, i) {
        var el = els[i];
        if (el.type === "file") return;  // a file field cannot be given a value
        if (el.type === "checkbox" || el.type === "radio") el.checked = f.checked;
        else if (el.tagName === "SELECT") el.selectedIndex = f.index;
        else el.value = f.value;
        updateOutput(el);
      });
      w.setAttribute("data-dirty", "");
    });
  }

  // What the user chose in the page itself (tabs, opened expanders), so that
  // a full render (on reconnect) does not undo it.
  function captureView() {
    var view = { tabs: [], details: [] };
    root.querySelectorAll("[role=tab][aria-selected=true]").forEach(function (t) {
      view.tabs.push(t.getAttribute("data-tab-target"));
    });
    root.querySelectorAll("details[data-user-toggled]").forEach(function (d) {
      var w = widgetOf(d);
      if (w) view.details.push({ id: w.id, open: d.open });
    });
    return view;
  }

  function restoreView(view) {
    view.tabs.forEach(function (target) {
      var tab = root.querySelector("[data-tab-target=\"" + target + "\"]");
      if (tab && !tab.hidden && tab.getAttribute("aria-selected") !== "true") selectTab(tab, false);
    });
    view.details.forEach(function (d) {
      var w = document.getElementById(d.id);
      var details = w && w.querySelector("details");
      if (!details) return;
      details.open = d.open;
      details.setAttribute("data-user-toggled", "");
    });
  }

  function setRoot(id, html) {
    var el = document.getElementById(id);
    if (el && typeof html === "string" && el.innerHTML !== html) {
      el.innerHTML = html;
      applyStyles(el);
    }
  }

  // Widgets give their inline styles as data-stgo-style="prop: value; ..."
  // and we set them through the CSSOM, which a strict Content-Security-Policy
  // (no 'unsafe-inline' styles) allows, unlike style attributes.
  function applyStyles(el) {
    within(el, "[data-stgo-style]").forEach(function (node) {
      node.getAttribute("data-stgo-style").split(";").forEach(function (decl) {
        var i = decl.indexOf(":");
        if (i > 0) node.style.setProperty(decl.slice(0, i).trim(), decl.slice(i + 1).trim());
      });
    });
  }

  // The elements in *scope* that match *selector*, *scope* itself first if it does.
  function within(scope, selector) {
    var all = Array.prototype.slice.call(scope.querySelectorAll(selector));
    if (scope.matches(selector)) all.unshift(scope);
    return all;
  }

  // What new HTML (a render, an updated or inserted widget) needs beside its
  // markup, by the elements that need it.
  var SET_UPS = [
    ["input[type=range]", fillRange],
    [".stgo-multiselect-group[data-max]", limitChoices],
    ["dialog[data-open]", function (d) { if (!d.open && d.isConnected) d.showModal(); }],
    ["[data-requires]", loadRequirements],
    ["a[data-stgo-path]", markLink],
  ];
  var SET_UP_SELECTOR = SET_UPS.map(function (s) { return s[0]; }).join(", ");

  // Only in *scope*, in one query: the rest of the page has been set up,
  // and a click's patch should not cost a walk over the whole document.
  function setUp(scope) {
    within(scope, SET_UP_SELECTOR).forEach(function (el) {
      SET_UPS.forEach(function (s) { if (el.matches(s[0])) s[1](el); });
    });
  }

  // Parsed in an element of this document, not a <template>: a template's
  // nodes belong to a document of its own and are adopted when inserted,
  // which costs as much again as the parse.  (A widget's root is a <div>,
  // which a <div> may hold.)
  function parse(html) {
    var box = document.createElement("div");
    box.innerHTML = html;
    return box.firstElementChild;
  }

  // Draw generations (docs/protocol.md, "Ops out of order"): a redraw of a
  // shared widget carries the number it took before reading the widget; of
  // two that crossed on their way here, the higher one read it last, so an
  // older one arriving after it (or after a newer full render) is dropped.
  // A whole redraw ("update") is judged against whole redraws only: an older
  // one still brings what a newer part ("value", "figure") does not carry (a
  // label), and the newer part is applied again after it.
  var drawFloor = 0;
  var drawn = {};  // id -> the number of its last whole redraw
  var parts = {};  // id -> the last numbered op that redrew a part of it

  function fresh(op) {
    if (op.g < drawFloor || op.g < (drawn[op.id] || 0)) return false;
    if (op.op === "update") { drawn[op.id] = op.g; return true; }
    if (parts[op.id] && op.g < parts[op.id].g) return false;
    parts[op.id] = op;
    return true;
  }

  function applyOp(op) {
    var el;
    if (typeof op.g === "number" && !fresh(op)) return;
    if (op.op === "update") {
      el = document.getElementById(op.id);
      if (el) replaceWidget(el, op.html);
      el = op.g && document.getElementById(op.id);
      if (el) {
        // A container's redraw drew its children too, as they were then;
        // a newer part of one of them goes back on.
        var again = [];
        [el].concat(Array.prototype.slice.call(el.querySelectorAll(".stgo-w[id]")))
          .forEach(function (w) {
            if ((drawn[w.id] || 0) < op.g) drawn[w.id] = op.g;
            if (parts[w.id] && parts[w.id].g > op.g) again.push(parts[w.id]);
          });
        again.forEach(applyOp);
      }
    } else if (op.op === "value") {
      el = document.getElementById(op.id);
      if (el) setValue(el, op.value);
    } else if (op.op === "insert") {
      var parent = holder(op.parent);
      var node = parse(op.html);
      if (!parent || !node) return;
      var old = document.getElementById(node.id);
      if (old) { replaceWidget(old, op.html); return; }
      var kids = Array.prototype.filter.call(parent.children, isWidget);
      if (typeof op.index === "number" && op.index < kids.length) parent.insertBefore(node, kids[op.index]);
      else parent.appendChild(node);
      applyStyles(node);
      setUp(node);
    } else if (op.op === "remove") {
      el = document.getElementById(op.id);
      if (el) el.remove();
    } else if (opHandlers[op.op]) {
      opHandlers[op.op](op);
    } else {
      // A widget's own op (a chart's "extend") that arrived before its
      // adapter script: kept, bounded, and replayed once the adapter registers.
      var queue = deferredOps[op.op] || (deferredOps[op.op] = []);
      queue.push(op);
      if (queue.length > DEFERRED_MAX) queue.shift();
    }
  }

  // -- adapters: scripts a widget needs (data-requires), loaded once, in order ------

  var opHandlers = {};
  var deferredOps = {};
  var DEFERRED_MAX = 1000;
  var scripts = {};

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

  function loadRequirements(el) {
    // Only the app's own static files: nothing from another origin.
    var urls = el.getAttribute("data-requires").split(/\s+/).filter(function (u) {
      return /^static\/[\w.\/-]+$/.test(u) && u.indexOf("..") < 0;
    });
    urls.reduce(function (done, url) {
      return done.then(function () { return loadScript(url); });
    }, Promise.resolve()).catch(function () { /* told already */ });
  }

  function onOp(name, fn) {
    opHandlers[name] = fn;
    var queued = deferredOps[name] || [];
    delete deferredOps[name];
    queued.forEach(fn);
  }

  function isWidget(el) { return el.classList && el.classList.contains("stgo-w"); }

  function holder(parentId) {
    var named = { global: "stgo-global", session: "stgo-session", sidebar: "stgo-sidebar",
                  topbar: "stgo-topbar" };
    if (named[parentId]) return document.getElementById(named[parentId]);
    var el = document.getElementById(parentId);
    if (!el) return null;
    return el.hasAttribute("data-children") ? el : el.querySelector("[data-children]");
  }

  // Replace a widget's element, keeping what the user is doing in it: focus,
  // caret, selection, and text not yet acknowledged by the server.
  function replaceWidget(el, html) {
    var node = parse(html);
    if (!node) return;
    var keep = captureFocus();
    // Keep the open/closed state of an expander and the chosen tab.
    if (el.tagName === node.tagName) {
      var details = el.querySelector("details"), newDetails = node.querySelector("details");
      if (details && newDetails && details.hasAttribute("data-user-toggled")) {
        newDetails.open = details.open;
        newDetails.setAttribute("data-user-toggled", "");
      }
    }
    var chosen = el.querySelector("[role=tab][aria-selected=true]");
    var drafts = captureDrafts(el);
    el.replaceWith(node);
    applyStyles(node);
    restoreDrafts(drafts);
    if (pendingForms[node.id]) disableSubmit(node);
    // Keep the tab the user picked, if it still exists and is shown.
    if (chosen) {
      var again = node.querySelector("[data-tab-target=\"" + chosen.getAttribute("data-tab-target") + "\"]");
      if (again && !again.hidden) selectTab(again, false);
    }
    restoreFocus(keep);
    setUp(node);
  }

  function captureFocus() {
    var a = document.activeElement;
    if (!a || a === document.body || !a.id) return null;
    var w = a.closest(".stgo-w");
    var keep = { el: a, id: a.id, start: null, end: null, dir: null, scroll: a.scrollTop,
                 value: a.value, widget: w ? w.id : null };
    try {
      keep.start = a.selectionStart; keep.end = a.selectionEnd; keep.dir = a.selectionDirection;
    } catch (e) { /* not a text field */ }
    return keep;
  }

  function restoreFocus(keep) {
    if (!keep) return;
    var now = document.getElementById(keep.id);
    if (!now || now === document.activeElement) return;
    // Text the server has not acknowledged yet stays as the user typed it.
    // (A chat field's draft is never sent before Enter: it is always kept.)
    if (keep.widget && (pendingByWidget[keep.widget] || now.hasAttribute("data-chat")) &&
        isText(now)) now.value = keep.value;
    now.focus({ preventScroll: true });
    if (keep.start !== null && typeof now.setSelectionRange === "function") {
      try { now.setSelectionRange(keep.start, keep.end, keep.dir || "none"); } catch (e) { /* ignore */ }
    }
    now.scrollTop = keep.scroll;
  }

  function setValue(widgetEl, value) {
    // A form field the user edited keeps the draft until it is submitted.
    if (widgetEl.hasAttribute("data-dirty")) return;
    var compound = widgetEl.getAttribute("data-compound");
    if (compound) {
      var parts = widgetEl.querySelectorAll("[data-part]");
      var list = Array.isArray(value) ? value : [];
      parts.forEach(function (p, i) {
        if (compound === "checked") p.checked = list.indexOf(Number(p.value)) >= 0;
        else if (i < list.length && p.value !== String(list[i])) p.value = list[i];
        updateOutput(p);
      });
      within(widgetEl, ".stgo-multiselect-group[data-max]").forEach(limitChoices);
      return;
    }
    var inputs = widgetEl.querySelectorAll("[data-event=change]");
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      var busy = input === document.activeElement && pendingByWidget[widgetEl.id];
      if (input.type === "checkbox") input.checked = !!value;
      else if (input.type === "radio") input.checked = String(value) === input.value;
      else if (input.tagName === "SELECT") input.selectedIndex = Number(value);
      else if (busy) continue;  // never wipe what this user is typing
      else if (input.value !== String(value)) {
        if (input === document.activeElement && typeof input.setSelectionRange === "function") {
          var s = input.selectionStart, e = input.selectionEnd;
          input.value = value;
          try { input.setSelectionRange(s, e); } catch (err) { /* ignore */ }
        } else {
          input.value = value;
        }
      }
      updateOutput(input);
    }
  }

  // -- alerts and layout ------------------------------------------------------------

  function showAlert(text, kind) {
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
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { box.remove(); });
    return close;
  }

  function showToast(msg) {
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

  function showSpinner(msg) {
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

  function setDialog(id, open) {
    var w = document.getElementById(id);
    var d = w && w.querySelector("dialog");
    if (!d) return;
    if (open) {
      d.setAttribute("data-open", "");
      if (!d.open) d.showModal();
    } else {
      d.removeAttribute("data-open");
      if (d.open) { closingDialogs.push(d); d.close(); }
    }
  }

  // The sidebar takes room only while it shows something.
  function syncLayout() {
    var side = document.getElementById("stgo-sidebar");
    var filled = !!(side && side.querySelector(".stgo-w .stgo-w"));
    root.classList.toggle("stgo-has-sidebar", filled);
  }

  // -- events from the user ---------------------------------------------------------

  // The innermost widget around an element is the element's own widget.
  function widgetOf(el) { return el.closest(".stgo-w"); }

  function isText(el) {
    return el.tagName === "TEXTAREA" ||
      (el.tagName === "INPUT" && /^(text|password|email|search|url|tel)$/.test(el.type));
  }

  function valueOf(el) {
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

  function updateOutput(el) {
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
  function widgetValue(w) {
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
  function limitChoices(group) {
    var max = Number(group.getAttribute("data-max"));
    var boxes = group.querySelectorAll("[data-part]");
    var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
    boxes.forEach(function (b) { b.disabled = !b.checked && ticked >= max; });
  }

  // A range's two ends never cross: the moved one stops at the other.
  function keepOrder(el) {
    var w = widgetOf(el);
    if (!w || w.getAttribute("data-compound") !== "list" || el.type !== "range") return;
    var parts = w.querySelectorAll("[data-part]");
    var lo = Number(parts[0].value), hi = Number(parts[1].value);
    if (lo <= hi) return;
    if (el === parts[0]) parts[0].value = parts[1].value;
    else parts[1].value = parts[0].value;
  }

  // -- forms ------------------------------------------------------------------------------

  function formOf(el) { return el.closest(".stgo-form"); }

  function disableSubmit(form) {
    form.querySelectorAll("[data-form-submit]").forEach(function (b) {
      if (b.disabled && !pendingForms[form.id]) b.setAttribute("data-server-disabled", "");
      b.disabled = true;
    });
  }

  function submitForm(form) {
    if (pendingForms[form.id]) return;  // the last submit is not acknowledged yet
    // Every submit button disabled: Enter does not submit either, as in an
    // HTML form (the server would refuse it).
    var buttons = form.querySelectorAll("[data-form-submit]");
    if (buttons.length && ![].some.call(buttons, function (b) { return !b.disabled; })) return;
    var values = {};
    form.querySelectorAll(".stgo-w").forEach(function (w) {
      var input = w.querySelector("[data-event=change]");
      // Files travel over HTTP, not in a submit.
      if (!input || input.type === "file" || formOf(w) !== form) return;
      var value = widgetValue(w);
      if (value !== null && !(Array.isArray(value) && value.indexOf(null) >= 0)) values[w.id] = value;
    });
    disableSubmit(form);
    pendingForms[form.id] = sendEvent(form.id, "submit", values);
  }

  function markDirty(el) {
    var w = widgetOf(el);
    if (w) w.setAttribute("data-dirty", "");
  }

  // -- chat --------------------------------------------------------------------------------

  function sendChat(w) {
    var field = w.querySelector("[data-chat]");
    if (!field || field.disabled || !field.value.trim()) return;
    sendEvent(w.id, "submit", field.value);
    field.value = "";
  }

  // How much of a slider's track is filled, for the CSS (--stgo-fill).
  function fillRange(el) {
    var lo = Number(el.min || 0), hi = Number(el.max || 100), v = Number(el.value);
    var pct = hi > lo ? Math.max(0, Math.min(100, (v - lo) / (hi - lo) * 100)) : 0;
    el.style.setProperty("--stgo-fill", pct + "%");
  }

  function sendText(el) {
    var w = widgetOf(el);
    if (!w) return;
    window.clearTimeout(typingTimers[w.id]);
    // Only typing is sent: focus passing through a field (Tab, blur) is not a change.
    if (pendingByWidget[w.id] !== Infinity) return;
    sendEvent(w.id, "change", el.value);
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a[data-stgo-path]");
    if (link && ev.button === 0 && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && !ev.altKey &&
        !link.target) {
      var url = new URL(link.href);
      var path = pathOf(url);
      if (path !== null) {
        ev.preventDefault();
        go(path, queryOf(url.search), true);
        return;
      }
    }
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
    // Typed but not sent yet: no ack can clear this, only sending the text
    // (an ack for an earlier value must not let a push wipe newer typing).
    pendingByWidget[w.id] = Infinity;
    window.clearTimeout(typingTimers[w.id]);
    typingTimers[w.id] = window.setTimeout(function () { sendText(el); }, TYPING_PAUSE_MS);
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

  // A dialog closed by the user (Escape, its x button) tells the server.
  document.addEventListener("close", function (ev) {
    var d = ev.target;
    if (d.tagName !== "DIALOG") return;
    var i = closingDialogs.indexOf(d);
    if (i >= 0) { closingDialogs.splice(i, 1); return; }
    d.removeAttribute("data-open");
    var w = widgetOf(d);
    if (w && d.isConnected) sendEvent(w.id, "close", true);
  }, true);

  document.addEventListener("cancel", function (ev) {
    // A dialog without a close button cannot be closed with Escape either.
    if (ev.target.tagName === "DIALOG" && !ev.target.querySelector("[data-dialog-close]")) {
      ev.preventDefault();
    }
  }, true);

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = ev.target.closest && ev.target.closest(".stgo-popover-details[open]");
    if (!open) return;
    open.open = false;
    open.querySelector("summary").focus();
  });

  function closePopovers(target) {
    root.querySelectorAll(".stgo-popover-details[open]").forEach(function (d) {
      if (!d.contains(target)) d.open = false;
    });
  }

  document.addEventListener("toggle", function (ev) {
    if (ev.target.tagName === "DETAILS") ev.target.setAttribute("data-user-toggled", "");
  }, true);

  function selectTab(tab, focus) {
    var list = tab.closest("[role=tablist]");
    if (!list) return;
    list.querySelectorAll("[data-tab-target]").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("data-tab-target"));
      if (panel) panel.hidden = !on;
    });
    if (focus !== false) tab.focus();
  }

  document.addEventListener("keydown", function (ev) {
    var tab = ev.target.closest && ev.target.closest("[data-tab-target]");
    if (!tab || (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft")) return;
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[data-tab-target]"));
    var i = tabs.indexOf(tab) + (ev.key === "ArrowRight" ? 1 : -1);
    selectTab(tabs[(i + tabs.length) % tabs.length]);
    ev.preventDefault();
  });

  // The back and forward buttons: show the page of that history entry.
  window.addEventListener("popstate", function () {
    var path = pathOf(new URL(window.location.href));
    if (path === null) return;
    go(path, queryOf(window.location.search), false);
  });

  window.stgo = {
    get path() { return currentPath; },
    get tab() { return tabId; },
    navigate: function (path, query) { go(path, query || {}, true); },
    get connected() { return !!ws && ws.readyState === WebSocket.OPEN; },
    get everOpened() { return everOpened; },
    get seq() { return seq; },
    get acked() { return acked; },
    send: sendEvent,
    // For widget adapters (static/charts.js, static/files.js):
    onOp: onOp,
    alert: showAlert,
    resync: function () { send({ type: "resync" }); },
  };

  applyStyles(root);
  setUp(root);
  syncLayout();
  connect();
})();
