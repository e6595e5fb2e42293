"""Sign-in with OpenID Connect against a real provider (``oidc-provider-mock``
on a free port), over real sockets: the authorization-code flow with PKCE,
``state`` bound to the session, the ID token verified, the session's ID
rotated, ``access=stgo.signed_in`` pages, and every refusal (issue 25)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

import stgo
from stgo.server import Server
from stgo.testing import AppTester

from .helpers import Visitor
from .services import OIDCProvider, free_port


@pytest.fixture
def signin_app(oidc_provider: OIDCProvider, serve: Callable[..., Server]
               ) -> Iterator[Callable[..., tuple[stgo.App, str]]]:
    """``make(**app_options)``: an App signing in with the provider, served."""

    def make(auth: stgo.OIDC | None = None, **options: Any) -> tuple[stgo.App, str]:
        app = stgo.App(title="Auth", auth=auth or stgo.OIDC(
            issuer=oidc_provider.issuer, client_id="stgo-test", client_secret="s3cret"),
            **options)
        app.text("public home", key="home")
        app.login_button("Sign in")
        app.logout_button("Sign out")
        reports = app.page("/reports", title="Reports", access=stgo.signed_in)
        reports.text("the secret reports", key="secret")

        @app.session_page
        def draw(session: stgo.Session) -> None:
            user = session.user
            session.text(f"user: {user.id if user else 'anonymous'}", key="who")

        server = serve(app)
        return app, f"http://127.0.0.1:{server.port}"

    yield make


def signed_in_ids(app: stgo.App) -> list[str]:
    return [s.user.id for s in app.sessions.sessions() if s.user is not None]


def test_sign_in_rotates_the_cookie_and_opens_signed_in_pages(
        signin_app: Callable[..., tuple[stgo.App, str]]) -> None:
    app, base = signin_app()
    events: list[tuple[str, str]] = []
    app.on_login(lambda session, user: events.append(("login", user.id)))
    you = Visitor(base)
    # A page for signed-in users: an anonymous visitor is sent to sign in.
    status, headers, _ = you.go("/reports")
    assert status == 302 and headers["location"].endswith("/auth/login?next=/reports")
    before = you.cookie
    authorize = you.start_sign_in("/reports")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert you.cookie == before  # the same session began the sign-in
    callback = you.consent(authorize, "alice")
    status, headers, _ = you.go(callback)
    assert status == 303 and headers["location"] == "/reports"  # back at next
    assert you.cookie != before  # a new session ID (fixation)
    status, _, body = you.go("/reports")
    assert status == 200 and "the secret reports" in body and "user: alice" in body
    assert signed_in_ids(app) == ["alice"] and events == [("login", "alice")]
    user = next(s.user for s in app.sessions.sessions() if s.user is not None)
    assert user.claims["iss"] == app._auth_flow.auth.issuer  # type: ignore[union-attr]
    # No provider token anywhere: not in the page, the cookie or the session's state.
    state = next(s for s in app.sessions.sessions() if s.user is not None).items()
    assert "token" not in json.dumps(state, default=str).lower().replace("id_token", "")
    # The ID someone saw before the sign-in is worthless now.
    old = Visitor(base)
    old.cookie = before
    status, headers, _ = old.go("/reports")
    assert status == 302 and old.cookie != before


def test_the_callback_refuses_a_replayed_or_forged_state_and_code(
        signin_app: Callable[..., tuple[stgo.App, str]]) -> None:
    app, base = signin_app()
    you = Visitor(base)
    callback = you.consent(you.start_sign_in())
    # A forged state: refused, nothing signed in.
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    status, _, body = you.go(forged)
    assert status == 400 and "Sign-in link not valid" in body and "Traceback" not in body
    # The right state with a forged code: the provider refuses it; the state is spent.
    wrong_code = re.sub(r"code=[^&]+", "code=forged", callback)
    status, _, body = you.go(wrong_code)
    assert status == 400 and "refused this sign-in" in body
    status, _, body = you.go(callback)  # a replay of the state
    assert status == 400 and "Sign-in link not valid" in body
    assert signed_in_ids(app) == []
    # A fresh sign-in works; its callback replayed is refused (state and code both spent).
    callback = you.consent(you.start_sign_in())
    assert you.go(callback)[0] == 303
    assert signed_in_ids(app) == ["alice"]
    status, _, body = you.go(callback)
    assert status == 400 and "Sign-in link not valid" in body
    # Another browser replaying a stolen callback URL has no such sign-in either.
    thief = Visitor(base)
    thief.go("/")
    assert thief.go(callback)[0] == 400
    assert signed_in_ids(app) == ["alice"]


class TamperingOIDC(stgo.OIDC):
    """The provider's ID token altered on its way (the signature kept): sub becomes mallory."""

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        tokens = super().exchange(code, redirect_uri, verifier)
        head, payload, signature = tokens["id_token"].split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "mallory"
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return {**tokens, "id_token": f"{head}.{forged}.{signature}"}


