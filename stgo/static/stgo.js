// stgo browser client: applies server renders and patches in place, sends
// widget events, reconnects by itself.  Plain JS modules, no build step;
// this one starts the others (see docs/architecture.md, "The browser
// client").  Protocol reference: docs/protocol.md.
import * as adapters from "./adapters.js";
import * as connection from "./connection.js";
import { root, applyStyles } from "./dom.js";
import * as events from "./events.js";
import * as forms from "./forms.js";
import * as input from "./input.js";
import * as layout from "./layout.js";
import * as nav from "./nav.js";
import * as notices from "./notices.js";
import * as patch from "./patch.js";
import { say } from "./strings.js";

// -- messages from the server ----------------------------------------------------

function handle(msg) {
  if (msg.ack) forms.acknowledge(events.acknowledge(msg.ack), msg.type === "error");
  switch (msg.type) {
    case "render": nav.followRender(msg); patch.render(msg); break;
    case "url": nav.onUrl(msg); break;
    case "patch": patch.applyOps(msg.ops || []); break;
    case "error": notices.showAlert(msg.message || "error", "error"); break;
    case "expired": connection.onExpired(msg); break;
    case "cookie": connection.exchangeCookie(msg); return;  // not for the page's listeners
    case "toast": notices.showToast(msg); break;
    case "spinner": notices.showSpinner(msg); break;
    case "dialog": layout.setDialog(msg.id, !!msg.open); break;
    default: break;
  }
  document.dispatchEvent(new CustomEvent("stgo:message", { detail: msg }));
}

if (root) {
  nav.init();
  input.listen();
  layout.listen();
  nav.listen();

  // For the page's own scripts and the tests, and for widget adapters
  // (static/charts.js, static/files.js, static/table.js: classic scripts).
  window.stgo = {
    get path() { return nav.path(); },
    get tab() { return nav.tab(); },
    navigate: function (path, query) { nav.go(path, query || {}, true); },
    get connected() { return connection.isConnected(); },
    get everOpened() { return connection.hasOpened(); },
    get seq() { return events.lastSeq(); },
    get acked() { return events.lastAcked(); },
    send: events.sendEvent,
    // For widget adapters (static/charts.js, static/files.js):
    onOp: adapters.onOp,
    alert: notices.showAlert,
    resync: function () { connection.send({ type: "resync" }); },
    say: say,  // stgo's own words in the App's language
  };

  applyStyles(root);
  patch.setUp(root);
  layout.syncLayout();
  connection.start(nav.socketUrl, handle);
}
