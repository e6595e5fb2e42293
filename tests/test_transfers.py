"""Uploads and downloads over real HTTP: what is refused before the body, and what gets through."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

import stgo
from stgo.server import Server
from stgo.transfers import DOWNLOAD_TTL

from .helpers import Client, wait_until

COOKIE = "stgo_session"


class Post:
    """One raw POST, so that a test can stop after the headers."""

    def __init__(self, server: Server, path: str, headers: dict[str, str]) -> None:
        parts = urlsplit(server.url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.conn.putrequest("POST", path)
        for name, value in headers.items():
            self.conn.putheader(name, value)
        self.conn.endheaders()

    def answer(self, body: bytes | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if body:
            self.conn.send(body)
        resp = self.conn.getresponse()
        raw = resp.read()
        self.conn.close()
        import json

        try:
            data = json.loads(raw)
        except ValueError:
            data = {"raw": raw.decode("utf-8", "replace")}
        return resp.status, data, dict(resp.headers)


def upload_headers(client: Client | None, name: str, size: int, *,
                   origin: str | None = "same", mime: str = "text/csv") -> dict[str, str]:
    headers = {"Content-Length": str(size), "Content-Type": mime,
               "X-Stgo-Filename": quote(name)}
    if client is not None and client.session_id:
        headers["Cookie"] = f"{COOKIE}={client.session_id}"
    if origin == "same" and client is not None:
        headers["Origin"] = client.origin
    elif origin is not None and origin != "same":
        headers["Origin"] = origin
    return headers


@pytest.fixture
def files_app() -> Iterator[tuple[stgo.App, list[Any]]]:
    app = stgo.App(title="files")
    got: list[Any] = []
    up = app.file_uploader("Data", type=["csv"], max_size=100, key="up")

    @up.on_change
    def changed(session: stgo.Session, event: str, value: Any) -> None:
        got.append((session, value, value.getvalue() if value is not None else None))

    app.file_uploader("Hidden", key="hidden", visible=False)
    app.file_uploader("Off", key="off", disabled=True)

    @app.on_session_start
    def start(session: stgo.Session) -> None:
        session.file_uploader("Mine", key="mine")

    yield app, got


def _upload(server: Server, client: Client, widget: stgo.Widget, name: str,
            body: bytes, **kw: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    post = Post(server, f"/upload?widget={widget.id}",
                upload_headers(client, name, len(body), **kw))
    return post.answer(body)


def test_good_upload_reaches_the_callback_in_order(serve: Callable[..., Server],
                                                   files_app: Any) -> None:
    app, got = files_app
    server = serve(app)
    alice = Client(server.url)
    sock = alice.connect()
    up = app.widget("up")
    status, answer, _ = _upload(server, alice, up, "report.CSV", b"a,b\n1,2\n")
    assert status == 201, answer
    assert answer["name"] == "report.CSV" and answer["size"] == 8
    assert got == []  # staged only: the value changes with the client's event
    seq = sock.event(up.id, "change", [answer["token"]])
    sock.ack(seq)
    session = app.sessions.get(alice.session_id)
    assert session is not None
    assert len(got) == 1 and got[0][0] is session and got[0][2] == b"a,b\n1,2\n"
    value = session.get("up")
    assert (value.name, value.size, value.type) == ("report.CSV", 8, "text/csv")
    assert value.read(2) == b"a," and value.read() == b"b\n1,2\n"
    # The same token cannot be used twice.
    seq = sock.event(up.id, "change", [answer["token"]])
    err = sock.recv_until(lambda m: m["type"] == "error")
    assert "unknown or expired upload" in err["message"] and len(got) == 1
    alice.close()


def test_refusals_before_the_body(serve: Callable[..., Server], files_app: Any) -> None:
    app, got = files_app
    server = serve(app)
    alice, bob = Client(server.url), Client(server.url)
    alice.get("/")
    bob.get("/")
    up = app.widget("up")
    alice_session = app.sessions.get(alice.session_id)
    assert alice_session is not None
    alices_own = alice_session.widget("mine")

    def refused(client: Client | None, widget: stgo.Widget, name: str, size: int,
                **kw: Any) -> tuple[int, str]:
        # Headers only: the server must answer without waiting for a body.
        post = Post(server, f"/upload?widget={widget.id}",
                    upload_headers(client, name, size, **kw))
        status, data, _ = post.answer()
        return status, data.get("error", data.get("raw", ""))

    assert refused(None, up, "a.csv", 5)[0] == 403                       # no cookie
    assert refused(alice, up, "a.csv", 5, origin="http://evil.example")[0] == 403
    assert refused(alice, up, "a.csv", 5, origin=None)[0] == 403          # no Origin
    status, why = refused(alice, up, "big.csv", 101)
    assert status == 413 and "too large" in why
    status, why = refused(alice, up, "notes.txt", 5)
    assert status == 415 and ".csv" in why
    for name in ("../../etc/passwd.csv", "dir/a.csv", "dir\\a.csv", "a\x00.csv", "..", ""):
        assert refused(alice, up, name, 5)[0] == 400, name
    assert refused(bob, alices_own, "a.csv", 5)[0] == 404                 # other session's
    assert refused(alice, app.widget("hidden"), "a.csv", 5)[0] == 404
    assert refused(alice, app.widget("off"), "a.csv", 5)[0] == 403
    assert got == []
    assert app.transfers.sessions_with_files() == 0  # nothing was spooled


def test_no_length_and_short_body(serve: Callable[..., Server], files_app: Any) -> None:
    app, _ = files_app
    server = serve(app)
    alice = Client(server.url)
    alice.get("/")
    headers = upload_headers(alice, "a.csv", 5)
    del headers["Content-Length"]
    headers["Transfer-Encoding"] = "chunked"
    status, data, _ = Post(server, f"/upload?widget={app.widget('up').id}", headers).answer(
        b"5\r\nhello\r\n0\r\n\r\n")
    assert status == 411, data


def test_files_are_removed_when_replaced_and_when_the_session_ends(
        serve: Callable[..., Server], files_app: Any) -> None:
    app, got = files_app
    server = serve(app)
    alice = Client(server.url)
    sock = alice.connect()
    up = app.widget("up")
    tokens = [_upload(server, alice, up, f"{i}.csv", b"x" * (i + 1))[1]["token"]
              for i in range(2)]
    sock.ack(sock.event(up.id, "change", [tokens[0]]))
    session = app.sessions.get(alice.session_id)
    assert session is not None
    first = session.get("up")
    assert first.path.exists()
    sock.ack(sock.event(up.id, "change", [tokens[1]]))
    assert not first.path.exists() and session.get("up").getvalue() == b"xx"
    with pytest.raises(ValueError, match="gone"):
        first.getvalue()
    sock.ack(sock.event(up.id, "change", None))  # the user removes it
    assert session.get("up") is None and got[-1][1] is None
    last = _upload(server, alice, up, "z.csv", b"zz")[1]["token"]
    sock.ack(sock.event(up.id, "change", [last]))
    folder = session.get("up").path.parent
    assert folder.is_dir()
    app.sessions.delete(session.id)
    assert not folder.exists()
    alice.close()


def test_another_session_cannot_use_a_token(serve: Callable[..., Server], files_app: Any) -> None:
    app, got = files_app
    server = serve(app)
    alice, bob = Client(server.url), Client(server.url)
    alice.get("/")
    bob_sock = bob.connect()
    up = app.widget("up")
    token = _upload(server, alice, up, "a.csv", b"secret")[1]["token"]
    bob_sock.event(up.id, "change", [token])
    err = bob_sock.recv_until(lambda m: m["type"] == "error")
    assert "unknown or expired upload" in err["message"]
    assert got == []
    bob.close()


# -- downloads -----------------------------------------------------------------------------


def _get(server: Server, path: str, cookie: str | None) -> http.client.HTTPResponse:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    resp = conn.getresponse()
    resp.read_body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


def test_download_is_bound_to_the_session_and_expires(serve: Callable[..., Server]) -> None:
    now = [1000.0]
    app = stgo.App()
    app.transfers._clock = lambda: now[0]
    calls = threading.Event()

    def report(session: stgo.Session) -> str:
        calls.set()
        return f"visits: {session.get('n', 0)}\u00e9"

    button = app.download_button("Get", data=report, file_name="../r\u00e9sum\u00e9.txt")
    server = serve(app)
    alice, bob = Client(server.url), Client(server.url)
    alice.get("/")
    bob.get("/")
    session = app.sessions.get(alice.session_id)
    assert session is not None
    session.set("n", 3)
    status, answer, _ = Post(server, f"/download?widget={button.id}", {
        "Cookie": f"{COOKIE}={alice.session_id}", "Origin": alice.origin,
        "Content-Length": "0"}).answer()
    assert status == 201
    assert not calls.is_set()  # made at download time, not before
    url = "/" + answer["url"]
    resp = _get(server, url, alice.session_id)
    assert resp.status == 200
    assert resp.read_body == "visits: 3\u00e9".encode()  # type: ignore[attr-defined]
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "sum" in disposition and ".." not in disposition
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert _get(server, url, bob.session_id).status == 404
    assert _get(server, url, None).status == 404
    now[0] += DOWNLOAD_TTL + 1
    assert _get(server, url, alice.session_id).status == 404
    # Minting needs the page's Origin too.
    status, _, _ = Post(server, f"/download?widget={button.id}", {
        "Cookie": f"{COOKIE}={alice.session_id}", "Origin": "http://evil.example",
        "Content-Length": "0"}).answer()
    assert status == 403


def test_download_of_a_failing_callable_is_a_clear_500(serve: Callable[..., Server]) -> None:
    app = stgo.App()

    def broken() -> bytes:
        raise RuntimeError("no data yet")

    button = app.download_button("Get", data=broken, file_name="x.bin")
    server = serve(app)
    alice = Client(server.url)
    alice.get("/")
    _, answer, _ = Post(server, f"/download?widget={button.id}", {
        "Cookie": f"{COOKIE}={alice.session_id}", "Origin": alice.origin,
        "Content-Length": "0"}).answer()
    resp = _get(server, "/" + answer["url"], alice.session_id)
    body = resp.read_body  # type: ignore[attr-defined]
    assert resp.status == 500 and b"could not make this file" in body
    assert b"no data yet" not in body  # the exception's text stays in the log
    wait_until(lambda: app.sessions.get(alice.session_id) is not None)
