"""Several pages in one app: links, the back button, URL query parameters,
per-tab state, a page behind an access check, and what the proxy said.

Run it with ``python -m stgo run examples/multipage.py`` (or ``stgo run ...``),
type your name on the first page, then follow the links: the session, and
the name, come along; the back button works; a page's URL can be bookmarked.
"""

from typing import Any

import stgo

app = stgo.App(title="Multipage")
app.navigation()                      # the list of pages, in the sidebar

# -- "/": the App's own page --------------------------------------------------------
app.title("Home")
app.text_input("Your name", key="name", placeholder="Type it, then open another page")
app.page_link("/reports", label="See the reports", icon="📊")
login = app.button("Log in as admin", key="login")


@login.on_click
def log_in(session: stgo.Session, event: str, value: Any) -> None:
    session.set("admin", True)
    session.navigate("/admin")


# -- "/reports": shared widgets of its own, and query parameters ------------------
reports = app.page("/reports", title="Reports", icon="📊")
reports.title("Reports")
# The same key as on "/": the same value (input values live in the session).
reports.text_input("Your name", key="name")
region = reports.selectbox("Region", ["north", "south", "east", "west"], key="region")
reports.page_link("/", label="Back home")


@region.on_change
def region_chosen(session: stgo.Session, event: str, value: Any) -> None:
    # Only the tab that changed it: its URL becomes /reports?region=...
    session.tab.update_query(region=value)


@reports.on_open
def opened(session: stgo.Session, tab: Any) -> None:
    """Each time a tab opens the page: draw its private part from the URL."""
    box = reports.private(session)
    box.clear()
    wanted = tab.query.get("region")
    if wanted in region.options:
        session.set("region", wanted)
    box.caption(f"Opened with {tab.query or 'no query parameters'}")


# -- "/notes": a draft per tab ------------------------------------------------------
notes = app.page("/notes", title="Notes", icon="📝")
notes.title("Notes")
notes.caption("A draft is per tab: open this page in two tabs and save a draft in each.")
draft = notes.text_input("Draft", key="draft_input")
save = notes.button("Save draft to this tab", key="save_draft")
show = notes.button("Show this tab's draft", key="show_draft")


@save.on_click
def save_draft(session: stgo.Session, event: str, value: Any) -> None:
    session.tab.state.set("draft", session.get("draft_input", ""))


@show.on_click
def show_draft(session: stgo.Session, event: str, value: Any) -> None:
    box = notes.private(session)
    box.clear()
    box.text(f"This tab's draft: {session.tab.state.get('draft', '(none)')}", key="tab_draft")


# -- "/admin": behind an access check -----------------------------------------------
admin = app.page("/admin", title="Admin", icon="🔒",
                 access=lambda session: bool(session.get("admin")))
admin.title("Admin")
admin.success("You may see this page.")


@admin.on_open
def who(session: stgo.Session, tab: Any) -> None:
    box = admin.private(session)
    box.clear()
    user = session.request.headers.get("X-Forwarded-User", "nobody (no proxy said)")
    box.text(f"Signed in by the proxy as: {user}", key="proxy_user")
    box.text(f"Your address: {session.request.client_address}", key="address")
