"""Sign-in across processes on one real Redis: sign-out everywhere and
``login_max_age`` reach the user's tabs on every process within seconds and
their old cookies are refused; ``user_state`` changed in one process is
pushed live to the user's tab on another (issue 25)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websocket

from .helpers import COOKIE, ServerProcess, Socket, Visitor, stgo_run
from .services import OIDCProvider, RedisServer

APP = str(Path(__file__).resolve().parent / "apps" / "auth_cluster.py")

Start = Callable[..., ServerProcess]


@pytest.fixture
def start(processes: list[ServerProcess], redis_server: RedisServer,
          oidc_provider: OIDCProvider) -> Start:
    """``start(**env)``: the app under ``python -m stgo run --store redis``; killed after."""

    def run(**env: str) -> ServerProcess:
        proc = stgo_run(APP, "--store", redis_server.url,
                        env={"STGO_TEST_ISSUER": oidc_provider.issuer, **env})
        processes.append(proc)
        proc.wait_url()
        return proc

    return run


def signed_in(url: str, sub: str = "alice") -> Visitor:
    """A browser without script, signed in as *sub* on the process at *url*."""
    you = Visitor(url)
    status, headers, _ = you.go("/auth/login?next=/reports")
    assert status == 302
    status, _, _ = you.go(you.consent(headers["location"], sub))
    assert status == 303
    return you


def tab(you: Visitor) -> Socket:
    """A tab of *you*'s session: a WebSocket with its cookie, past its first render."""
    parts = re.match(r"http://([^/]+)", you.base)
    assert parts is not None and you.cookie is not None
    ws = websocket.create_connection(f"ws://{parts.group(1)}/ws", timeout=10,
                                     origin=you.base, cookie=f"{COOKIE}={you.cookie}")
    sock = Socket(ws)
    sock.recv_until(lambda m: m["type"] == "render")
    return sock


def shows(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda msg: text in json.dumps(msg)


def test_sign_out_everywhere_ends_the_users_tab_on_another_process(start: Start) -> None:
    one, two = start(), start()
    here, there = signed_in(one.url), signed_in(two.url)
    assert there.go("/reports")[0] == 200
    old_cookie = there.cookie
    there_tab = tab(there)
    # Sign out everywhere, from the first process.
    status, _, _ = here.go("/auth/logout", method="POST", form={"everywhere": "1"},
                           headers={"Origin": here.base})
    assert status == 303
    # The tab on the other process is told within 2 s (the deadline).
    there_tab.recv_until(lambda m: m["type"] == "expired", timeout=2.0)
    there_tab.close()
    # Its old cookie opens nothing for signed-in users any more.
    stale = Visitor(two.url)
    stale.cookie = old_cookie
    status, headers, _ = stale.go("/reports")
    assert status == 302 and "/auth/login" in headers["location"]
    assert stale.cookie != old_cookie  # a new, anonymous session
    assert here.go("/reports")[0] == 302  # and the first browser is signed out too


def test_login_max_age_signs_out_on_every_process(start: Start) -> None:
    one, two = start(STGO_TEST_MAX_AGE="3"), start(STGO_TEST_MAX_AGE="3")
    here, there = signed_in(one.url), signed_in(two.url)
    tabs = [tab(here), tab(there)]
    cookies = [here.cookie, there.cookie]
    for sock in tabs:
        # 3 s of sign-in, then at most a sweep's half-second and a notice.
        sock.recv_until(lambda m: m["type"] == "expired", timeout=3.0 + 2.0)
        sock.close()
    for url, cookie in zip((one.url, two.url), cookies, strict=True):
        stale = Visitor(url)
        stale.cookie = cookie
        assert stale.go("/reports")[0] == 302


def test_user_state_set_on_one_process_is_pushed_live_to_the_users_tab_on_another(
        start: Start) -> None:
    one, two = start(), start()
    here, there = signed_in(one.url), signed_in(two.url)
    here_tab, there_tab = tab(here), tab(there)
    render = here_tab.messages[-1]
    dark = re.search(r'id="(w[0-9a-f]+)"[^>]*data-key="dark"', "".join(render["roots"].values()))
    assert dark is not None, render
    here_tab.ack(here_tab.event(dark.group(1)))
    # Live: the other process redraws the user's tab from their state.
    there_tab.recv_until(shows("theme: dark"), timeout=5.0)
    # And it outlives the sessions: a new sign-in of the same user sees it.
    later = signed_in(two.url)
    assert "theme: dark" in later.go("/")[2]
    for sock in (here_tab, there_tab):
        sock.close()