def test_a_tampered_id_token_is_refused(
        signin_app: Callable[..., tuple[stgo.App, str]], oidc_provider: OIDCProvider,
        caplog: pytest.LogCaptureFixture) -> None:
    app, base = signin_app(TamperingOIDC(issuer=oidc_provider.issuer, client_id="stgo-test",
                                           client_secret="s3cret"))
    you = Visitor(base)
    status, _, body = you.go(you.consent(you.start_sign_in()))
    assert status == 401 and "could not be verified" in body and "Traceback" not in body
    assert signed_in_ids(app) == []
    assert "ID token refused" in caplog.text


def test_clock_skew_past_the_leeway_is_refused(
        signin_app: Callable[..., tuple[stgo.App, str]], caplog: pytest.LogCaptureFixture
) -> None:
    # Our clock two hours ahead of the provider's: its token looks expired.
    app, base = signin_app(clock=lambda: time.time() + 7200)
    you = Visitor(base)
    status, _, body = you.go(you.consent(you.start_sign_in()))
    assert status == 401 and "check this computer" in body
    assert signed_in_ids(app) == [] and "ExpiredTokenError" in caplog.text


def test_denied_consent_is_a_clear_page(signin_app: Callable[..., tuple[stgo.App, str]]) -> None:
    app, base = signin_app()
    you = Visitor(base)
    status, _, body = you.go(you.consent(you.start_sign_in(), deny=True))
    assert status == 403 and "Sign-in cancelled" in body
    assert signed_in_ids(app) == []


def test_next_must_be_a_page_of_this_app(signin_app: Callable[..., tuple[stgo.App, str]]) -> None:
    app, base = signin_app()
    you = Visitor(base)
    for bad in ("https://evil.example/", "//evil.example/", "/nowhere", "/\\evil.example"):
        status, headers, body = you.go("/auth/login?" + urlencode({"next": bad}))
        assert status == 400 and "not part of this app" in body, bad
        assert "location" not in headers
    assert signed_in_ids(app) == []


