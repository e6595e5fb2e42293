"""The HTML shell of a page (server-rendered widgets plus the client script),
and what the web layer asks the app about its pages (:class:`Site`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..strings import strings
from ..widgets.base import esc

if TYPE_CHECKING:
    from ..core.session import Session

__all__ = ["render_page", "render_error_page", "render_refusal", "base_href", "Site", "Located",
           "Look"]


@dataclass(frozen=True)
class Look:
    """How the page looks: ``App(layout=..., language=...)``."""

    layout: str = "centered"
    language: str = "en"


class Located(Protocol):
    """A page, as far as the web layer cares: where it is."""

    @property
    def path(self) -> str:
        """Its path, as registered (``/reports``)."""


class Site(Protocol):
    """The app's pages (the App is one): which exist, who may see them, their HTML."""

    def get_page(self, path: str) -> Located | None:
        """The page at *path* (``None`` for ``"/"``, the App's own, or for no page)."""

    def resolve(self, path: str, session: Session | None) -> tuple[int, Located | None]:
        """``(200 | 403 | 404, page)`` for the page at *path* and *session*."""

    def render_roots(self, session: Session, path: str = "/") -> dict[str, str]:
        """HTML of each page root for *session* on the page at *path*."""

    def title_of(self, path: str) -> str:
        """The document title of the page at *path*."""

    @property
    def look(self) -> Look:
        """The page's layout and language."""


def base_href(path: str) -> str:
    """The app's root relative to the page at *path* (as the browser asked
    for it, below any prefix): ``"./"`` for ``/`` and ``/reports``,
    ``"../"`` for ``/reports/monthly``.  Relative, so that it holds under a
    prefix the app never hears of (a proxy that strips it)."""
    depth = max(0, (path or "/").count("/") - 1)
    return "../" * depth if depth else "./"


def render_refusal(status: int, path: str, language: str = "en") -> str:
    """The main area of a page a tab may not see (403) or that does not exist (404)."""
    say = strings(language)
    if status == 403:
        title, text = say["forbidden_title"], say["forbidden"]
    else:
        title, text = say["not_found_title"], say["not_found"].replace("{path}", path)
    return (f'<div class="stgo-w stgo-refusal" data-kind="refusal" data-status="{status}" '
            f'role="alert"><h1>{status} {esc(title)}</h1><p>{esc(text)}</p></div>')


def render_page(title: str, roots: dict[str, str], *, version: str, path: str = "/",
                base: str = "./", status: int = 200, look: Look | None = None) -> str:
    """The whole document.  URLs are relative to *base* (the app's root,
    see :func:`base_href`) so the app works under any prefix and on any page.
    *version* keys the static files' URLs (``stgo.web.client.VERSION``): three
    requests for a new visitor (this, the CSS, the client), none for the two
    files on a return.

    No session ID anywhere in it: the WebSocket handshake carries the
    ``HttpOnly`` cookie, and no page script can read either.
    """
    sidebar = roots.get("sidebar", "")
    topbar = roots.get("topbar", "")
    has_sidebar = " stgo-has-sidebar" if sidebar else ""
    look = look or Look()
    say = strings(look.language)
    # Data, not a script: the strict CSP runs no inline script (static/strings.js reads it).
    words = json.dumps(dict(say), ensure_ascii=True).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{esc(look.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{esc(title)}</title>
<base href="{esc(base)}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/v/{esc(version)}/stgo.css">
</head>
<body>
<div id="stgo-app" class="stgo-app{has_sidebar}" data-page="{esc(path)}" data-status="{status}" \
data-layout="{esc(look.layout)}">
<button type="button" id="stgo-menu" class="stgo-menu" aria-controls="stgo-sidebar" \
aria-expanded="false">{esc(say["menu"])}</button>
<aside id="stgo-sidebar" class="stgo-sidebar" data-children>{sidebar}</aside>
<main class="stgo-main">
<div id="stgo-status" class="stgo-status" role="status" aria-live="polite" hidden></div>
<div id="stgo-alerts" class="stgo-alerts" aria-live="assertive"></div>
<div id="stgo-topbar" class="stgo-topbar" data-children>{topbar}</div>
<div id="stgo-global" data-children>{roots.get("global", "")}</div>
<div id="stgo-session" data-children>{roots.get("session", "")}</div>
</main>
</div>
<script type="application/json" id="stgo-strings">{words}</script>
<script type="module" src="static/v/{esc(version)}/client.js"></script>
</body>
</html>
"""


def render_error_page(status: int, title: str, message: str, *,
                      home: str | None = None, language: str = "en") -> str:
    """A minimal page for errors shown to a person (503 when full, 404, and so on).

    :param home: a relative URL of the app's first page, linked from it.
    """
    go = strings(language)["go_to_app"]
    link = f'<p><a href="{esc(home)}">{esc(go)}</a></p>' if home is not None else ""
    return (
        f'<!doctype html><html lang="{esc(language)}"><head><meta charset="utf-8"><title>{status} '
        f'{esc(title)}</title></head><body><h1>{esc(title)}</h1><p>{esc(message)}</p>'
        f"{link}</body></html>"
    )
