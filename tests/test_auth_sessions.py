"""Sign-in inside the app, without a provider (``tester.session(user=...)``):
``session.logout``, ending a user's sessions, ``login_max_age`` on an
injected clock, ``session.user_state`` (shared, pushed to the user's other
sessions, its own TTL, erased) and the hooks (issue 25)."""

from __future__ import annotations

import pytest

import stgo
from stgo.testing import AppTester

from .helpers import FakeClock

ALICE = stgo.User(id="alice", email="alice@example.com", name="Alice")


def make(clock: FakeClock | None = None, **options: object) -> tuple[stgo.App, list[str]]:
    """An app signing in through a proxy (no provider needed by the tester)."""
    app = stgo.App(auth=stgo.ProxyAuth(), trust_proxy=True,
                   **({"clock": clock} if clock is not None else {}), **options)  # type: ignore[arg-type]
    said: list[str] = []
    app.on_login(lambda session, user: said.append(f"in {user.id}"))
    app.on_logout(lambda session, user, reason: said.append(f"out {user.id} {reason}"))

    @app.session_page
    def draw(session: stgo.Session) -> None:
        user = session.user
        if user is None:
            session.text("hello nobody", key="hi")
            return
        session.text(f"hello {user.name or user.id}", key="hi")
        session.text(f"theme {session.user_state.get('theme', 'light')}", key="theme")
        session.button("Sign out", key="out", on_click=lambda s, e, v: s.logout())
        session.button("Everywhere", key="all",
                       on_click=lambda s, e, v: s.logout(everywhere=True))
        session.button("Dark", key="dark",
                       on_click=lambda s, e, v: s.user_state.set("theme", "dark"))

    return app, said


def test_logout_from_a_callback_rotates_the_id_and_draws_the_page_anew() -> None:
    app, said = make()
    with AppTester(app) as tester:
        alice = tester.session(user=ALICE)
        assert alice.text("hi") == "hello Alice" and said == ["in alice"]
        signed_id = alice.session.id
        alice.click("out")
        assert alice.session.user is None and alice.text("hi") == "hello nobody"
        assert alice.session.id != signed_id and app.sessions.get(signed_id) is None
        assert not alice.expired  # the tab carries on, on the new ID
        assert said == ["in alice", "out alice logout"]


def test_logout_everywhere_ends_the_users_other_sessions_only() -> None:
    app, said = make()
    with AppTester(app) as tester:
        phone, laptop = tester.session(user=ALICE), tester.session(user=ALICE)
        bob = tester.session(user=stgo.User(id="bob"))
        laptop_id = laptop.session.id
        phone.click("all")
        assert phone.text("hi") == "hello nobody" and not phone.expired
        assert laptop.expired and app.sessions.get(laptop_id) is None
        assert bob.session.user is not None and not bob.expired
        assert sorted(s for s in said if s.startswith("out")) == [
            "out alice everywhere", "out alice everywhere"]


def test_end_user_sessions_and_erase_user() -> None:
    app, said = make()
    with AppTester(app) as tester:
        one, two = tester.session(user=ALICE), tester.session(user=ALICE)
        one.click("dark")
        assert app.end_user_sessions("alice") == 2
        assert one.expired and two.expired
        assert said.count("out alice ended") == 2
        assert app.user_state_of("alice").get("theme") == "dark"  # the person's, kept
        three = tester.session(user=ALICE)
        assert three.text("theme") == "theme dark"
        assert app.erase_user("alice") == 1 and three.expired
        assert app.user_state_of("alice").items() == {}
        assert app.end_user_sessions("nobody") == 0


def test_user_state_changes_redraw_the_users_other_sessions_live() -> None:
    app, _ = make()
    with AppTester(app) as tester:
        phone, laptop = tester.session(user=ALICE), tester.session(user=ALICE)
        bob = tester.session(user=stgo.User(id="bob"))
        phone.click("dark")
        assert laptop.text("theme") == "theme dark"  # pushed, no reload
        assert bob.text("theme") == "theme light"
        anonymous = tester.new_session()
        with pytest.raises(stgo.AuthError, match="signed-in"):
            anonymous.session.user_state.get("theme")


def test_login_max_age_ends_the_sign_in_on_time() -> None:
    clock = FakeClock()
    app, said = make(clock, login_max_age=60)
    with AppTester(app) as tester:
        alice = tester.session(user=ALICE)
        assert app._identity is not None
        clock.advance(59)
        assert app._identity.sweep() == 0 and alice.session.user is not None
        clock.advance(2)
        assert alice.session.user is None  # past its age even before the sweep
        assert app._identity.sweep() == 1
        assert alice.expired and said[-1] == "out alice expired"


def test_user_state_lives_its_ttl_after_its_last_use() -> None:
    clock = FakeClock()
    app, _ = make(clock, user_state_ttl=3600)
    with AppTester(app) as tester:
        alice = tester.session(user=ALICE)
        alice.click("dark")
        assert app._identity is not None
        clock.advance(3000)
        app._identity.sweep()
        assert app.user_state_of("alice").get("theme") == "dark"  # used: renewed
        clock.advance(3601)
        app._identity.sweep()
        assert app.user_state_of("alice").items() == {}


def test_without_auth_the_identity_calls_say_what_is_missing() -> None:
    app = stgo.App()
    for call in (lambda: app.end_user_sessions("a"), lambda: app.erase_user("a"),
                 lambda: app.on_login(lambda session, user: None)):
        with pytest.raises(stgo.ConfigurationError, match=r"auth=stgo\.OIDC"):
            call()
    with AppTester(app) as tester:
        tab = tester.new_session()
        assert tab.session.user is None
        tab.session.logout()  # nobody signed in: nothing to do
        with pytest.raises(stgo.AuthError, match="needs sign-in"):
            tab.session.user_state.get("x")
        with pytest.raises(stgo.ConfigurationError, match="auth="):
            tester.session(user=ALICE)
