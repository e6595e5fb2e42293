"""The HTML shell of a page: server-rendered widgets plus the client script."""

from __future__ import annotations

from .widgets.base import esc

__all__ = ["render_page", "render_error_page"]


def render_page(title: str, roots: dict[str, str], *, version: str) -> str:
    """The whole document.  URLs are relative so the app works under any prefix.

    No session ID anywhere in it: the WebSocket handshake carries the
    ``HttpOnly`` cookie, and no page script can read either.
    """
    sidebar = roots.get("sidebar", "")
    has_sidebar = " stgo-has-sidebar" if sidebar else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/stgo.css?v={esc(version)}">
</head>
<body>
<div id="stgo-app" class="stgo-app{has_sidebar}">
<aside id="stgo-sidebar" class="stgo-sidebar" data-children>{sidebar}</aside>
<main class="stgo-main">
<div id="stgo-status" class="stgo-status" role="status" aria-live="polite" hidden></div>
<div id="stgo-alerts" class="stgo-alerts" aria-live="assertive"></div>
<div id="stgo-global" data-children>{roots.get("global", "")}</div>
<div id="stgo-session" data-children>{roots.get("session", "")}</div>
</main>
</div>
<script src="static/stgo.js?v={esc(version)}" defer></script>
</body>
</html>
"""


def render_error_page(status: int, title: str, message: str) -> str:
    """A minimal page for errors shown to a person (503 when full, and so on)."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{status} '
        f'{esc(title)}</title></head><body><h1>{esc(title)}</h1><p>{esc(message)}</p>'
        "</body></html>"
    )
