"""Sign-in: OpenID Connect (:class:`OIDC`) or an authenticating proxy
(:class:`ProxyAuth`), bound to the server-side session (docs/auth.md).

The layer between the web endpoints and the App: it uses the core
(sessions, hub), the cluster (rotation, relay) and the web (its routes'
requests), and the App builds it (:class:`~stgo.auth.app.AuthApp`).
"""

from __future__ import annotations

from ..core.identity import User, signed_in
from .oidc import OIDC
from .proxy import ProxyAuth

__all__ = ["OIDC", "ProxyAuth", "User", "signed_in"]
