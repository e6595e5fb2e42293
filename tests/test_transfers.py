"""Uploads and downloads over real HTTP: what is refused before the body, and what gets through."""

from __future__ import annotations

import http.client
import select
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

import stgo
from stgo.limits import UploadLimits
from stgo.server import Server
from stgo.web.transfers import DOWNLOAD_TTL

from .helpers import COOKIE, Client, handler_threads, wait_until


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


# -- page access (issue 22, item 15) -------------------------------------------------------


def _mint(server: Server, client: Client, button: stgo.DownloadButton) -> int:
    """The status of asking a download link for *button* as *client*."""
    return Post(server, f"/download?widget={button.id}", {
        "Cookie": f"{COOKIE}={client.session_id}", "Origin": client.origin,
        "Content-Length": "0"}).answer()[0]


def test_a_page_whose_access_refuses_gives_neither_its_download_nor_its_uploader(
        serve: Callable[..., Server]) -> None:
    app = stgo.App(title="access")
    admin = app.page("/admin", access=lambda session: bool(session.get("admin")))
    payroll = admin.download_button("Payroll", data=b"name,salary\n", file_name="payroll.csv")
    intake = admin.file_uploader("Intake", key="intake")
    server = serve(app)
    alice = Client(server.url)
    alice.get("/")
    session = app.sessions.get(alice.session_id)
    assert session is not None

    assert _mint(server, alice, payroll) == 404
    assert _upload(server, alice, intake, "a.txt", b"x")[0] == 404
    assert app.transfers.sessions_with_files() == 0
    session.set("admin", True)  # now the page lets her in: both work
    assert _mint(server, alice, payroll) == 201
    assert _upload(server, alice, intake, "a.txt", b"x")[0] == 201
    _, answer, _ = Post(server, f"/download?widget={payroll.id}", {
        "Cookie": f"{COOKIE}={alice.session_id}", "Origin": alice.origin,
        "Content-Length": "0"}).answer()
    resp = _get(server, "/" + answer["url"], alice.session_id)
    assert resp.status == 200 and resp.read_body == b"name,salary\n"  # type: ignore[attr-defined]
    # A link minted while she could open the page is no good once she cannot.
    _, answer, _ = Post(server, f"/download?widget={payroll.id}", {
        "Cookie": f"{COOKIE}={alice.session_id}", "Origin": alice.origin,
        "Content-Length": "0"}).answer()
    session.set("admin", False)
    assert _get(server, "/" + answer["url"], alice.session_id).status == 404


def test_a_dialog_the_session_never_opened_gives_neither_its_download_nor_its_uploader(
        serve: Callable[..., Server]) -> None:
    # The same check as a click's (Widget.shown_to): a dialog is shown only to
    # the sessions that opened it, so its files are theirs only.
    app = stgo.App(title="dialog files")
    box = app.dialog("Export")
    report = box.download_button("Report", data=b"q1\n", file_name="q1.csv")
    intake = box.file_uploader("Intake", key="intake")
    server = serve(app)
    alice = Client(server.url)
    alice.get("/")
    session = app.sessions.get(alice.session_id)
    assert session is not None

    assert _mint(server, alice, report) == 404
    assert _upload(server, alice, intake, "a.txt", b"x")[0] == 404
    box.open(session)
    assert _mint(server, alice, report) == 201
    assert _upload(server, alice, intake, "a.txt", b"x")[0] == 201


# -- limits on what uploads hold (issue 22, items 16 and 24) --------------------------------


def _answered(post: Post) -> bool:
    """Whether the server answered *post* already (before its body was sent)."""
    sock = post.conn.sock
    return sock is not None and bool(select.select([sock], [], [], 0)[0])


def _limited_app(store: str | None = None, upload_dir: str | None = None,
                 **limits: Any) -> stgo.App:
    app = stgo.App(title="limits", store=store, upload_dir=upload_dir,
                   upload_limits=UploadLimits(**limits))
    app.file_uploader("Data", key="up", max_size=10_000)
    return app


