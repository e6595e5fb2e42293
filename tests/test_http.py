"""The HTTP side over real sockets: the page and its cookie, /health, /static, errors."""

from __future__ import annotations

import gzip
import http.client
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client as WerkzeugClient
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import stgo
from stgo import App
from stgo.errors import ConfigurationError
from stgo.ids import is_valid_session_id, new_session_id
from stgo.server import Server
from stgo.web.client import VERSION as CLIENT_VERSION
from stgo.web.hosts import Hosts

from .helpers import COOKIE, Client, Response, request, ws_status

Serve = Callable[[App], Server]


def cookie_of(resp: Response, name: str = COOKIE) -> tuple[str, dict[str, str]]:
    """The session cookie's value and its attributes (lower-cased names)."""
    mine = [c for c in resp.cookies() if c.startswith(f"{name}=")]
    assert len(mine) == 1, resp.cookies()
    value, *attrs = [p.strip() for p in mine[0].split(";")]
    parsed = {}
    for attr in attrs:
        name, _, val = attr.partition("=")
        parsed[name.lower()] = val
    return value.split("=", 1)[1], parsed


def cookie_app(**kwargs: object) -> App:
    app = App(title="Cookie <jar>", **kwargs)  # type: ignore[arg-type]
    app.text("hello everybody", key="hello")
    return app


# -- the page and its cookie -------------------------------------------------------------


def test_page_issues_a_browser_session_cookie(serve: Serve) -> None:
    server = serve(cookie_app())
    resp = request(server.url, "/")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<title>Cookie &lt;jar&gt;</title>" in resp.body
    assert "hello everybody" in resp.body
    sid, attrs = cookie_of(resp)
    assert is_valid_session_id(sid)
    assert attrs.keys() >= {"httponly", "samesite", "path"}
    assert attrs["samesite"] == "Lax"
    assert attrs["path"] == "/"
    # A browser-session cookie: gone when the browser closes.
    assert "expires" not in attrs and "max-age" not in attrs
    # Plain HTTP: a Secure cookie would never come back.
    assert "secure" not in attrs


def test_second_visit_keeps_the_session_and_sets_no_cookie(serve: Serve) -> None:
    app = cookie_app()
    server = serve(app)
    client = Client(server.url)
    client.get("/")
    first = client.session_id
    resp = client.get("/")
    assert resp.status == 200
    assert resp.cookies() == []
    assert client.session_id == first
    assert len(app.sessions) == 1
    # The page never carries the ID (the WebSocket handshake sends the cookie).
    assert first and first not in resp.body


def test_secure_cookie_behind_a_trusted_https_proxy(serve: Serve) -> None:
    app = cookie_app(trust_proxy=True)
    server = serve(app)
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example"}
    resp = request(server.url, "/", https)
    sid, attrs = cookie_of(resp, "__Host-stgo_session")
    assert "secure" in attrs and attrs["path"] == "/" and "domain" not in attrs
    assert not [c for c in resp.cookies() if c.startswith(f"{COOKIE}=")]
    # Over HTTPS only the prefixed cookie counts: one tossed in by a sibling
    # subdomain (or set over plain HTTP) under the bare name is ignored.
    resp = request(server.url, "/", {**https, "Cookie": f"{COOKIE}={sid}"})
    tossed, _ = cookie_of(resp, "__Host-stgo_session")
    assert tossed != sid
    resp = request(server.url, "/", {**https, "Cookie": f"__Host-stgo_session={sid}"})
    assert resp.cookies() == []
    socket_headers = [f"{k}: {v}" for k, v in https.items()]
    assert ws_status(server.url, origin="https://app.example", cookie=f"{COOKIE}={sid}",
                     headers=socket_headers) == 403
    assert ws_status(server.url, origin="https://app.example",
                     cookie=f"__Host-stgo_session={sid}", headers=socket_headers) == 101
    resp = request(server.url, "/", {"X-Forwarded-Proto": "http"})
    _, attrs = cookie_of(resp)
    assert "secure" not in attrs


def test_secure_cookie_under_a_prefix_is_secure_prefixed_with_the_prefix_path() -> None:
    # __Host- demands Path=/, which would make two apps on one host share a
    # cookie: under a prefix over HTTPS the cookie is __Secure- instead.
    app = cookie_app()
    client = WerkzeugClient(app)
    try:
        resp = client.get("/", base_url="https://app.example/tools")
    finally:
        app.stop()  # its first request started it (the cleanup thread)
    [header] = resp.headers.getlist("Set-Cookie")
    name, _, rest = header.partition("=")
    attrs = [a.strip().lower() for a in rest.split(";")[1:]]
    assert name == "__Secure-stgo_session"
    assert "secure" in attrs and "path=/tools/" in attrs


