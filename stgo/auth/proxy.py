"""Sign-in by an authenticating proxy in front of the app (oauth2-proxy, an
identity-aware load balancer): ``stgo.App(auth=stgo.ProxyAuth(), trust_proxy=True)``."""

from __future__ import annotations

from ..errors import ConfigurationError

__all__ = ["ProxyAuth"]


class ProxyAuth:
    """Trust the user a proxy names in a request header.

    Each page load compares the header with the session's user: a new name
    signs the session in (a new session ID, as any sign-in), no name signs
    it out.  Honoured only with ``App(trust_proxy=True)`` (the App refuses
    to start otherwise): the proxy must be the only way in, and must drop
    these headers when a client sends them itself.

    :param user_header: the header naming the user (their ``User.id``).
    :param email_header: the header with their e-mail address (``None``: none).
    :param name_header: the header with their display name (``None``: none).
    """

    def __init__(self, user_header: str = "X-Forwarded-User",
                 email_header: str | None = "X-Forwarded-Email",
                 name_header: str | None = None) -> None:
        for label, value in (("user_header", user_header), ("email_header", email_header),
                             ("name_header", name_header)):
            if value is None and label != "user_header":
                continue
            if not isinstance(value, str) or not value or not all(
                    c.isalnum() or c == "-" for c in value):
                raise ConfigurationError(f"ProxyAuth {label} must be a header name, "
                                         f"got {value!r}")
        self.user_header = user_header
        self.email_header = email_header
        self.name_header = name_header

    def __repr__(self) -> str:
        return f"<ProxyAuth user_header={self.user_header!r}>"