def test_an_unreachable_provider_is_a_clear_page_and_anonymous_pages_still_serve(
        serve: Callable[..., Server], caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("joserfc")
    app = stgo.App(auth=stgo.OIDC(issuer=f"http://127.0.0.1:{free_port()}",
                                  client_id="x", timeout=2.0))
    app.text("still here", key="home")
    base = f"http://127.0.0.1:{serve(app).port}"
    you = Visitor(base)
    status, _, body = you.go("/auth/login")
    assert status == 503 and "cannot be reached" in body and "Traceback" not in body
    assert "provider unreachable (discovery" in caplog.text
    status, _, body = you.go("/")
    assert status == 200 and "still here" in body


def test_sign_out_rotates_and_forgets_the_user(
        signin_app: Callable[..., tuple[stgo.App, str]]) -> None:
    app, base = signin_app()
    reasons: list[str] = []
    app.on_logout(lambda session, user, reason: reasons.append(f"{user.id}:{reason}"))
    you = Visitor(base)
    you.go(you.consent(you.start_sign_in()))
    signed = you.cookie
    # Not from the app's own page: refused.
    status, _, _ = you.go("/auth/logout", method="POST", form={},
                          headers={"Origin": "https://evil.example"})
    assert status == 403 and signed_in_ids(app) == ["alice"]
    status, headers, _ = you.go("/auth/logout", method="POST", form={}, headers={"Origin": base})
    assert status == 303 and you.cookie != signed
    assert signed_in_ids(app) == [] and reasons == ["alice:logout"]
    assert you.go("/reports")[0] == 302


def test_misconfiguration_is_refused_clearly() -> None:
    pytest.importorskip("joserfc")
    with pytest.raises(stgo.ConfigurationError, match="https"):
        stgo.OIDC(issuer="http://idp.example.com", client_id="x")
    with pytest.raises(stgo.ConfigurationError, match="openid"):
        stgo.OIDC(issuer="https://idp.example.com", client_id="x", scopes=("email",))
    with pytest.raises(stgo.ConfigurationError, match="trust_proxy=True"):
        stgo.App(auth=stgo.ProxyAuth())
    with pytest.raises(stgo.ConfigurationError, match="login_max_age"):
        stgo.App(auth=stgo.ProxyAuth(), trust_proxy=True, login_max_age=0)
    with pytest.raises(stgo.ConfigurationError, match="needs sign-in"):
        stgo.App().login_button("Sign in")


def test_the_tester_signs_a_user_in_without_a_provider() -> None:
    app = stgo.App(auth=stgo.ProxyAuth(), trust_proxy=True)
    seen: list[str] = []

    @app.session_page
    def draw(session: stgo.Session) -> None:
        user = session.user
        session.text(f"hello {user.id if user else 'nobody'}", key="hi")
        if user is not None:
            seen.append(session.user_state.get("theme", "light"))

    with AppTester(app) as tester:
        alice = tester.session(user=stgo.User(id="alice", email="a@example.com"))
        assert alice.session.user == stgo.User(id="alice", email="a@example.com")
        assert alice.text("hi") == "hello alice"
        alice.session.user_state.set("theme", "dark")
        other = tester.session(user=stgo.User(id="alice"))
        assert other.text("hi") == "hello alice" and seen[-1] == "dark"
        assert tester.new_session().text("hi") == "hello nobody"


def test_proxy_auth_follows_the_trusted_proxys_header(serve: Callable[..., Server]) -> None:
    app = stgo.App(auth=stgo.ProxyAuth(user_header="X-Forwarded-User",
                                       email_header="X-Forwarded-Email"), trust_proxy=True)
    reports = app.page("/reports", access=stgo.signed_in)
    reports.text("the secret reports", key="secret")

    @app.session_page
    def draw(session: stgo.Session) -> None:
        user = session.user
        session.text(f"user: {user.id} {user.email}" if user else "user: anonymous", key="who")

    you = Visitor(f"http://127.0.0.1:{serve(app).port}")
    alice = {"X-Forwarded-User": "alice", "X-Forwarded-Email": "alice@example.com"}
    status, _, body = you.go("/reports", headers=alice)
    assert status == 200 and "user: alice alice@example.com" in body
    first = you.cookie
    assert you.go("/reports", headers=alice)[0] == 200 and you.cookie == first  # no churn
    status, _, body = you.go("/reports", headers={"X-Forwarded-User": "bob"})
    assert status == 200 and "user: bob None" in body and you.cookie != first  # rotated
    # No header: signed out; the proxy signs people in, so a 403 (no redirect loop).
    status, headers, body = you.go("/reports")
    assert status == 403 and "location" not in headers
    assert [s.user for s in app.sessions.sessions() if s.user is not None] == []


def test_userinfo_is_asked_when_wanted(
        signin_app: Callable[..., tuple[stgo.App, str]], oidc_provider: OIDCProvider,
        caplog: pytest.LogCaptureFixture) -> None:
    asked: list[str] = []

    class Counting(stgo.OIDC):
        def fetch_userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
            found = super().fetch_userinfo(access_token, subject)
            asked.append(found["sub"])
            return found

    app, base = signin_app(Counting(issuer=oidc_provider.issuer, client_id="stgo-test",
                                    client_secret="s3cret", userinfo=True))
    you = Visitor(base)
    assert you.go(you.consent(you.start_sign_in(), "carol"))[0] == 303
    assert asked == ["carol"] and signed_in_ids(app) == ["carol"]
    assert "access_token" not in caplog.text


def test_an_id_token_for_another_sign_in_is_refused_by_its_nonce(
        signin_app: Callable[..., tuple[stgo.App, str]], caplog: pytest.LogCaptureFixture
) -> None:
    from stgo.auth.flow import PENDING_KEY

    app, base = signin_app()
    you = Visitor(base)
    authorize = you.start_sign_in()
    session = app.sessions.get(you.cookie)
    assert session is not None
    # The sign-in this session began expects another nonce than the token will carry
    # (a token minted for another sign-in, replayed into this one).
    session.update(PENDING_KEY, lambda pending: {
        k: {**v, "nonce": "another sign-in's"} for k, v in pending.items()})
    status, _, body = you.go(you.consent(authorize))
    assert status == 401 and "could not be verified" in body
    assert signed_in_ids(app) == [] and "nonce" in caplog.text


def test_a_provider_that_never_answers_times_out_into_a_clear_page(
        serve: Callable[..., Server], caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("joserfc")
    import socket

    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        app = stgo.App(auth=stgo.OIDC(issuer=f"http://127.0.0.1:{port}", client_id="x",
                                      timeout=0.5))
        app.text("still here", key="home")
        you = Visitor(f"http://127.0.0.1:{serve(app).port}")
        status, _, body = you.go("/auth/login")
        assert status == 503 and "cannot be reached" in body
        assert "provider unreachable (discovery: TimeoutError" in caplog.text
        assert you.go("/")[0] == 200