def test_forwarded_host_and_prefix_are_believed_only_from_a_trusted_proxy(serve: Serve) -> None:
    hosts = ["apps.example.com"]
    # No trust_proxy: a client's X-Forwarded-Host passes nothing, and its
    # X-Forwarded-Prefix sets no cookie path.
    direct = serve(cookie_app(allowed_hosts=hosts))
    forged = {"Host": "evil.example", "X-Forwarded-Host": "apps.example.com"}
    assert request(direct.url, "/", forged).status == 400
    resp = request(direct.url, "/", {"Host": "apps.example.com", "X-Forwarded-Prefix": "/app"})
    assert cookie_of(resp)[1]["path"] == "/"
    # trust_proxy: the proxy's (last) entry decides.
    app = cookie_app(allowed_hosts=hosts, trust_proxy=True)
    proxied = serve(app)
    for said, status in [("apps.example.com", 200), ("evil.example", 400),
                         ("evil.example, apps.example.com", 200),
                         ("apps.example.com, evil.example", 400)]:
        assert request(proxied.url, "/", {"X-Forwarded-Host": said}).status == status, said
    public = {"X-Forwarded-Host": "apps.example.com", "X-Forwarded-Proto": "https"}
    resp = request(proxied.url, "/", {**public, "X-Forwarded-Prefix": "/app/"})
    sid, attrs = cookie_of(resp, "__Secure-stgo_session")  # __Host- needs Path=/
    assert attrs["path"] == "/app/" and "secure" in attrs
    info = app.sessions.get(sid).request
    assert info.url == "https://apps.example.com/app/"
    for bad in ("/a/../b", "app", "/a b", "/a//b", "/" + "x" * 2000):
        resp = request(proxied.url, "/", {**public, "X-Forwarded-Prefix": bad})
        assert cookie_of(resp, "__Host-stgo_session")[1]["path"] == "/", bad


def test_forwarded_proto_is_ignored_without_trust_proxy(serve: Serve) -> None:
    server = serve(cookie_app())
    resp = request(server.url, "/", {"X-Forwarded-Proto": "https"})
    _, attrs = cookie_of(resp)
    assert "secure" not in attrs


@pytest.mark.parametrize(
    "claimed",
    [
        pytest.param(new_session_id(), id="forged-well-formed"),
        pytest.param("session_123_abc", id="malformed"),
        pytest.param("x" * 5000, id="huge"),
        pytest.param("", id="empty"),
    ],
)
def test_cookie_the_server_did_not_issue_is_never_adopted(serve: Serve, claimed: str) -> None:
    app = cookie_app()
    server = serve(app)
    resp = request(server.url, "/", {"Cookie": f"{COOKIE}={claimed}"})
    assert resp.status == 200
    sid, _ = cookie_of(resp)
    assert sid != claimed
    assert is_valid_session_id(sid)
    assert app.sessions.ids() == [sid]
    assert app.sessions.get(claimed) is None


def test_expired_cookie_gets_a_new_session(serve: Serve) -> None:
    now = [1_000_000.0]
    ended: list[tuple[str, str]] = []
    app = cookie_app(session_timeout=10.0, clock=lambda: now[0])
    app.on_session_end(lambda s, reason: ended.append((s.id, reason)))
    server = serve(app)
    client = Client(server.url)
    client.get("/")
    old = client.session_id
    assert old is not None
    now[0] += 11
    resp = client.get("/")
    new, _ = cookie_of(resp)
    assert new != old
    assert ended == [(old, "timeout")]
    assert app.sessions.ids() == [new]


def test_session_ended_manually_is_not_revived(serve: Serve) -> None:
    app = cookie_app()
    server = serve(app)
    client = Client(server.url)
    client.get("/")
    old = client.session_id
    assert old is not None and app.sessions.delete(old)
    resp = client.get("/")
    new, _ = cookie_of(resp)
    assert new != old and app.sessions.ids() == [new]


# -- health, static, errors ------------------------------------------------------------------


def test_health_says_ok_and_tells_nobody_how_many_sessions(serve: Serve) -> None:
    app = cookie_app()
    server = serve(app)
    resp = request(server.url, "/health")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {"status": "ok"}
    assert resp.cookies() == []  # health checks must not create sessions
    Client(server.url).get("/")
    Client(server.url).get("/")
    assert len(app.sessions) == 2
    # The load on the app is no business of an anonymous caller.
    assert request(server.url, "/health").json() == {"status": "ok"}


def test_the_server_header_names_no_version(serve: Serve) -> None:
    server = serve(cookie_app())
    for path in ("/", "/health", "/nowhere"):
        header = request(server.url, path).headers["Server"]
        assert header == "stgo", header