def _serve_on(serve: Callable[..., Server], request: pytest.FixtureRequest,
              app: stgo.App) -> Server:
    """*app* served; with Redis, stopped after the test without ``serve``'s
    leftover count (which asks the store, closed by then)."""
    if app.store.__class__.__name__ != "RedisStore":
        return serve(app)
    server = Server(app, "127.0.0.1", 0)
    server.start()
    request.addfinalizer(server.stop)
    return server


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_parallel_uploads_beyond_the_staged_limit_are_refused_before_their_body(
        serve: Callable[..., Server], request: pytest.FixtureRequest, backend: str) -> None:
    store = request.getfixturevalue("redis_server").url if backend == "redis" else None
    app = _limited_app(store, max_staged=4, max_bodies=64, max_session_bodies=64)
    server = _serve_on(serve, request, app)
    alice = Client(server.url)
    alice.get("/")
    up = app.widget("up")
    body = b"x" * 100
    # Twelve uploads at once, headers only: each is checked before its body.
    posts = [Post(server, f"/upload?widget={up.id}", upload_headers(alice, f"{i}.csv", 100))
             for i in range(12)]
    wait_until(lambda: sum(_answered(p) for p in posts) == 8)
    refused = [p for p in posts if _answered(p)]
    for post in refused:
        status, data, _ = post.answer()
        assert status == 429 and "too many uploads waiting" in data["error"]
    statuses = [p.answer(body)[0] for p in posts if p not in refused]
    assert statuses == [201] * 4
    assert app.transfers.receiving() == (0, 0)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_an_upload_cut_off_midway_leaves_nothing_behind(
        serve: Callable[..., Server], request: pytest.FixtureRequest, tmp_path: Any,
        backend: str) -> None:
    redis_server = request.getfixturevalue("redis_server") if backend == "redis" else None
    app = _limited_app(redis_server.url if redis_server else None, str(tmp_path))
    server = _serve_on(serve, request, app)
    alice = Client(server.url)
    alice.get("/")
    up = app.widget("up")
    post = Post(server, f"/upload?widget={up.id}", upload_headers(alice, "half.csv", 10_000))
    post.conn.send(b"x" * 5_000)
    wait_until(lambda: app.transfers.receiving() == (1, 10_000))
    post.conn.close()  # half the body, then gone
    wait_until(lambda: app.transfers.receiving() == (0, 0))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no spool file left
    if redis_server is not None:
        import redis

        r = redis.Redis.from_url(redis_server.url)
        assert [k for k in r.scan_iter(match="*up:*")] == []      # no partial blob
        assert app.store.staged_uploads(alice.session_id) == 0    # its place given back
        r.close()
    # The session can upload again, all of its places free.
    assert _upload(server, alice, up, "whole.csv", b"y" * 10)[0] == 201


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_bytes_staged_per_session_and_per_process_are_capped(
        serve: Callable[..., Server], request: pytest.FixtureRequest, backend: str) -> None:
    store = request.getfixturevalue("redis_server").url if backend == "redis" else None
    app = _limited_app(store, max_session_bytes=100, max_process_bytes=150)
    server = _serve_on(serve, request, app)
    alice, bob = Client(server.url), Client(server.url)
    alice.get("/")
    bob.get("/")
    up = app.widget("up")
    assert _upload(server, alice, up, "a.csv", b"a" * 60)[0] == 201
    # Refused from the headers: the body is never read.
    status, data, _ = Post(server, f"/upload?widget={up.id}",
                           upload_headers(alice, "b.csv", 60)).answer()
    assert status == 413 and "would exceed 100 bytes" in data["error"]
    assert _upload(server, alice, up, "c.csv", b"c" * 40)[0] == 201  # up to the cap
    if backend == "memory":  # the process's disk (with Redis, Redis's maxmemory)
        status, data, _ = Post(server, f"/upload?widget={up.id}",
                               upload_headers(bob, "d.csv", 60)).answer()
        assert status == 503 and "too many uploads" in data["error"]
        assert _upload(server, bob, up, "e.csv", b"e" * 50)[0] == 201


