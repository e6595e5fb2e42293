"""The widget base classes: identity, visibility, handlers, change notification.

A widget knows nothing of sessions, sockets or the App.  Its owner (the App for
global widgets, a Session for private ones) attaches a *notify* callback; the
widget calls it with a change kind whenever what it shows changes:

- ``"update"``: re-render this widget;
- ``"value"``: only the shared value of an input changed;
- ``"insert"`` / ``"remove"``: the widget entered or left a container;
- ``"adopt"``: a container is about to take the widget in; the owner raises
  :class:`~stgo.errors.WidgetError` to refuse it (a key already on the page).

Rendering takes a :class:`StateReader` (in practice the Session being drawn)
so that input widgets show that session's own value.
"""

from __future__ import annotations

import functools
import html
import inspect
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, Protocol

from ..errors import ProtocolError, WidgetError
from .scope import checked_scope

__all__ = [
    "Widget", "InputWidget", "StateReader", "Parent", "Handler", "Notify", "Event", "esc",
    "check_callback", "valid_unicode", "positive_int",
]

#: ``fn(session, event, value)``; the session is typed loosely to keep widgets
#: at the bottom of the import graph.
Handler = Callable[..., None]
Notify = Callable[["Widget", str], None]


class Event(str):
    """The *event* a handler receives: its name (``"click"``, ``"change"`` ...),
    which is a plain ``str`` (``event == "click"`` holds), plus the widget that fired.

    One handler can so serve a list of rows: ``event.widget.key`` tells which
    row's button was pressed (or pass ``args=`` / ``kwargs=`` when registering).
    """

    widget: Widget

    def __new__(cls, name: str, widget: Widget) -> Event:
        event = super().__new__(cls, name)
        event.widget = widget
        return event

    @property
    def name(self) -> str:
        """The event's name as a plain string."""
        return str.__str__(self)

    @property
    def key(self) -> str:
        """The key of the widget that fired."""
        return self.widget.key


