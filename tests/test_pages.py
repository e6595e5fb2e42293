"""Pages over real sockets: routes, 403/404, private widgets per page, the
request context, per-tab navigation and query messages."""

from __future__ import annotations

from typing import Any

import pytest
import websocket

import stgo
from stgo.errors import ConfigurationError

from .helpers import COOKIE, Client, Socket, request, wait_until


def app_with_pages() -> stgo.App:
    app = stgo.App(title="Home title", trust_proxy=True)
    app.text("home text", key="home")
    reports = app.page("/reports", title="Reports title")
    reports.text("reports text", key="rtext")
    app.page("/admin", access=lambda s: bool(s.get("admin"))).text("secret", key="secret")
    return app


def test_each_path_serves_its_own_page_and_the_servers_paths_stay(serve) -> None:
    server = serve(app_with_pages())
    home = request(server.url, "/")
    assert home.status == 200 and "home text" in home.body and "reports text" not in home.body
    page = request(server.url, "/reports")
    assert page.status == 200 and "reports text" in page.body and "home text" not in page.body
    assert "<title>Reports title</title>" in page.body
    assert request(server.url, "/reports/").status == 200  # a trailing slash is the same page
    # Its links resolve from the app's root, whatever the depth of the URL.
    assert '<base href="./">' in page.body
    assert '<base href="../">' in request(server.url, "/reports/").body
    assert request(server.url, "/health").json()["status"] == "ok"
    assert request(server.url, "/static/stgo.js").status == 200
    assert request(server.url, "/static/nothing.js").status == 404


def test_unknown_path_is_a_404_page_without_a_session(serve) -> None:
    app = app_with_pages()
    server = serve(app)
    missing = request(server.url, "/no/such")
    assert missing.status == 404
    assert "Page not found" in missing.body and 'href="../"' in missing.body
    assert missing.cookies() == [] and len(app.sessions) == 0


def test_a_refused_page_is_a_403_until_the_check_allows(serve) -> None:
    app = app_with_pages()
    server = serve(app)
    client = Client(server.url)
    refused = client.get("/admin")
    assert refused.status == 403 and "secret" not in refused.body and "403" in refused.body
    app.sessions.get(client.session_id).set("admin", True)
    allowed = client.get("/admin")
    assert allowed.status == 200 and "secret" in allowed.body


def test_page_paths_are_checked() -> None:
    app = stgo.App()
    assert app.page("reports/").path == "/reports"
    for bad in ("/", "/ws", "/static/x", "/health", "/a/../b", "", "/a b"):
        with pytest.raises(ConfigurationError):
            app.page(bad)
    with pytest.raises(ConfigurationError, match="already"):
        app.page("/reports")


def test_request_context_is_readable_without_the_session_cookie(serve) -> None:
    app = app_with_pages()
    server = serve(app)
    first = request(server.url, "/", {"X-Forwarded-User": "ada", "X-Forwarded-For": "203.0.113.9",
                                      "Cookie": "theme=dark"})
    sid = next(c for c in first.cookies() if c.startswith(COOKIE)).split(";")[0].split("=")[1]
    request(server.url, "/", {"X-Forwarded-User": "ada", "X-Forwarded-For": "203.0.113.9",
                              "Cookie": f"theme=dark; {COOKIE}={sid}"})
    session = app.sessions.get(sid)
    info = session.request
    assert info.headers["x-forwarded-user"] == "ada"
    assert info.client_address == "203.0.113.9"
    assert info.cookies == {"theme": "dark"}
    assert "Cookie" not in info.headers
    assert sid not in repr(info)


def test_navigating_and_query_changes_over_the_socket(serve) -> None:
    app = app_with_pages()
    opened: list[tuple[str, dict[str, str]]] = []
    reports = app.get_page("/reports")
    assert reports is not None

    @reports.on_open
    def on_open(session: stgo.Session, tab: Any) -> None:
        opened.append((tab.path, tab.query))
        reports.private(session).text(f"only mine, q={tab.query.get('q')}", key="mine")

    server = serve(app)
    client = Client(server.url)
    client.get("/")
    url = server.url.replace("http://", "ws://") + "ws?tab=tab-one-123&path=/reports&query=q%3D7"
    ws = websocket.create_connection(url, origin=client.origin,
                                     cookie=f"{COOKIE}={client.session_id}", timeout=10)
    sock = Socket(ws)
    try:
        render = sock.recv_until(lambda m: m["type"] == "render")
        assert render["path"] == "/reports" and render["query"] == {"q": "7"}
        assert "only mine, q=7" in render["roots"]["session"]
        assert opened == [("/reports", {"q": "7"})]
        [tab] = app.tab_registry.of_session(app.sessions.get(client.session_id))
        assert tab.id == "tab-one-123" and tab.request.headers.get("Origin") == client.origin
        # The client follows a link home: a render of "/", without the private box.
        sock.send_json({"v": 1, "type": "navigate", "path": "/", "query": {}})
        home = sock.recv_until(lambda m: m["type"] == "render" and m.get("path") == "/")
        assert "home text" in home["roots"]["global"]
        assert "only mine" not in home["roots"]["session"]
        # The server sets the tab's query: the client is told to replace its URL.
        tab.set_query(page=2)
        moved = sock.recv_until(lambda m: m["type"] == "url")
        assert moved["query"] == {"page": "2"} and tab.query == {"page": "2"}
        # And moves the tab (session.navigate from outside a callback: every tab).
        assert app.sessions.get(client.session_id).navigate("/admin") == 1
        refused = sock.recv_until(lambda m: m["type"] == "render" and m.get("path") == "/admin")
        assert refused["status"] == 403 and refused["push"] is True
        assert "secret" not in refused["roots"]["global"]
        # A widget of a page the tab does not show cannot be clicked from it.
        secret = app.get_page("/admin").widget("secret")
        sock.event(secret.id)
        error = sock.recv_until(lambda m: m["type"] == "error")
        assert "unknown widget" in error["message"]
        sock.send_json({"v": 1, "type": "navigate", "path": "nope"})
        assert "path" in sock.recv_until(lambda m: m["type"] == "error")["message"]
    finally:
        sock.close()
    wait_until(lambda: not app.tab_registry.of_session(app.sessions.get(client.session_id)))


