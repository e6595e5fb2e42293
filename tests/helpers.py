"""Test helpers: a browser-like HTTP + WebSocket client over real sockets."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import websocket  # websocket-client

COOKIE = "stgo_session"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll *predicate* until it returns something truthy; fail after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


def request(url: str, path: str = "/", headers: dict[str, str] | None = None,
            method: str = "GET") -> Response:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        base = parts.path.rstrip("/")
        conn.request(method, base + path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


@dataclass
class Socket:
    """A WebSocket that keeps every JSON message it receives."""

    ws: websocket.WebSocket
    seq: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)

    def send_json(self, msg: dict[str, Any]) -> None:
        self.ws.send(json.dumps(msg))

    def event(self, widget: str, event: str = "click", value: Any = None) -> int:
        self.seq += 1
        self.send_json({"v": 1, "type": "event", "widget": widget, "event": event,
                        "value": value, "seq": self.seq})
        return self.seq

    def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        self.ws.settimeout(timeout)
        raw = self.ws.recv()
        msg: dict[str, Any] = json.loads(raw)
        self.messages.append(msg)
        return msg

    def recv_until(self, predicate: Callable[[dict[str, Any]], bool],
                   timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout} s; got {self.messages}")
            msg = self.recv(left)
            if predicate(msg):
                return msg

    def ack(self, seq: int, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the message that acknowledges event *seq*."""
        return self.recv_until(lambda m: m.get("ack") == seq, timeout)

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


class Client:
    """One browser: a cookie jar, page loads and WebSockets (tabs)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session_id: str | None = None
        self.sockets: list[Socket] = []

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def get(self, path: str = "/") -> Response:
        headers = {}
        if self.session_id:
            headers["Cookie"] = f"{COOKIE}={self.session_id}"
        resp = request(self.base_url, path, headers)
        for cookie in resp.cookies():
            m = re.match(rf"{COOKIE}=([^;]*)", cookie)
            if m:
                self.session_id = m.group(1)
        return resp

    def connect(self, *, session: str | None = None, origin: str | None = None,
                cookie: str | None = None, wait_render: bool = True) -> Socket:
        if self.session_id is None and session is None:
            self.get("/")
        sid = session if session is not None else self.session_id
        parts = urlsplit(self.base_url)
        url = f"ws://{parts.netloc}{parts.path.rstrip('/')}/ws?session={quote(sid or '')}"
        jar = cookie if cookie is not None else f"{COOKIE}={self.session_id}"
        ws = websocket.create_connection(
            url, timeout=10, origin=origin or self.origin, cookie=jar,
            enable_multithread=True,
        )
        sock = Socket(ws)
        self.sockets.append(sock)
        if wait_render:
            sock.recv_until(lambda m: m["type"] == "render")
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