def bind_args(fn: Handler, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> Handler:
    """*fn* with extra arguments after ``(session, event, value)``, as Streamlit's
    ``args=`` / ``kwargs=``; *fn* itself when there are none."""
    if not args and not kwargs:
        return fn
    extra = dict(kwargs or {})

    def bound(session: Any, event: str, value: Any) -> None:
        fn(session, event, value, *args, **extra)

    bound.__qualname__ = getattr(fn, "__qualname__", repr(fn))
    bound.__wrapped__ = fn  # type: ignore[attr-defined]
    return bound


class StateReader(Protocol):
    """What rendering needs from a session: read a value by key."""

    def get(self, key: str, default: Any = None) -> Any: ...


class Parent(Protocol):
    """What a widget needs from the container it sits in (a
    :class:`~stgo.widgets.layout.Group`): who it is, the container around
    it, whether it is shown, and taking the widget out.

    Defined here so that this module never imports the containers, which
    are widgets themselves.
    """

    @property
    def id(self) -> str:
        """The container's DOM id."""

    @property
    def key(self) -> str:
        """The container's key."""

    @property
    def kind(self) -> str:
        """The container's type name."""

    @property
    def parent(self) -> Parent | None:
        """The container around this one; ``None`` at the top."""

    def shown_to(self, state: StateReader | None) -> bool:
        """Whether the container itself is shown to the session *state*."""

    def remove_child(self, widget: Widget) -> bool:
        """Remove the direct child *widget*; return whether it was there."""


_SURROGATE = re.compile("[\ud800-\udfff]")
#: Every widget ID is ``w`` and 12 hex digits: a name of another length is a key.
WIDGET_ID_LENGTH = 13


def esc(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def positive_int(value: Any) -> bool:
    """Whether *value* is a whole number above 0: an int, not a bool
    (``True`` is 1 in Python, but ``max_chars=True`` is a mistake)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def valid_unicode(text: str) -> str:
    """*text* with any lone surrogate replaced by U+FFFD.

    A surrogate cannot be encoded as UTF-8: one left in a widget's HTML would
    make the whole page fail to encode, for every session that shows it.
    """
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub("\ufffd", text)


def check_callback(
    fn: object, params: tuple[str, ...], what: str, *, keywords: tuple[str, ...] = (),
) -> None:
    """Refuse *fn* unless it is callable with the positional *params*
    (and the keyword arguments named in *keywords*: a handler's ``kwargs=``).

    Run when a handler or hook is registered, so a mistake shows at start-up
    instead of on the first click.  Anything :func:`inspect.signature` cannot
    read (some builtins) is given the benefit of the doubt.

    :raises WidgetError: *fn* is not callable or cannot take *params*.
    """
    wanted = f"{what} must be a function taking ({', '.join(params)})"
    if not callable(fn):
        raise WidgetError(f"{wanted}; got {fn!r}, which is not callable")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*params, **dict.fromkeys(keywords))
    except TypeError as exc:
        name = getattr(fn, "__qualname__", repr(fn))
        short = getattr(fn, "__name__", "")
        short = short if short.isidentifier() else "handler"
        raise WidgetError(
            f"{wanted}; {name}{signature} cannot ({exc}): "
            f"write it as `def {short}({', '.join(params)}):`"
        ) from None


class Widget:
    """Base of every widget.

    :param key: a stable name, unique on a page, used to find the widget
        (``session.widget(key)``) and, for inputs, the session-state key of
        its value.  ``None`` means the widget's generated ID.
    :param visible: whether it is shown; change later with :meth:`show`,
        :meth:`hide` or the :attr:`visible` property.
    """

    #: The widget's type name, sent to the client and used in CSS classes.
    kind: ClassVar[str] = "widget"
    #: Events a client may send for this widget; anything else is refused.
    events: ClassVar[tuple[str, ...]] = ()
    #: What a handler of an event is called with, checked by :meth:`on` when
    #: it is registered; events not listed take ``(session, event, value)``.
    handler_params: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: A change to ``session.get(key)`` redraws the whole widget for that
    #: session (an uploader's file list, a table's selection), not just an
    #: input's value.
    redraw_on_state: ClassVar[bool] = False

    def __init__(self, *, key: str | None = None, visible: bool = True) -> None:
        self.id = "w" + secrets.token_hex(6)  # WIDGET_ID_LENGTH
        if key is not None and (not isinstance(key, str) or not key):
            raise WidgetError(f"key must be a non-empty string, got {key!r}")
        self.key: str = key if key is not None else self.id
        self._visible = visible
        self.parent: Parent | None = None
        self._notify: Notify | None = None
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r}>"

    # -- ownership ------------------------------------------------------------

    def attach(self, parent: Parent | None, notify: Notify) -> None:
        """Called by the owner when the widget joins a page."""
        if self._notify is not None and self._notify != notify:
            raise WidgetError(
                f"{self!r} is already on a page; a widget object belongs to one owner "
                "(create another widget for another session)"
            )
        self.parent = parent
        self._notify = notify

    def detach(self) -> None:
        """Called by the owner when the widget leaves the page."""
        self.parent = None
        self._notify = None

    @property
    def attached(self) -> bool:
        """Whether the widget is on a page."""
        return self._notify is not None

    def walk(self) -> Iterator[Widget]:
        """Yield this widget and, for containers, every descendant."""
        yield self

    def changed(self, change: str = "update") -> None:
        """Tell the owner that this widget must be redrawn."""
        notify = self._notify
        if notify is not None:
            notify(self, change)

    # -- visibility -------------------------------------------------------------

    @property
    def visible(self) -> bool:
        """Whether the widget is shown."""
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._visible = bool(value)
        self.changed()

    def show(self) -> None:
        """Make the widget visible and push that."""
        self.visible = True

    def hide(self) -> None:
        """Hide the widget and push that."""
        self.visible = False

    # -- events ---------------------------------------------------------------

    def on(
        self, event: str, fn: Handler, *, args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Handler:
        """Register ``fn(session, event, value)`` for *event*; returns *fn*.

        :param args: extra positional arguments passed after *value*
            (``fn(session, event, value, *args, **kwargs)``), so one function
            serves many widgets; ``event.widget`` also names the one that fired.
        :param kwargs: extra keyword arguments, likewise.
        """
        if event not in self.events:
            raise WidgetError(
                f"{type(self).__name__} has no {event!r} event; it has {list(self.events)}"
            )
        params = self.handler_params.get(event, ("session", "event", "value"))
        extra = tuple(f"args[{i}]" for i in range(len(args)))
        check_callback(fn, params + extra, f"a {event!r} handler", keywords=tuple(kwargs or ()))
        self._handlers.setdefault(event, []).append(bind_args(fn, tuple(args), kwargs))
        return fn

    def on_change(
        self, fn: Handler | None = None, *, args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Register ``fn(session, event, value)`` for changes; usable as a decorator
        (``@w.on_change`` or ``@w.on_change(args=(row,))``).

        :raises WidgetError: the widget takes no input (a text, a table...):
            only inputs and buttons have user events.
        """
        return self._register("change", fn, args, kwargs)

    def _register(
        self, event: str, fn: Handler | None, args: tuple[Any, ...],
        kwargs: dict[str, Any] | None,
    ) -> Any:
        if fn is None:
            return lambda f: self.on(event, f, args=args, kwargs=kwargs)
        return self.on(event, fn, args=args, kwargs=kwargs)

    def after_event(self, session: Any, event: str, value: Any) -> None:
        """Run after every handler of an event succeeded (a form clears itself)."""

    def handlers(self, event: str) -> list[Handler]:
        """The handlers registered for *event* (a copy)."""
        return list(self._handlers.get(event, ()))

    def shown_to(self, state: StateReader | None) -> bool:
        """Whether this widget itself (its containers aside) is shown to the
        session *state*; ``None`` asks only what is alike for every session.

        A hidden widget is shown to nobody; a dialog only to the sessions
        that opened it.
        """
        return self._visible

    def refusal(self, state: StateReader | None = None) -> str | None:
        """Why the user of the session *state* may not act on this widget now
        (``None``: they may).

        A user can only use what they are shown: a widget that is hidden,
        disabled, or inside a container not shown to them (hidden, a dialog
        they have not opened) takes no events, whatever a client sends.  A
        closed expander or an inactive tab is still shown.  With *state*
        ``None`` only what is alike for every session is checked.
        """
        if getattr(self, "disabled", False):
            return f"widget {self.key!r} is disabled"
        node: Widget | Parent | None = self
        while node is not None:
            if not node.shown_to(state):
                where = "" if node is self else f" (in {node.kind} {node.key!r})"
                return f"widget {self.key!r} is hidden{where}"
            node = node.parent
        return None

    def coerce(self, event: str, value: Any) -> Any:
        """Check an event from a client and return the value to dispatch.

        :raises ProtocolError: the widget has no such event or the value is
            of the wrong type.
        """
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        return value

    def receive(self, session: Any, event: str, value: Any) -> Any:
        """Take in an event from *session* already checked by :meth:`coerce`.

        Runs before the event's handlers; returns the value they get.  Inputs
        store their value here (a form, all of its inputs' values); a widget
        with a view of its own (a table's sort and page) updates it.  The
        default changes nothing.

        :raises ProtocolError: the event cannot apply to this session (the
            handlers do not run; the client is told why).
        """
        return value

    def change_op(self, change: str) -> dict[str, Any] | None:
        """The protocol op for a change kind of this widget's own (a chart's ``"extend"``).

        Called once per push for global widgets; ``None`` means nothing to send.
        """
        return None

    # -- rendering ------------------------------------------------------------

    @property
    def per_session(self) -> bool:
        """Whether the rendering depends on the session (input values)."""
        return False

    def render(self, state: StateReader | None = None) -> str:
        """The widget's HTML, with every user text escaped."""
        hidden = "" if self._visible else " hidden"
        return valid_unicode(
            f'<div class="stgo-w stgo-{self.kind}" id="{self.id}" '
            f'data-key="{esc(self.key)}" data-kind="{self.kind}"{self.root_attrs()}{hidden}>'
            f"{self.render_body(state)}</div>"
        )

    def root_attrs(self) -> str:
        """Extra attributes for the root element, each with a leading space.

        The wrapper itself (class, id, data-key, data-kind, hidden) is what the
        client relies on; a subclass may only add to it (tab panels add
        ``role="tabpanel"``).  Values must be escaped by the subclass.
        """
        return ""

    def render_body(self, state: StateReader | None) -> str:
        """The inner HTML; subclasses override."""
        return ""


class InputWidget(Widget):
    """A widget whose value the user sets.

    The value lives in the session's state under :attr:`key` (so
    ``session.get(widget.key)`` reads it and ``session.set(widget.key, v)``
    updates that user's page), unless ``shared=True``, when one value is kept
    on the widget and pushed to everybody.

    :param label: the visible ``<label>`` text.
    :param value: the initial value (each session starts from it).
    :param shared: one global value instead of one per session.
    :param disabled: shown but not editable.
    :param scope: ``"session"`` or ``"tab"`` (a value per browser tab); *bind*
        ``"query"``: the value is the tab's URL parameter *key* (see :mod:`.scope`).
    """

    events: ClassVar[tuple[str, ...]] = ("change",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Misuse found while building any input names it by its label: the
        # generated id ("w13be42f80ee5") means nothing to whoever wrote the app.
        if "__init__" in cls.__dict__:
            cls.__init__ = _naming_misuse(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        label: str,
        value: Any = None,
        *,
        key: str | None = None,
        shared: bool = False,
        disabled: bool = False,
        help: str | None = None,
        on_change: Handler | None = None,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        visible: bool = True, scope: str = "session", bind: str | None = None,
    ) -> None:
        super().__init__(key=key, visible=visible)
        self.scope, self.bind = checked_scope(scope, bind, key, shared)
        self.label = label
        self.default = (
            self._checked(value, "initial value") if value is not None else self.empty_value()
        )
        self.shared = shared
        self.disabled = disabled
        self.help = help
        self._shared_value = self.default
        if on_change is not None:
            self.on_change(on_change, args=args, kwargs=kwargs)

    def __repr__(self) -> str:
        # Errors show widgets with !r: by label (and the app's key), never the generated id.
        key = None if self.key == self.id else self.key
        return f"<{widget_name(type(self), getattr(self, 'label', None), key)}>"

    def empty_value(self) -> Any:
        """The value when none was given."""
        return None

    def _checked(self, value: Any, what: str) -> Any:
        """:meth:`program_value`, with misuse as a WidgetError naming the input."""
        try:
            return self.program_value(value)
        except (TypeError, ValueError) as exc:
            name = widget_name(type(self), self.label, None if self.key == self.id else self.key)
            raise _named(WidgetError(f"bad {what} for {name}: {exc}")) from None

    def validate(self, value: Any) -> Any:
        """Return *value* converted to this input's type, or raise ValueError."""
        return value

    def program_value(self, value: Any) -> Any:
        """:meth:`validate` for a value the app gives (initial value,
        ``set_value``, ``session.set``); an input may accept more from the
        app than from a browser."""
        return self.validate(value)

    def coerce(self, event: str, value: Any) -> Any:
        super().coerce(event, value)
        try:
            return self.validate(value)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad value for {self.key!r}: {exc}") from None

    @property
    def per_session(self) -> bool:
        return not self.shared

    def value_for(self, state: StateReader | None) -> Any:
        """The value this widget shows to the session *state* (or the shared one)."""
        if self.shared or state is None:
            return self._shared_value
        return state.get(self.key, self.default)

    @property
    def value(self) -> Any:
        """The shared value (``shared=True``), else the initial value."""
        return self._shared_value

    def set_value(self, value: Any) -> None:
        """Set the shared value and push it to everybody (``shared=True`` only)."""
        if not self.shared:
            key = "widget.key" if self.key == self.id else repr(self.key)
            raise WidgetError(
                f"{self!r} keeps one value per session: use session.set({key}, value)")
        self._shared_value = self._checked(value, "value")
        self.changed("value")

    def receive(self, session: Any, event: str, value: Any) -> Any:
        if event == "change":
            self.apply(session, value)
        return value

    def to_client(self, value: Any) -> Any:
        """A Python value as this input's element sends it (``stgo.testing``
        uses it to send dates, tuples ... the way a browser would)."""
        return value

    def apply(self, session: Any, value: Any) -> None:
        """Store a value received from *session*'s client."""
        if self.shared:
            self._shared_value = value
            self.changed("value")
        else:
            session.set(self.key, value)

    def client_value(self, state: StateReader | None) -> Any:
        """The value as the client's element takes it (JSON-able)."""
        return self.to_client(self.value_for(state))

    def set_label(self, label: str) -> None:
        """Change the visible label and push it."""
        self.label = label
        self.changed()

    def set_disabled(self, disabled: bool = True) -> None:
        """Make the input read-only (or editable again) and push that."""
        self.disabled = bool(disabled)
        self.changed()

    def label_html(self, for_id: str) -> str:
        """A ``<label>`` tied to the element with *for_id*."""
        tip = f' title="{esc(self.help)}"' if self.help else ""
        return f'<label for="{for_id}"{tip}>{esc(self.label)}</label>'


def widget_name(cls: type, label: Any, key: Any = None) -> str:
    """How an error names an input: its class and label, and its key when the
    app gave one (``Slider 'Separation' (key 'sep')``), never a generated id."""
    name = f"{cls.__name__} {label!r}"
    return name + f" (key {key!r})" if isinstance(key, str) else name


def _named(exc: WidgetError) -> WidgetError:
    """Mark *exc* as naming its widget already (an outer constructor adds nothing)."""
    exc.names_widget = True  # type: ignore[attr-defined]
    return exc


def _naming_misuse(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap an input's ``__init__`` so that its WidgetErrors name the input by label."""

    @functools.wraps(init)
    def init_naming_misuse(self: InputWidget, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except WidgetError as exc:
            if getattr(exc, "names_widget", False):
                raise
            label = args[0] if args else kwargs.get("label")
            name = widget_name(type(self), label, kwargs.get("key"))
            raise _named(WidgetError(f"{name}: {exc}")) from None

    return init_naming_misuse
