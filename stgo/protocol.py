"""The JSON message protocol between the browser and the server (no sockets here).

Every message is a JSON object with ``"v": 1`` (the protocol version) and a
``"type"``.  docs/protocol.md is the reference; this module builds and parses
the messages.

Client to server::

    {"v": 1, "type": "event", "widget": "<id>", "event": "click", "value": null, "seq": 7}
    {"v": 1, "type": "resync"}
    {"v": 1, "type": "navigate", "path": "/reports", "query": {"q": "x"}}
    {"v": 1, "type": "query", "query": {"q": "x"}}

Server to client: ``render`` (full page), ``patch`` (a list of ops, with the
``ack`` of the event that caused it), ``error``, ``expired``, ``cookie``,
``url`` (the tab's query changed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import ProtocolError, WidgetError

__all__ = [
    "VERSION", "ClientEvent", "Resync", "Navigate", "QueryChange", "decode", "encode",
    "render_message", "url_message", "toast_message", "patch_message", "error_message",
    "expired_message", "op_update", "op_value", "op_insert", "op_remove",
    "cookie_message", "CLOSE_ROTATED", "CLOSE_MOVED", "CLOSE_NORMAL", "CLOSE_GOING_AWAY",
    "CLOSE_POLICY", "CLOSE_TOO_BIG", "CLOSE_TRY_AGAIN", "OutKey", "RENDER_KEY", "Outlet",
]

VERSION = 1
_MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ClientEvent:
    """A widget event from a client."""

    widget: str
    event: str
    value: Any
    seq: int | None


@dataclass(frozen=True)
class Resync:
    """The client asks for a full render of its page."""


@dataclass(frozen=True)
class Navigate:
    """The tab moved to another page (a link, the back button): render it."""

    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class QueryChange:
    """The tab's URL query changed on the client side (same page)."""

    query: dict[str, str]


_MAX_PATH = 2048


