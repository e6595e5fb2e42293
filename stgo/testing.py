"""Drive an app headlessly in tests: sessions, clicks, typing, reading the page.

:class:`AppTester` goes through the same path as the server — the
:class:`~stgo.core.dispatch.Dispatcher`, session state, the hub's batching and the
widgets' HTML — with an in-memory connection instead of a WebSocket::

    from stgo.testing import AppTester

    def test_counter():
        with AppTester.from_file("examples/counter.py") as tester:
            alice, bob = tester.new_session(), tester.new_session()
            alice.click("Increment")
            assert alice.value("Your clicks") == 1
            assert bob.value("Clicks by everyone") == 1

A pytest fixture named ``app_tester`` is available once stgo is installed:
``def test_x(app_tester): tester = app_tester("examples/counter.py")``.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from html import unescape
from typing import Any

from . import protocol
from .app import App
from .cli import load_app
from .core.dispatch import Dispatcher
from .core.identity import User
from .core.session import Session
from .core.tabs import clean_query
from .core.tabvalues import drawing
from .errors import ConfigurationError
from .protocol import OutKey
from .web.transfers import shown_to
from .widgets.base import InputWidget, Widget
from .widgets.charts import Chart
from .widgets.chat import ChatInput
from .widgets.choice import Choice
from .widgets.dataframe import Dataframe
from .widgets.editor import DataEditor
from .widgets.files import DownloadButton, FileUploader
from .widgets.forms import Form, SubmitButton, form_of

__all__ = ["AppTester", "SessionTester", "LocalConnection", "app_tester"]


class LocalConnection:
    """An in-memory stand-in for a WebSocket: it keeps what the hub sends.

    :param on_close: called with the close code once it closed (outside its lock).
    """

    def __init__(self, on_close: Callable[[int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._on_close = on_close
        self.messages: list[dict[str, Any]] = []
        self.open = True
        self.close_code: int | None = None
        #: Every close code, oldest first (a tab reopened after a rotation closes again).
        self.close_codes: list[int] = []

    def send(self, text: str, key: OutKey | None = None) -> bool:
        with self._lock:
            if not self.open:
                return False
            self.messages.append(json.loads(text))
            return True

    def close(self, code: int = 1000, reason: str = "", final: str | None = None) -> None:
        with self._lock:
            if not self.open:
                return
            if final is not None:
                self.messages.append(json.loads(final))
            self.open = False
            self.close_code = code
            self.close_codes.append(code)
        if self._on_close is not None:
            self._on_close(code)

    def reopen(self) -> None:
        """Open again (a reconnect), keeping the messages so far."""
        with self._lock:
            self.open = True


class SessionTester:
    """One browser tab on a session: send events, read what it shows.

    Like a browser's tab, it reconnects by itself after an ID rotation made
    by an event (``app.rotate_session`` in a callback): the tab stays on the
    session.  A rotation from outside any event leaves it closed (a browser
    would reload into a fresh session: open one with :meth:`AppTester.new_session`).
    """

    def __init__(self, tester: AppTester, session: Session, client: str = "127.0.0.1", *,
                 query: dict[str, str] | None = None, tab_id: str | None = None) -> None:
        self.tester = tester
        self.session = session
        #: The client address its events come from (``app.client_address``).
        self.client = client
        self._seq = 0
        # What this tab typed into forms and has not submitted: form -> {input id: value}.
        self._drafts: dict[Form, dict[str, Any]] = {}
        self._open(tab_id, "/", clean_query(query or {}))

    def _open(self, tab_id: str | None, path: str, query: dict[str, str]) -> None:
        """Connect, as a page load does: this tab (its ID, page and URL query)
        on a new connection, its page's ``on_open`` hooks, a full render."""
        app, session = self.tester.app, self.session
        self.conn = LocalConnection(on_close=self._closed)
        session.attach()
        tab = app.tab_registry.open(session, tab_id, path=path, query=query)
        app.tab_registry.bind(tab, self.conn)
        with app.hub.batch(origin=session, conn=self.conn):
            app.open_page(tab)
        app.hub.register(session, self.conn)
        app.hub.full_update(session, self.conn)
        self._dispatch = Dispatcher(app, session, self.conn, self.client)

    def reload(self) -> SessionTester:
        """Reload this tab, as the browser's reload button does: a new
        connection of the same tab (its ID, page and URL query kept); return it."""
        tab = self.tab
        self.close()
        self._drafts.clear()
        self._open(tab.id, tab.path, tab.query)
        return self

    def _closed(self, code: int) -> None:
        if code != protocol.CLOSE_ROTATED or self.session.ended:
            return
        # The browser traded its token (or waited for the shared cookie) and
        # reconnected: the same session, a full render.
        hub = self.tester.app.hub
        hub.unregister(self.session, self.conn)
        self.conn.reopen()
        hub.register(self.session, self.conn)
        hub.full_update(self.session, self.conn)

    # -- finding widgets ---------------------------------------------------------

    def _visible_widgets(self) -> Iterator[Widget]:
        router = self.tester.app.router
        path = self.path
        for top in [*router.shared_tops(self.session, path),
                    *router.private_tops(self.session, path)]:
            yield from top.walk()

    @property
    def path(self) -> str:
        """The page this tab shows (``"/"`` until :meth:`navigate` moves it)."""
        tab = self.tester.app.tab_registry.of(self.conn)
        return tab.path if tab is not None else "/"

    @property
    def tab(self) -> Any:
        """This tab's :class:`~stgo.core.tabs.BrowserTab`: its ID, page, URL query."""
        return self.tester.app.tab_registry.of(self.conn)

    @property
    def query(self) -> dict[str, str]:
        """This tab's URL query (``?region=north`` is ``{"region": "north"}``)."""
        tab = self.tab
        return tab.query if tab is not None else {}

    def _drawing(self) -> Any:
        """Read the session's per-tab values as this tab's (``scope="tab"``, ``bind="query"``)."""
        tab = self.tab
        return drawing(self.session, tab.id if tab else None, tab.query if tab else None)

    def navigate(self, path: str, query: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Follow a link to the page at *path*, as the browser would; return
        the messages it caused (a ``render`` of that page)."""
        before = len(self.conn.messages)
        frame = {"v": 1, "type": "navigate", "path": path, "query": query or {}}
        self._dispatch(json.dumps(frame))
        return self.conn.messages[before:]

    def find(self, name: str) -> Widget:
        """The widget this session sees whose key, ID, label or text is *name*.

        :raises KeyError: none matches; the message lists what there is.
        """
        widgets = list(self._visible_widgets())
        for attr in ("key", "id", "label", "text"):
            for widget in widgets:
                if getattr(widget, attr, None) == name:
                    return widget
        keys = {w.key for w in widgets if w.key != w.id}  # not the generated IDs
        labels = {str(getattr(w, "label", "")) for w in widgets}
        names = sorted((keys | labels) - {""})
        raise KeyError(f"no widget with key or label {name!r}; this session sees {names}")

    # -- acting -------------------------------------------------------------------------

    def send(self, widget: Widget | str, event: str, value: Any = None) -> list[dict[str, Any]]:
        """Send one raw event, as the browser would; return the messages it caused."""
        target = self.find(widget) if isinstance(widget, str) else widget
        self._seq += 1
        before = len(self.conn.messages)
        frame = {"v": 1, "type": "event", "widget": target.id, "event": event,
                 "value": value, "seq": self._seq}
        self._dispatch(json.dumps(frame))
        return self.conn.messages[before:]

    def click(self, button: Widget | str) -> list[dict[str, Any]]:
        """Click a button (by key, label or object).

        A form's submit button submits the form with what this tab typed into it.
        """
        target = self.find(button) if isinstance(button, str) else button
        form = form_of(target)
        if isinstance(target, SubmitButton) and form is not None:
            return self.submit(form)
        return self.send(target, "click", True)

    def set_value(self, widget: Widget | str, value: Any) -> list[dict[str, Any]]:
        """Change an input as a user would, given the Python value: a date, a
        ``(low, high)`` tuple, a list of options ... (for selectbox/radio, the
        option or its index)."""
        target = self.find(widget) if isinstance(widget, str) else widget
        if isinstance(target, ChatInput):
            return self.send(target, "submit", value)  # Enter sends a chat message
        form = form_of(target)
        if form is not None and isinstance(target, InputWidget):
            # As in a browser: kept in the tab until the form is submitted.
            self._drafts.setdefault(form, {})[target.id] = self._wire(target, value)
            return []
        return self.send(target, "change", self._wire(target, value))

    @staticmethod
    def _wire(target: Widget, value: Any) -> Any:
        """*value* as *target*'s element in a browser would send it."""
        if isinstance(target, Choice):
            options = target.options
            if not isinstance(value, int) and value in options:
                return options.index(value)
            return value
        if isinstance(target, InputWidget):
            return target.to_client(value)
        return value

    def submit(self, form: Form | str, values: dict[str, Any] | None = None
               ) -> list[dict[str, Any]]:
        """Fill in a form and submit it, as a user would.

        :param values: ``{key or label: Python value}`` of the fields typed in;
            the fields typed with :meth:`set_value` since the last submit keep
            that value, the others are sent as this session sees them.
        """
        target = self.find(form) if isinstance(form, str) else form
        if not isinstance(target, Form):
            raise TypeError(f"{target!r} is not a form")
        given = dict(values or {})
        drafts = self._drafts.pop(target, {})
        frame: dict[str, Any] = {}
        for field in target.inputs():
            for name in (field.key, field.label):
                if name in given:
                    frame[field.id] = self._wire(field, given.pop(name))
                    break
            else:
                if field.id in drafts:
                    frame[field.id] = drafts[field.id]
                elif not (isinstance(field, Choice) and field.client_value(self.session) < 0):
                    # (a choice with nothing chosen sends nothing, as in a browser)
                    frame[field.id] = field.client_value(self.session)
        if given:
            raise KeyError(f"form {target.key!r} has no field {next(iter(given))!r}")
        return self.send(target, "submit", frame)

    def chat(self, widget: Widget | str, text: str) -> list[dict[str, Any]]:
        """Send *text* from a chat input."""
        return self.send(widget, "submit", text)

    @property
    def toasts(self) -> list[str]:
        """The text of every toast this tab was shown, oldest first."""
        return [m["text"] for m in self.conn.messages if m["type"] == "toast"]

    def type(self, widget: Widget | str, text: str) -> list[dict[str, Any]]:
        """Type *text* into a text field (sent as one change, like on Enter;
        a chat input sends it as a message)."""
        return self.set_value(widget, text)

    def upload(self, widget: Widget | str, name: str, data: bytes | str,
               type: str | None = None) -> list[dict[str, Any]]:
        """Upload a file into an uploader as the browser would, and send its change.

        The server's checks apply (visible, enabled, size, type, name); a
        refusal shows in :attr:`errors` and the callbacks do not run.
        :meth:`upload_many` uploads several files in one choice.
        """
        return self.upload_many(widget, [(name, data, type)])

    def upload_many(self, widget: Widget | str,
                    files: list[tuple[str, bytes | str, str | None]]) -> list[dict[str, Any]]:
        """Upload several ``(name, data, type)`` files in one choice."""
        target = self.find(widget) if isinstance(widget, str) else widget
        transfers = self.tester.app.transfers
        tokens = []
        for name, data, mime in files:
            body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            checked = transfers.check(self.session, target, name, len(body))
            if isinstance(checked, tuple):
                return self._refused(checked[1])
            assert isinstance(target, FileUploader)
            stored = transfers.store(self.session, target, checked, len(body), mime,
                                     io.BytesIO(body))
            if isinstance(stored[0], int):
                return self._refused(str(stored[1]))
            tokens.append(stored[0])
        return self.send(target, "change", tokens)

    def clear_upload(self, widget: Widget | str) -> list[dict[str, Any]]:
        """Remove the uploaded file(s), as the uploader's Remove button does."""
        return self.send(widget, "change", None)

    def _refused(self, message: str) -> list[dict[str, Any]]:
        msg = {"v": 1, "type": "error", "message": message}
        self.conn.messages.append(msg)
        return [msg]

    def download(self, widget: Widget | str) -> tuple[bytes, str, str]:
        """Click a download button: ``(content, file name, MIME type)``.

        The click event goes to its handlers first, as in the browser.
        """
        target = self.find(widget) if isinstance(widget, str) else widget
        if not isinstance(target, DownloadButton):
            raise TypeError(f"{target!r} is not a download button")
        self.click(target)
        body, mime = target.produce(self.session)
        return body, target.file_name, mime

    def select_rows(self, table: Widget | str, rows: list[int]) -> list[dict[str, Any]]:
        """Select rows of a dataframe by row number (the whole new selection)."""
        return self.send(table, "select", list(rows))

    def sort(self, table: Widget | str, column: int | str) -> list[dict[str, Any]]:
        """Click a dataframe column's header (by number or name)."""
        target = self.find(table) if isinstance(table, str) else table
        if isinstance(column, str) and isinstance(target, Dataframe):
            column = target.data.columns.index(column)
        return self.send(target, "sort", column)

    def page(self, table: Widget | str, number: int) -> list[dict[str, Any]]:
        """Go to page *number* (from 0) of a dataframe."""
        return self.send(table, "page", number)

    def table_rows(self, table: Widget | str) -> list[list[str]]:
        """The cells this session sees on a table's current page, as text."""
        target = self.find(table) if isinstance(table, str) else table
        html = target.render(self.session)
        rows = re.findall(r"<tr[^>]*data-row=[^>]*>(.*?)</tr>", html, re.S) or \
            re.findall(r"<tbody>.*?</tbody>", html, re.S)
        out = []
        for row in rows:
            cells = re.findall(r"<t[dh](?![^>]*stgo-select)[^>]*>(.*?)</t[dh]>", row, re.S)
            out.append([unescape(c) for c in cells])
        return out

    def edit_cell(self, editor: Widget | str, row: int, column: str,
                  value: Any) -> list[dict[str, Any]]:
        """Edit one cell of a data editor (row from 0, column by name) as a user
        would: a select cell by its option, a date cell by a date."""
        target = self.find(editor) if isinstance(editor, str) else editor
        if isinstance(target, DataEditor):
            value = target.cell_to_client(column, value)
        return self.send(target, "edited", {"row": row, "column": column, "value": value})

    def add_row(self, editor: Widget | str,
                values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Add a row to a data editor (``num_rows="dynamic"``), with *values* typed in."""
        target = self.find(editor) if isinstance(editor, str) else editor
        if isinstance(target, DataEditor) and values:
            values = {c: target.cell_to_client(c, v) for c, v in values.items()}
        return self.send(target, "added", values or None)

    def delete_rows(self, editor: Widget | str, rows: list[int]) -> list[dict[str, Any]]:
        """Delete rows of a data editor by row number (from 0)."""
        return self.send(editor, "deleted", list(rows))

    def chart_data(self, chart: Widget | str) -> dict[str, list[Any]]:
        """A chart's data as columns (x first), as its tabs show it."""
        target = self.find(chart) if isinstance(chart, str) else chart
        if not isinstance(target, Chart):
            raise TypeError(f"{target!r} is not a chart with data")
        return target.data

    # -- reading -----------------------------------------------------------------------------

    def value(self, widget: Widget | str) -> Any:
        """The value a widget shows to this session.

        For an input, this session's own value (what ``session.get(key)``
        holds, or the initial value); for a widget with a ``value`` of its
        own (metric, progress), that value.
        """
        target = self.find(widget) if isinstance(widget, str) else widget
        if isinstance(target, InputWidget):
            with self._drawing():  # this tab's own value, if it has one
                return target.value_for(self.session)
        if not hasattr(target, "value"):
            raise TypeError(f"{target!r} has no value; read its text with .text()")
        return target.value

    def text(self, widget: Widget | str) -> str:
        """The text of a text-like widget (text, headers, alerts, captions...)."""
        target = self.find(widget) if isinstance(widget, str) else widget
        text = getattr(target, "text", None)
        if not isinstance(text, str):
            raise TypeError(f"{target!r} has no text; read its value with .value()")
        return text

    def texts(self) -> list[str]:
        """The text of every visible text-like widget this session sees, in page order."""
        found = [(w, getattr(w, "text", None)) for w in self._visible_widgets()]
        return [text for w, text in found if isinstance(text, str) and shown_to(w)]

    @property
    def state(self) -> dict[str, Any]:
        """A copy of the session's state."""
        return self.session.items()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message this tab received, oldest first."""
        return list(self.conn.messages)

    @property
    def errors(self) -> list[str]:
        """The error messages this tab was shown."""
        return [m["message"] for m in self.conn.messages if m["type"] == "error"]

    @property
    def expired(self) -> bool:
        """Whether the server told this tab its session expired."""
        return any(m["type"] == "expired" for m in self.conn.messages)

    def html(self) -> str:
        """The page as the server would render it now for this session."""
        with self._drawing():
            roots = self.tester.app.render_roots(self.session, self.path)
        return roots["global"] + roots["sidebar"] + roots["session"]

    def close(self) -> None:
        """Close this tab (the session lives on)."""
        if self.conn.open:
            self.conn.close()
            self.tester.app.hub.unregister(self.session, self.conn)
            self.tester.app.tab_registry.unbind(self.conn)
            self.session.detach()

    def new_tab(self, query: dict[str, str] | None = None) -> SessionTester:
        """Open another tab on the same session (from the same address), with
        its own per-tab values (``scope="tab"``) and URL *query* (``bind="query"``)."""
        return self.tester.tab(self.session, client=self.client, query=query)


class AppTester:
    """Runs an App without a server.

    :param app: an App, or the path of an app file (loaded like ``stgo run``).
    """

    def __init__(self, app: App | str | os.PathLike[str]) -> None:
        self.app = app if isinstance(app, App) else load_app(app)
        self.tabs: list[SessionTester] = []

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> AppTester:
        """Load the app file at *path*."""
        return cls(path)

    def new_session(self, client: str = "127.0.0.1", *,
                    query: dict[str, str] | None = None) -> SessionTester:
        """A new browser: a fresh session (start hooks run) and one tab on it.

        :param client: the address its events come from.
        :param query: the tab's URL query (``{"region": "north"}``).
        """
        return self.tab(self.app.sessions.create(), client=client, query=query)

    def session(self, user: User | None = None, client: str = "127.0.0.1") -> SessionTester:
        """A new browser (a fresh session and one tab on it), signed in as
        *user* without any provider, as a real sign-in would (a new session
        ID, ``on_login`` hooks, ``session_page`` drawn for the user).

        :raises ConfigurationError: *user* is given and the app has no ``auth=``.
        """
        session = self.app.sessions.create()
        if user is not None:
            identity = self.app._identity
            if identity is None:
                raise ConfigurationError(
                    "tester.session(user=...) needs an app with auth= (stgo.OIDC or "
                    "stgo.ProxyAuth)")
            identity.sign_in(session, user, cookie_follows=True)
        return self.tab(session, client=client)

    def tab(self, session: Session, client: str = "127.0.0.1", *,
            query: dict[str, str] | None = None, tab_id: str | None = None) -> SessionTester:
        """A new tab on an existing *session*, its events from *client*, its
        URL query *query*; *tab_id* names the browser tab (that tab reloaded,
        or reconnected to another process: its per-tab values are kept)."""
        tab = SessionTester(self, session, client, query=query, tab_id=tab_id)
        self.tabs.append(tab)
        return tab

    def expire_idle(self, seconds: float) -> int:
        """Pretend *seconds* passed with no activity; return how many sessions expired."""
        return self.app.sessions.cleanup_expired(now=self.app.sessions.clock() + seconds)

    def close(self) -> None:
        """Close every tab and end every session (reason ``"shutdown"``)."""
        for tab in self.tabs:
            tab.close()
        self.app.stop()

    def __enter__(self) -> AppTester:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def app_tester() -> Iterator[Callable[[App | str], AppTester]]:
    """The pytest fixture behind ``app_tester`` (registered via the pytest11 entry point)."""
    made: list[AppTester] = []

    def make(app: App | str) -> AppTester:
        tester = AppTester(app)
        made.append(tester)
        return tester

    yield make
    for tester in made:
        tester.close()