def test_navigation_on_top_lists_pages_a_session_may_open(serve) -> None:
    app = app_with_pages()
    app.navigation(position="top")
    server = serve(app)
    client = Client(server.url)
    page = client.get("/reports")
    topbar = page.body.split('id="stgo-topbar"', 1)[1].split("</div>\n", 1)[0]
    assert 'data-stgo-path="/reports"' in topbar and 'href="reports"' in topbar
    assert 'data-stgo-path="/admin"' not in topbar  # refused: not listed
    app.sessions.get(client.session_id).set("admin", True)
    assert 'data-stgo-path="/admin"' in client.get("/").body
    with pytest.raises(ConfigurationError):
        app.navigation(position="left")
    with pytest.raises(stgo.WidgetError):
        app.page_link("reports")


def _open_tab(server: Any, client: Client, path: str) -> Socket:
    """A tab of *client* on the page at *path* (the WebSocket a page load opens)."""
    tab = f"tab-{len(client.sockets)}-xyz"
    url = server.url.replace("http://", "ws://") + f"ws?tab={tab}&path={path}"
    sock = Socket(websocket.create_connection(url, origin=client.origin, timeout=10,
                                              cookie=f"{COOKIE}={client.session_id}"))
    client.sockets.append(sock)
    sock.recv_until(lambda m: m["type"] == "render")
    return sock


def _until_tick(sock: Socket, tick: str) -> list[dict[str, Any]]:
    """The messages *sock* gets up to the sidebar's *tick* (on every page):
    whatever was pushed before it has arrived too."""
    start = len(sock.messages)
    sock.recv_until(lambda m: tick in str(m))
    return sock.messages[start:]


def test_a_tab_refused_a_page_gets_none_of_its_live_changes(serve) -> None:
    app = app_with_pages()
    tick = app.sidebar.text("tick 0", key="tick")
    admin = app.get_page("/admin")
    server = serve(app)
    alice, mallory = Client(server.url), Client(server.url)
    try:
        alice.get("/")
        mallory.get("/")
        app.sessions.get(alice.session_id).set("admin", True)
        allowed = _open_tab(server, alice, "/admin")
        refused = _open_tab(server, mallory, "/admin")
        assert refused.messages[-1]["status"] == 403
        admin.widget("secret").set_text("payroll: 1,000,000")
        admin.text("inserted secret", key="more")
        tick.set_text("tick 1")
        got = str(_until_tick(allowed, "tick 1"))
        assert "payroll" in got and "inserted secret" in got
        seen = str(_until_tick(refused, "tick 1"))
        assert "payroll" not in seen and "inserted secret" not in seen
        # Signed out (a state change): the tab is redrawn refused, and gets no more.
        app.sessions.get(alice.session_id).set("admin", False)
        redrawn = allowed.recv_until(lambda m: m["type"] == "render")
        assert redrawn["status"] == 403 and "payroll" not in str(redrawn)
        admin.widget("secret").set_text("payroll: 2,000,000")
        tick.set_text("tick 2")
        assert "payroll" not in str(_until_tick(allowed, "tick 2"))
        # Let in (a visit asks again): a new tab on the page gets its changes.
        app.sessions.get(mallory.session_id).set("admin", True)
        again = _open_tab(server, mallory, "/admin")
        admin.widget("secret").set_text("payroll: 3,000,000")
        tick.set_text("tick 3")
        assert "payroll: 3,000,000" in str(_until_tick(again, "tick 3"))
    finally:
        alice.close()
        mallory.close()


def test_every_shared_change_goes_through_one_door_applied_ones_are_not_saved_again() -> None:
    app = app_with_pages()
    kept: list[tuple[str, str | None]] = []
    app.router.keep = lambda widget, path: kept.append((widget.key, path))
    flushed: list[Any] = []
    app.hub.flush = flushed.append  # type: ignore[method-assign]
    app.widget("home").set_text("home, changed")  # the App's own page
    app.get_page("/reports").widget("rtext").set_text("reports, changed")  # another page
    app.sidebar.text("side", key="side").set_text("side, changed")  # on every page
    assert kept == [("home", "/"), ("rtext", "/reports"), ("side", None)]
    # Another process's change, read from the store: pushed (and not told
    # onward), not saved again.
    app.router.shared_changed(app.widget("home"), "update", applied=True)
    assert kept == [("home", "/"), ("rtext", "/reports"), ("side", None)]
    assert flushed[-1].local_only and list(flushed[-1].global_changes.values()) == ["update"]
    assert not any(batch.local_only for batch in flushed[:-1])