def test_slow_upload_bodies_hold_few_threads_and_a_trickle_is_cut_off(
        serve: Callable[..., Server], tmp_path: Any) -> None:
    app = _limited_app(None, str(tmp_path), max_bodies=3, max_session_bodies=2,
                       min_rate=1000.0, grace=3.0)
    server = serve(app)
    clients = [Client(server.url) for _ in range(10)]
    for client in clients:
        client.get("/")
    up = app.widget("up")
    before = handler_threads()
    # Ten clients trickle 2,000-byte bodies (a byte each): three are received,
    # seven are refused at once and their threads end.
    posts = [Post(server, f"/upload?widget={up.id}", upload_headers(c, "slow.csv", 2_000))
             for c in clients]
    for post in posts:
        post.conn.send(b"x")
    wait_until(lambda: sum(_answered(p) for p in posts) == 7)
    assert app.transfers.receiving()[0] == 3
    refused = [p for p in posts if _answered(p)]
    for post in refused:
        status, data, _ = post.answer()
        assert status == 503 and "receiving too many uploads" in data["error"]
    wait_until(lambda: handler_threads() <= before + 3)
    # The trickles (1 byte of 2,000 at 1,000 bytes/s after 3 s) are cut off
    # well before the 30 s a silent client is given.
    for post in [p for p in posts if p not in refused]:
        status, data, _ = post.answer()
        assert status == 408 and "too slow" in data["error"]
    wait_until(lambda: app.transfers.receiving() == (0, 0))
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_one_session_gets_a_few_upload_bodies_at_once(serve: Callable[..., Server]) -> None:
    app = _limited_app(None, max_session_bodies=2)
    server = serve(app)
    alice = Client(server.url)
    alice.get("/")
    up = app.widget("up")
    posts = [Post(server, f"/upload?widget={up.id}", upload_headers(alice, f"{i}.csv", 10))
             for i in range(3)]
    wait_until(lambda: sum(_answered(p) for p in posts) == 1)
    third = next(p for p in posts if _answered(p))
    status, data, _ = third.answer()
    assert status == 429 and "too many uploads at once" in data["error"]
    assert [p.answer(b"z" * 10)[0] for p in posts if p is not third] == [201, 201]


def test_upload_names_and_types_are_cleaned(serve: Callable[..., Server],
                                            files_app: Any) -> None:
    app, _ = files_app
    server = serve(app)
    alice = Client(server.url)
    sock = alice.connect()
    up = app.widget("up")
    # An override that would show "invoice\u202egpj.csv" as "invoice.csvjpg", a C1 control.
    status, answer, _ = _upload(server, alice, up, "invoice\u202egpj\u0085\u2066.csv", b"1",
                                mime="text/<script>")
    assert status == 201, answer
    assert answer["name"] == "invoicegpj.csv" and answer["type"] == "text/csv"
    status, answer, _ = _upload(server, alice, up, "b.csv", b"2", mime="x" * 300 + "/y")
    assert status == 201 and answer["type"] == "text/csv"
    status, answer, _ = _upload(server, alice, up, "c.csv", b"3",
                                mime="Application/Vnd.MS-Excel; charset=x")
    assert status == 201 and answer["type"] == "application/vnd.ms-excel"
    sock.ack(sock.event(up.id, "change", [answer["token"]]))
    session = app.sessions.get(alice.session_id)
    assert session is not None and session.get("up").type == "application/vnd.ms-excel"
    assert _upload(server, alice, up, "\u202e\u0085.csv"[:2], b"4")[0] == 400  # nothing left
    alice.close()


def test_an_upload_to_a_redis_at_its_maxmemory_is_refused_and_leaves_nothing(
        serve: Callable[..., Server], request: pytest.FixtureRequest) -> None:
    redis_server = request.getfixturevalue("redis_server")
    app = stgo.App(title="full", store=redis_server.url)
    up = app.file_uploader("Data", key="up")
    server = _serve_on(serve, request, app)
    alice = Client(server.url)
    alice.get("/")
    import redis

    r = redis.Redis.from_url(redis_server.url)
    used = int(r.info("memory")["used_memory"])
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", used + 300_000)  # room for a part of the file only
    try:
        status, data, _ = _upload(server, alice, up, "big.bin", b"b" * 2_000_000)
        assert status == 503 and "store is full" in data["error"], data
        assert [k for k in r.scan_iter(match="*up:*")] == []
        assert app.store.staged_uploads(alice.session_id) == 0
    finally:
        r.config_set("maxmemory", 0)
        r.close()