def _query(msg: dict[str, Any]) -> dict[str, str]:
    query = msg.get("query", {})
    if query is None:
        return {}
    if not isinstance(query, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        raise ProtocolError("'query' must be an object of strings")
    if len(query) > 64 or any(len(k) + len(v) > 4096 for k, v in query.items()):
        raise ProtocolError("'query' is too big")
    return dict(query)


def decode(raw: str | bytes) -> ClientEvent | Resync | Navigate | QueryChange:
    """Parse one client frame.

    :raises ProtocolError: for anything but a well-formed message; the error's
        text is safe to send back to the client.
    """
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("messages must be UTF-8 JSON text") from None
    try:
        msg = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("message is not valid JSON") from None
    if not isinstance(msg, dict):
        raise ProtocolError("message must be a JSON object")
    version = msg.get("v", VERSION)
    if type(version) is not int or version != VERSION:  # not True, not 1.0
        raise ProtocolError(
            f"unsupported protocol version {_short(version)}; this server speaks {VERSION}"
        )
    kind = msg.get("type")
    if kind == "resync":
        return Resync()
    if kind == "navigate":
        path = msg.get("path")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > _MAX_PATH:
            raise ProtocolError("navigate needs a 'path' starting with '/'")
        return Navigate(path, _query(msg))
    if kind == "query":
        return QueryChange(_query(msg))
    if kind != "event":
        raise ProtocolError(f"unknown message type {_short(kind)}")
    widget, event, seq = msg.get("widget"), msg.get("event"), msg.get("seq")
    if not isinstance(widget, str) or not widget or len(widget) > 200:
        raise ProtocolError("event needs a 'widget' id (string)")
    if not isinstance(event, str) or not event or len(event) > 50:
        raise ProtocolError("event needs an 'event' name (string)")
    if seq is not None and (type(seq) is not int or not 0 <= seq < 2**53):
        raise ProtocolError("'seq' must be a non-negative integer")
    value = msg.get("value")
    if _depth(value) > _MAX_DEPTH:
        raise ProtocolError("value is nested too deeply", seq=seq)
    if _has_surrogate(msg):
        # JSON may spell a lone surrogate ("\\ud800") that no UTF-8 page can
        # hold: stored, it broke every later render of the page.
        raise ProtocolError("text must be valid Unicode: a lone surrogate is not", seq=seq)
    return ClientEvent(widget, event, value, seq)


def _short(value: Any) -> str:
    """*value*'s repr, cut short: an error must not echo a client's megabyte back."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _has_surrogate(value: Any) -> bool:
    """Whether any string in *value* (keys included) holds a lone surrogate."""
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def encode(msg: dict[str, Any]) -> str:
    """Serialise a server message (compact JSON, version stamped)."""
    return json.dumps({"v": VERSION, **msg}, separators=(",", ":"), default=str)


def render_message(title: str, roots: dict[str, str], *, path: str | None = None,
                   query: dict[str, str] | None = None, status: int = 200,
                   push: bool = False, draw: int | None = None) -> dict[str, Any]:
    """A full render: the HTML of each root (``global``, ``sidebar``,
    ``topbar``, ``session``); with *path*, the page it is of (and its *query*,
    its *status*: 200, 403 or 404).  *push*: the server moved the tab, which
    adds a history entry.  *draw*: its draw generation (``g``), taken before
    it was rendered: the client drops ops numbered below it, drawn earlier."""
    msg: dict[str, Any] = {"type": "render", "title": title, "roots": roots}
    if draw is not None:
        msg["g"] = draw
    if path is not None:
        msg["path"] = path
        msg["query"] = query or {}
        msg["status"] = status
    if push:
        msg["push"] = True
    return msg


def toast_message(text: Any, icon: str | None, duration: float) -> dict[str, Any]:
    """The client message of a toast."""
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
        raise WidgetError(f"duration must be a number of seconds >= 0, got {duration!r}")
    msg: dict[str, Any] = {"type": "toast", "text": str(text), "duration": float(duration)}
    if icon:
        msg["icon"] = str(icon)
    return msg


def url_message(path: str, query: dict[str, str]) -> dict[str, Any]:
    """The tab's query parameters changed: the client replaces its URL (no reload)."""
    return {"type": "url", "path": path, "query": query}


def patch_message(ops: list[dict[str, Any]], ack: int | None = None) -> dict[str, Any]:
    """A batch of ops; *ack* is the ``seq`` of the event that caused it, if any."""
    msg: dict[str, Any] = {"type": "patch", "ops": ops}
    if ack is not None:
        msg["ack"] = ack
    return msg


def error_message(message: str, seq: int | None = None) -> dict[str, Any]:
    """An error for this client only (a bad message, a callback that raised)."""
    msg: dict[str, Any] = {"type": "error", "message": message}
    if seq is not None:
        msg["ack"] = seq
    return msg


def expired_message() -> dict[str, Any]:
    """The session has expired; the client should reload into a new one."""
    return {"type": "expired", "message": "session expired"}


def cookie_message(token: str) -> dict[str, Any]:
    """A one-time rotation token, for the tab whose event rotated the session.

    It carries no session ID: the client trades the token over HTTP for the
    new ``HttpOnly`` cookie, then reconnects.
    """
    return {"type": "cookie", "token": token}


#: Close code after a rotation made by an event: the tab that rotated was
#: sent a token; every tab retries for a short while (until the browser's
#: cookie changed), then reloads.
CLOSE_ROTATED = 4001
#: Close code after a rotation made outside any event (no tab holds a token):
#: reload at once (a fresh session).
CLOSE_MOVED = 4002

#: WebSocket close codes (RFC 6455 section 7.4.1) stgo sends.
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013

#: The outbox key of a message holding one op on one widget: ``(op, widget ID,
#: draw generation)`` (see :meth:`stgo.transport.ws.Connection.send`).
OutKey = tuple[str, str, int]

#: The outbox key of a full render: one may wait per connection (see
#: :meth:`stgo.transport.ws.Connection.send`).
RENDER_KEY: OutKey = ("render", "", 0)


class Outlet(Protocol):
    """What the hub and the dispatcher need of a connection (a test double has it too)."""

    def send(self, text: str, key: OutKey | None = None) -> bool:
        """Send or queue *text* (keyed by *key*, see :data:`OutKey`); ``False``
        if the connection is closing."""
        ...

    def close(self, code: int = CLOSE_NORMAL, reason: str = "", final: str | None = None) -> None:
        """Send *final* (if any) after what waits, then close with *code*."""
        ...


def op_update(widget_id: str, html: str) -> dict[str, Any]:
    """Replace one widget's element with new HTML."""
    return {"op": "update", "id": widget_id, "html": html}


def op_value(widget_id: str, value: Any) -> dict[str, Any]:
    """Set an input's value in place (keeps focus and caret)."""
    return {"op": "value", "id": widget_id, "value": value}


def op_insert(parent: str, html: str, index: int | None = None) -> dict[str, Any]:
    """Insert a widget into *parent* (a root name or a container's id); append if no index."""
    op: dict[str, Any] = {"op": "insert", "parent": parent, "html": html}
    if index is not None:
        op["index"] = index
    return op


def op_remove(widget_id: str) -> dict[str, Any]:
    """Remove one widget's element."""
    return {"op": "remove", "id": widget_id}