def _upgrade_status(server: Server, host: str, cookie: str = "") -> int:
    """A WebSocket handshake to /ws with this ``Host`` header; the status."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/ws", headers={
            "Host": host, "Upgrade": "websocket", "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Origin": f"http://{host}", "Cookie": cookie,
        })
        return conn.getresponse().status
    finally:
        conn.close()


def test_on_loopback_only_local_host_names_are_served(serve: Serve) -> None:
    # DNS rebinding: evil.example resolves to 127.0.0.1 a moment after the
    # victim's browser loaded its page, whose scripts then read ours.
    app = cookie_app()
    server = serve(app)
    port = server.port
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1.evil.example:{port}"):
        page = request(server.url, "/", {"Host": host})
        assert page.status == 400, host
        assert page.cookies() == []
        assert _upgrade_status(server, host) == 400
    assert len(app.sessions) == 0
    assert app.metrics.get("stgo_refused_total", "host") == 6
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
        assert request(server.url, "/", {"Host": host}).status == 200, host
    client = Client(server.url)
    client.get("/")
    assert _upgrade_status(server, f"localhost:{port}", f"{COOKIE}={client.session_id}") == 101
    # A load balancer's health check may use any name.
    assert request(server.url, "/health", {"Host": "10.0.0.5:8501"}).status == 200


def test_allowed_hosts_names_the_hosts_served(serve: Serve) -> None:
    server = serve(cookie_app(allowed_hosts=["App.Example", ".corp.example"]))
    for host, status in {"app.example": 200, "app.example:443": 200, "corp.example": 200,
                         "a.b.corp.example": 200, "localhost": 400, "evil.example": 400,
                         "xcorp.example": 400}.items():
        assert request(server.url, "/", {"Host": host}).status == status, host
    assert _upgrade_status(server, "evil.example") == 400
    anything = serve(cookie_app(allowed_hosts=["*"]))
    assert request(anything.url, "/", {"Host": "evil.example"}).status == 200
    with pytest.raises(ConfigurationError):
        cookie_app(allowed_hosts=[])
    with pytest.raises(ConfigurationError):
        cookie_app(allowed_hosts="app.example")


def test_trust_proxy_believes_the_entry_the_proxy_added_not_the_clients(serve: Serve) -> None:
    app = cookie_app(trust_proxy=True, allowed_hosts=["app.example"])
    server = serve(app)
    # The client forged the first entries; the proxy appended the last.
    forged = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "app.example, evil.example",
              "X-Forwarded-For": "10.9.9.9, 203.0.113.7"}
    assert request(server.url, "/", {**forged, "Host": "app.example"}).status == 400
    honest = {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "evil.example, app.example"}
    resp = request(server.url, "/", {**honest, "Host": "internal:8080"})
    assert resp.status == 200
    _, attrs = cookie_of(resp, "__Host-stgo_session")
    assert "secure" in attrs
    # RFC 7239 Forwarded, when the X-Forwarded ones are absent.
    standard = {"Forwarded": 'for=10.9.9.9;proto=http;host=evil.example, '
                             'for="[2001:db8::1]:4711";proto=https;host=app.example'}
    resp = request(server.url, "/", {**standard, "Host": "internal:8080"})
    assert resp.status == 200 and cookie_of(resp, "__Host-stgo_session")
    standard = {"Forwarded": "for=10.9.9.9;host=app.example, for=10.0.0.1;host=evil.example"}
    assert request(server.url, "/", {**standard, "Host": "internal:8080"}).status == 400
    # The address: the proxy's entry, for both forms.
    hosts = Hosts(app)
    environ = EnvironBuilder(headers={**forged}).get_environ()
    assert hosts.client_address(Request(environ)) == "203.0.113.7"
    environ = EnvironBuilder(headers={"Forwarded": standard["Forwarded"].replace(
        "10.0.0.1", '"[2001:db8::1]:4711"')}).get_environ()
    assert hosts.client_address(Request(environ)) == "2001:db8::1"


@pytest.mark.parametrize(
    ("name", "mime", "pointer"),
    [("stgo.css", "text/css", f'<link rel="stylesheet" href="static/v/{CLIENT_VERSION}/stgo.css">'),
     ("client.js", "javascript",
      f'<script type="module" src="static/v/{CLIENT_VERSION}/client.js">')],
)
def test_static_files_are_served(serve: Serve, name: str, mime: str, pointer: str) -> None:
    server = serve(cookie_app())
    page = request(server.url, "/").body
    assert pointer in page  # the page points at them, relative to its URL
    for path in (f"/static/{name}", f"/static/v/{CLIENT_VERSION}/{name}"):
        resp = request(server.url, path)
        assert resp.status == 200, f"{path} is missing"
        assert mime in resp.headers["Content-Type"]
        assert resp.body.strip()
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_a_new_visitor_asks_for_three_files_and_a_returning_one_for_the_page_alone(
    serve: Serve,
) -> None:
    # The page, its CSS and the client joined into one module (stgo/web/client.py):
    # nothing else to fetch before the page runs, and the two files are kept
    # for ever under a version that is a digest of the static files.
    server = serve(cookie_app())
    page = request(server.url, "/").body
    asked = re.findall(r'<(?:link|script)\b[^>]*?(?:href|src)="(static/[^"]+)"', page)
    assert asked == [f"static/v/{CLIENT_VERSION}/stgo.css", f"static/v/{CLIENT_VERSION}/client.js"]
    assert "modulepreload" not in page
    for path in asked:
        resp = request(server.url, "/" + path)
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Another version's URL (a page of before an upgrade) gets today's file, for an hour.
    old = request(server.url, "/static/v/0123456789ab/client.js")
    assert old.status == 200 and old.headers["Cache-Control"] == "public, max-age=3600"
    assert request(server.url, "/static/stgo.css").headers["Cache-Control"] == (
        "public, max-age=3600")


def test_the_joined_client_holds_every_module_once_after_those_it_imports(serve: Serve) -> None:
    server = serve(cookie_app())
    static = Path(stgo.__file__).parent / "static"
    joined = request(server.url, f"/static/v/{CLIENT_VERSION}/client.js")
    assert joined.status == 200 and "javascript" in joined.headers["Content-Type"]
    order = re.findall(r"^// ---- ([\w-]+\.js)$", joined.body, re.M)
    assert len(order) == len(set(order)) > 5 and order[-1] == "stgo.js"
    for name in order:
        text = (static / name).read_text()
        for spec in re.findall(r'^(?:import|export) [^;]*? from "([^"]+)";$', text, re.M):
            assert re.fullmatch(r"\./[\w-]+\.js", spec), f"{name} imports {spec}: not a sibling"
            assert order.index(spec[2:]) < order.index(name), f"{name} runs before {spec}"
        assert len(text.splitlines()) <= 400, name
    assert not re.search(r"^\s*(?:import|export)\b", joined.body, re.M)
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"/static/v/{CLIENT_VERSION}/client.js",
                     headers={"Accept-Encoding": "gzip"})
        packed = conn.getresponse()
        assert packed.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed.read()).decode() == joined.body
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/static/v/0/../app.py",
        "/static/v/../../app.py",
        "/static/../app.py",           # stgo/app.py exists: a traversal would serve it
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%5capp.py",
        "/static//etc/passwd",
        "/static/",
        "/static/missing.js",
    ],
)
def test_static_refuses_traversal_and_unknown_files(serve: Serve, path: str) -> None:
    server = serve(cookie_app())
    resp = request(server.url, path)
    assert resp.status == 404
    assert "import" not in resp.body


def test_unknown_path_is_404(serve: Serve) -> None:
    server = serve(cookie_app())
    for path in ("/nope", "/index.html", "/health/x"):
        assert request(server.url, path).status == 404


@pytest.mark.parametrize("path", ["/", "/health", "/static/stgo.css"])
def test_post_is_405(serve: Serve, path: str) -> None:
    app = cookie_app()
    server = serve(app)
    resp = request(server.url, path, method="POST")
    assert resp.status == 405
    assert "GET" in resp.headers["Allow"]
    assert len(app.sessions) == 0


def test_head_of_the_page_has_no_body_and_makes_no_session(serve: Serve) -> None:
    # Load balancers and link checkers probe with HEAD: no session for them.
    app = cookie_app()
    server = serve(app)
    resp = request(server.url, "/", method="HEAD")
    assert resp.status == 200
    assert resp.body == ""
    assert resp.headers["Set-Cookie"] is None
    assert len(app.sessions) == 0


def test_the_page_forbids_framing_by_other_origins_and_inline_script(serve: Serve) -> None:
    resp = request(serve(cookie_app()).url, "/")
    policy = resp.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    # The client needs no inline script or style: the page has none.
    assert "<script>" not in resp.body and "style=" not in resp.body
    custom = request(serve(cookie_app(content_security_policy="frame-ancestors 'none'")).url, "/")
    assert custom.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    none = request(serve(cookie_app(content_security_policy=None)).url, "/")
    assert "Content-Security-Policy" not in none.headers
    assert none.headers["X-Frame-Options"] == "SAMEORIGIN"
