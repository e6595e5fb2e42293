"""Pages behind nginx under a prefix it strips (docs/deployment.md): the app
never hears of the prefix, and links, the back button and the WebSocket work."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..helpers import request, wait_until
from .test_pages import pages_app

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def proxied(serve, tmp_path: Path) -> Iterator[str]:
    if not os.path.exists(NGINX):
        reason = "NO NGINX: the proxy test is SKIPPED (apt-get install nginx)"
        if os.environ.get("STGO_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and STGO_REQUIRE_SERVICES=1 demands it")
        pytest.skip(reason)
    server = serve(pages_app())
    port = _free_port()
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""
{user}
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location /app/ {{
            proxy_pass http://127.0.0.1:{server.port}/;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 3600s;
        }}
    }}
}}
""")
    proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/app/"
    try:
        def up() -> bool:
            try:
                return request(base, "/health").status == 200
            except OSError:
                return False

        wait_until(up, timeout=10, interval=0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_pages_behind_a_proxy_that_strips_the_prefix(proxied: str, new_page) -> None:
    page = new_page(proxied + "reports")
    expect(page.locator("h1")).to_have_text("Reports")
    page.get_by_label("Name").fill("Lin")
    page.get_by_label("Name").press("Enter")
    page.wait_for_function("() => window.stgo.acked >= window.stgo.seq")
    page.locator(".stgo-nav a[data-stgo-path='/']").click()
    expect(page.locator("h1")).to_have_text("Home")
    assert page.url == proxied
    expect(page.get_by_label("Name")).to_have_value("Lin")
    page.go_back()
    expect(page.locator("h1")).to_have_text("Reports")
    assert page.url == proxied + "reports"
    page.get_by_role("button", name="Set query").click()
    page.wait_for_url(proxied + "reports?q=42")
    # A typed deeper URL finds the app's root through the proxy too.
    page.goto(proxied + "reports/")
    page.wait_for_function("() => window.stgo && window.stgo.connected")
    expect(page.get_by_label("Name")).to_have_value("Lin")
