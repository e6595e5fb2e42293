// The connection: one WebSocket, reconnected with backoff; a session the
// server refuses is replaced by a reload (at most RELOAD_LIMIT times), an ID
// rotation trades its token before reconnecting.  Messages go to the
// handler given to connect().
import { say } from "./strings.js";

var VERSION = 1;
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

var statusEl = document.getElementById("stgo-status");

var ws = null;
var everOpened = false;
var failures = 0;
var expired = false;
var trade = null;             // the rotation token being traded (a Promise)
var rotatedUntil = 0;         // retry refused sockets until then (see CLOSE_ROTATED)
var outbox = [];              // events typed while offline, sent on reconnect
var socketUrl = null;         // () -> the socket's URL (it names the page shown now)
var handle = null;            // msg -> void, for every message from the server

// Open the socket, and again whenever it closes: *url* gives its URL for
// each attempt, *onMessage* gets every message.
export function start(url, onMessage) {
  socketUrl = url;
  handle = onMessage;
  connect();
}

export function isConnected() { return !!ws && ws.readyState === WebSocket.OPEN; }

export function hasOpened() { return everOpened; }

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
    setStatus(say("reconnecting", "Reconnecting\u2026"));
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
  setStatus(say("cannot_connect", "Cannot connect to the server. Reload the page to try again later."));
}

function schedule() {
  var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, Math.max(0, failures - 1)));
  delay = delay * (0.8 + Math.random() * 0.4);
  window.setTimeout(connect, delay);
}

// Send *msg* now, or on reconnect while the socket is not open.
export function send(msg) {
  msg.v = VERSION;
  var text = JSON.stringify(msg);
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(text);
  else outbox.push(text);
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

// The session expired: say so, then reload into a new one.
export function onExpired(msg) {
  expired = true;
  setStatus(say("session_expired", msg.message || "Session expired") + " \u2014 " +
            say("new_session", "starting a new session\u2026"));
  window.setTimeout(reloadPage, 1500);
}

export function exchangeCookie(msg) {
  // ID rotation: the server hands this tab (the one whose event rotated)
  // a one-time token, then closes the socket (CLOSE_ROTATED); trading the
  // token over HTTP sets the new HttpOnly cookie, and the reconnect waits
  // for it.  The page never learns the ID itself.
  trade = fetch("session/rotate?token=" + encodeURIComponent(msg.token), {
    method: "POST", credentials: "same-origin", cache: "no-store",
  }).then(function () {}, function () {});
}
