"""OpenID Connect: the provider's settings (:class:`OIDC`), discovery, the
token exchange, and the ID token's verification.

The signature and the registered claims are checked by joserfc (the
optional extra ``pip install 'stgo[auth]'``, imported when an :class:`OIDC`
is made); HTTP goes through the standard library with a timeout.  Every
failure is a :class:`~stgo.errors.SignInError`: the page the user sees and
the line the log gets, never a traceback.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import ConfigurationError, MissingExtraError, SignInError
from ..web.hosts import is_loopback

__all__ = ["OIDC", "pkce_challenge", "unreachable"]

log = logging.getLogger("stgo")

#: Seconds between two fetches of the provider's keys for an unknown key id
#: (a rotation): a stream of forged tokens must not make us hammer it.
JWKS_REFETCH = 10.0

#: Bytes at most of any answer of the provider.
MAX_ANSWER = 1 << 20


def _jose() -> Any:
    try:
        import joserfc.errors
        import joserfc.jwk
        import joserfc.jwt
    except ImportError:
        raise MissingExtraError(
            "stgo.OIDC needs joserfc: pip install 'stgo[auth]'") from None
    return joserfc


def pkce_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of a PKCE *verifier* (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def unreachable(what: str, exc: BaseException) -> SignInError:
    """The error for a provider that does not answer (in time)."""
    return SignInError(503, "Sign-in is unavailable",
                       "The sign-in service cannot be reached right now. "
                       "Please try again in a moment.",
                       f"provider unreachable ({what}: {type(exc).__name__}: {exc})")


class OIDC:
    """Sign-in with an OpenID Connect provider: ``stgo.App(auth=stgo.OIDC(...))``.

    The authorization-code flow with PKCE, a ``state`` bound to the session
    and a ``nonce``; the ID token verified against the provider's keys
    (fetched again when it rotates them).  See docs/auth.md.

    :param issuer: the provider's URL; its settings are read from
        ``{issuer}/.well-known/openid-configuration``.  HTTPS, unless on
        this machine (``http://127.0.0.1:...``, for tests).
    :param client_id: this app's client ID at the provider.
    :param client_secret: its secret; ``None`` reads ``STGO_OIDC_CLIENT_SECRET``,
        and without either the app is a public client (PKCE only).
    :param scopes: the scopes asked for; ``"openid"`` is required.
    :param userinfo: also ask the provider's userinfo endpoint after the
        token exchange (its claims join the ID token's in ``user.claims``).
    :param redirect_uri: the callback URL registered at the provider;
        ``None`` (default): ``<the app's URL>auth/callback``, as the browser
        reached the app (through a trusted proxy, as it said).
    :param timeout: seconds each call to the provider may take (5).
    :param clock_skew: seconds of difference between our clock and the
        provider's accepted on ``exp`` and ``iat`` (60).
    :param discovery_ttl: seconds the provider's settings are kept (3600).
    :raises ConfigurationError: a bad issuer, client ID or scopes.
    :raises MissingExtraError: joserfc is not installed (``stgo[auth]``).
    """

    def __init__(self, issuer: str, client_id: str, client_secret: str | None = None, *,
                 scopes: Iterable[str] = ("openid", "email", "profile"),
                 userinfo: bool = False, redirect_uri: str | None = None,
                 timeout: float = 5.0, clock_skew: float = 60.0,
                 discovery_ttl: float = 3600.0) -> None:
        parts = urllib.parse.urlsplit(issuer if isinstance(issuer, str) else "")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigurationError(f"OIDC issuer must be an https:// URL, got {issuer!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigurationError(
                f"OIDC issuer {issuer!r} must use https:// (plain http only on this machine)")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("OIDC client_id must be a non-empty string")
        scope_list = [scopes] if isinstance(scopes, str) else list(scopes)
        if "openid" not in scope_list or not all(
                isinstance(s, str) and s and " " not in s for s in scope_list):
            raise ConfigurationError(f"OIDC scopes must be words and include 'openid', "
                                     f"got {scopes!r}")
        for name, value in (("timeout", timeout), ("clock_skew", clock_skew),
                            ("discovery_ttl", discovery_ttl)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(f"OIDC {name} must be seconds >= 0, got {value!r}")
        self._jose = _jose()
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        secret = client_secret if client_secret is not None else os.environ.get(
            "STGO_OIDC_CLIENT_SECRET")
        self._secret = secret or None
        self.scopes = tuple(scope_list)
        self.userinfo = bool(userinfo)
        self.redirect_uri = redirect_uri
        self.timeout = float(timeout)
        self.clock_skew = float(clock_skew)
        self.discovery_ttl = float(discovery_ttl)
        #: Epoch-seconds clock for the token's times (the App's, once given).
        self.clock: Callable[[], float] = time.time
        self._lock = threading.Lock()
        self._settings: dict[str, Any] | None = None
        self._settings_at = 0.0
        self._keys: Any = None
        self._keys_at = -JWKS_REFETCH

    def __repr__(self) -> str:
        return f"<OIDC {self.issuer!r} client_id={self.client_id!r}>"

    # -- talking to the provider ---------------------------------------------------------

    def _fetch(self, what: str, url: str, data: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> Any:
        """The JSON answer of *url* (a POST of *data* as a form, if given)."""
        body = None if data is None else urllib.parse.urlencode(data).encode("ascii")
        req = urllib.request.Request(url, data=body, headers={
            "Accept": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:  # noqa: S310
                raw = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            raw = exc.read(MAX_ANSWER + 1)
            error = _json(raw).get("error") if isinstance(_json(raw), dict) else None
            raise SignInError(
                400 if exc.code < 500 else 502, "Sign-in failed",
                "The sign-in service refused this sign-in. Please sign in again.",
                f"provider refused the {what} (HTTP {exc.code}, {error or 'no error code'})",
            ) from None
        except (OSError, ValueError) as exc:  # refused, timed out, bad URL
            raise unreachable(what, exc) from None
        if len(raw) > MAX_ANSWER or not isinstance(_json(raw), dict):
            raise SignInError(502, "Sign-in failed",
                              "The sign-in service gave an answer we cannot read.",
                              f"provider's {what} answer is not a JSON object")
        return _json(raw)

    def settings(self) -> dict[str, Any]:
        """The provider's discovery document (kept ``discovery_ttl`` seconds).

        :raises SignInError: it cannot be had, or names another issuer.
        """
        now = time.monotonic()
        with self._lock:
            if self._settings is not None and now - self._settings_at < self.discovery_ttl:
                return self._settings
        found: dict[str, Any] = self._fetch(
            "discovery", f"{self.issuer}/.well-known/openid-configuration")
        if found.get("issuer", "").rstrip("/") != self.issuer:
            raise SignInError(502, "Sign-in is misconfigured",
                              "The sign-in service is not the one this app expects.",
                              f"discovery names issuer {found.get('issuer')!r}, "
                              f"not {self.issuer!r}")
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(name), str):
                raise SignInError(502, "Sign-in is misconfigured",
                                  "The sign-in service's settings are incomplete.",
                                  f"discovery has no {name}")
        with self._lock:
            self._settings, self._settings_at = found, now
        return found

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        """Where the browser is sent to sign in."""
        endpoint = self.settings()["authorization_endpoint"]
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id,
            "redirect_uri": redirect_uri, "scope": " ".join(self.scopes), "state": state,
            "nonce": nonce, "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """Trade the authorization *code* for tokens (the PKCE *verifier* proves it is ours)."""
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": verifier}
        headers: dict[str, str] = {}
        if self._secret is not None:
            pair = (f"{urllib.parse.quote(self.client_id, safe='')}:"
                    f"{urllib.parse.quote(self._secret, safe='')}")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            data["client_id"] = self.client_id
        answer: dict[str, Any] = self._fetch("token exchange", self.settings()["token_endpoint"],
                                             data, headers)
        if not isinstance(answer.get("id_token"), str):
            raise SignInError(502, "Sign-in failed", "The sign-in service sent no identity.",
                              "token answer has no id_token")
        return answer

    def _key_set(self, refresh: bool) -> Any:
        now = time.monotonic()
        with self._lock:
            keys = self._keys
            due = keys is None or (refresh and now - self._keys_at >= JWKS_REFETCH)
            if due:
                self._keys_at = now
        if not due:
            return keys
        found = self._fetch("key fetch", self.settings()["jwks_uri"])
        try:
            keys = self._jose.jwk.KeySet.import_key_set(found)
        except Exception as exc:  # a key set joserfc cannot read
            raise SignInError(502, "Sign-in failed", "The sign-in service's keys are unusable.",
                              f"provider's JWKS: {type(exc).__name__}: {exc}") from None
        with self._lock:
            self._keys = keys
        return keys

    def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of *id_token* once its signature (the provider's keys,
        fetched again once for a key id not seen yet: a rotation), ``iss``,
        ``aud``, ``exp``, ``iat``, ``sub`` and ``nonce`` are checked.

        :raises SignInError: any of them fails.
        """
        jose = self._jose
        errors = jose.errors
        token = None
        for refresh in (False, True):
            try:
                token = jose.jwt.decode(id_token, self._key_set(refresh),
                                        algorithms=["RS256", "RS384", "RS512", "ES256",
                                                    "ES384", "ES512", "PS256", "EdDSA"])
                break
            except (errors.MissingKeyError, errors.InvalidKeyIdError, ValueError) as exc:
                if refresh:
                    raise _unverified(f"no key of the provider fits ({exc})") from None
            except errors.JoseError as exc:
                raise _unverified(f"{type(exc).__name__}: {exc}") from None
        assert token is not None
        registry = jose.jwt.JWTClaimsRegistry(
            now=lambda: int(self.clock()), leeway=int(self.clock_skew),
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
            nonce={"essential": True, "value": nonce})
        try:
            registry.validate(token.claims)
        except errors.JoseError as exc:
            raise _unverified(f"{type(exc).__name__}: {exc}") from None
        claims: dict[str, Any] = dict(token.claims)
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise _unverified("several audiences and azp is not our client_id")
        return claims

    def fetch_userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        """The userinfo endpoint's claims (its ``sub`` must be *subject*)."""
        endpoint = self.settings().get("userinfo_endpoint")
        if not isinstance(endpoint, str):
            return {}
        found: dict[str, Any] = self._fetch("userinfo", endpoint, headers={
            "Authorization": f"Bearer {access_token}"})
        if found.get("sub") != subject:
            raise _unverified("userinfo is about another subject")
        return found


def _unverified(detail: str) -> SignInError:
    return SignInError(401, "Sign-in could not be verified",
                       "The identity the sign-in service sent could not be verified, so "
                       "you are not signed in. Please sign in again; if this keeps "
                       "happening, check this computer's clock.",
                       f"ID token refused: {detail}")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None
