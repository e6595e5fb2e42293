"""Components: third-party widgets, shipped as packages (``stgo.Component``).

A component is a Python class with properties and events, and an ES module
(plus CSS) that draws it in the browser, both in the component's own package.
stgo serves only the files the class declares, from the class's folder, at
``static/components/<name>/<version>/<file>``, the version being a digest of
those files (so a new release is a new URL and browsers may keep each one
for good).  The module is imported by ``static/components.js``, from the
app's own origin: the strict policy holds.

Values are checked on the server as for the built-in inputs: a ``change``
event's value goes through :meth:`Component.validate` (the declared
:attr:`~Component.value_type` by default) and a bad one is refused with a
clear error, never stored.  See docs/components.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from ..errors import ProtocolError, WidgetError
from .base import Handler, InputWidget, StateReader, esc

__all__ = ["Component", "find_component", "COMPONENT_PATH"]

#: Where components' files are served, followed by ``<name>/<version>/<file>``.
COMPONENT_PATH = "static/components/"
#: An event's value from a browser, at most this long as JSON.
MAX_EVENT_JSON = 64 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


class Component(InputWidget):
    """Base of a third-party widget.  Subclass it in your package::

        class Rating(stgo.Component):
            module = "rating.js"          # next to this file
            styles = ("rating.css",)
            value_type = int

            def __init__(self, label, value=0, *, stars=5, **kwargs):
                super().__init__(label, value, stars=stars, **kwargs)

            def validate(self, value):
                value = super().validate(value)
                if not 0 <= value <= self.props["stars"]:
                    raise ValueError(f"a rating is 0 to {self.props['stars']} stars")
                return value

    and add it like any widget: ``app.add_widget(Rating("Your rating", key="stars"))``.

    Class attributes (checked when the class is made):

    - :attr:`module`: the ES module that draws it, a path relative to
      :attr:`root`.  It exports ``mount(element, context)`` (see docs/components.md).
    - :attr:`styles`: its stylesheets; :attr:`files`: any other file the
      module imports (relative URLs).  Nothing else in the folder is served.
    - :attr:`component_name`: its name in URLs (default: module and class name).
    - :attr:`value_type`: the type(s) a value must have (``None``: any JSON).
    - :attr:`events`: the events the browser may send (``"change"`` sets the value).

    :param label: the accessible name (the module shows it).
    :param value: the initial value (checked by :meth:`validate`).
    :param props: the component's properties, JSON values the module gets;
        change them with :meth:`set_props`.
    """

    kind: ClassVar[str] = "component"
    events: ClassVar[tuple[str, ...]] = ("change",)
    redraw_on_state: ClassVar[bool] = True
    module: ClassVar[str] = ""
    styles: ClassVar[tuple[str, ...]] = ()
    files: ClassVar[tuple[str, ...]] = ()
    value_type: ClassVar[type | tuple[type, ...] | None] = None
    component_name: ClassVar[str] = ""
    #: The folder the files are in (default: the one of the class's module).
    root: ClassVar[Path | None] = None
    #: A digest of the declared files (set when the class is made).
    asset_version: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.module:
            return  # an abstract base of other components
        if "component_name" not in cls.__dict__:
            cls.component_name = f"{cls.__module__}.{cls.__name__}".lower()
        if not _NAME.fullmatch(cls.component_name):
            raise WidgetError(f"{cls.__name__}.component_name {cls.component_name!r}: use "
                              "letters, digits, '_', '.' and '-'")
        # The files are next to the class that names them (a subclass that
        # only changes behaviour keeps its parent's folder).
        if "root" not in cls.__dict__ and ("module" in cls.__dict__ or cls.root is None):
            source = getattr(sys.modules.get(cls.__module__), "__file__", None)
            if source is None:
                raise WidgetError(f"{cls.__name__}: set root= to the folder of its files")
            cls.root = Path(source).resolve().parent
        root = Path(cls.root) if cls.root is not None else Path(".")
        cls.root = root
        digest = hashlib.sha256()
        for name in cls.declared_files():
            if not _FILE.fullmatch(name) or ".." in name.split("/"):
                raise WidgetError(f"{cls.__name__}: {name!r} must be a plain relative path")
            path = root / name
            if not path.is_file():
                raise WidgetError(f"{cls.__name__}: declared file {name!r} is not in {root}")
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        cls.asset_version = digest.hexdigest()[:16]

    @classmethod
    def declared_files(cls) -> list[str]:
        """Every file the component serves: its module, styles and other files."""
        return list(dict.fromkeys([cls.module, *cls.styles, *cls.files]))

    @classmethod
    def url(cls, name: str) -> str:
        """The URL (relative to the app) of the declared file *name*."""
        return f"{COMPONENT_PATH}{cls.component_name}/{cls.asset_version}/{name}"

    def __init__(
        self, label: str, value: Any = None, *, key: str | None = None, shared: bool = False,
        disabled: bool = False, help: str | None = None, on_change: Handler | None = None,
        visible: bool = True, **props: Any,
    ) -> None:
        if not type(self).module:
            raise WidgetError(f"{type(self).__name__} declares no module: it cannot be drawn")
        self._props: dict[str, Any] = _json_props(props)
        super().__init__(label, value, key=key, shared=shared, disabled=disabled, help=help,
                         on_change=on_change, visible=visible)

    @property
    def props(self) -> dict[str, Any]:
        """The component's properties (a copy)."""
        with self._lock:
            return dict(self._props)

    def set_props(self, **props: Any) -> None:
        """Change some properties and push them (the module is mounted anew)."""
        checked = _json_props(props)
        with self._lock:
            self._props.update(checked)
        self.changed()

    def validate(self, value: Any) -> Any:
        """Return the value as this component keeps it, or raise ValueError.

        The default checks :attr:`value_type` (an ``int`` type refuses
        ``True``; a ``float`` one takes ints) and that the value is JSON;
        override it (calling this one) to check more.
        """
        wanted = self.value_type
        if value is not None and wanted is not None:
            types = wanted if isinstance(wanted, tuple) else (wanted,)
            if float in types and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                names = " or ".join(t.__name__ for t in types)
                raise ValueError(f"{self.label!r} takes {names} values, not {value!r}")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValueError(f"{self.label!r} takes JSON values, not {value!r}") from None
        return value

    def coerce(self, event: str, value: Any) -> Any:
        if event == "change":
            return super().coerce(event, value)
        if event not in self.events:
            raise ProtocolError(f"widget {self.key!r} has no event {event!r}")
        if len(json.dumps(value)) > MAX_EVENT_JSON:
            raise ProtocolError(f"the {event!r} event of {self.key!r} is too large")
        try:
            return self.check_event(event, value)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad {event!r} event for {self.key!r}: {exc}") from None

    def check_event(self, event: str, value: Any) -> Any:
        """Check the value of an event other than ``change`` (raise ValueError);
        return what the handlers get.  The default takes any JSON."""
        return value

    def set_value(self, value: Any) -> None:
        super().set_value(value)
        self.changed()  # the module draws the value: mount it anew

    def root_attrs(self) -> str:
        return ' data-requires="static/components.js"'

    def render_body(self, state: StateReader | None) -> str:
        cls = type(self)
        with self._lock:
            props = json.dumps(self._props, separators=(",", ":"))
        value = json.dumps(self.client_value(state), separators=(",", ":"))
        styles = " ".join(cls.url(name) for name in cls.styles)
        disabled = " data-disabled" if self.disabled else ""
        tip = f' title="{esc(self.help)}"' if self.help else ""
        return (
            f'<div class="stgo-component-root" data-module="{esc(cls.url(cls.module))}" '
            f'data-styles="{esc(styles)}" data-label="{esc(self.label)}" '
            f'data-props="{esc(props)}" data-value="{esc(value)}"{disabled}{tip}></div>'
        )


def _json_props(props: dict[str, Any]) -> dict[str, Any]:
    try:
        out: dict[str, Any] = json.loads(json.dumps(props, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise WidgetError(f"component properties must be JSON values: {exc}") from None
    return out


def _subclasses(cls: type[Component]) -> Iterator[type[Component]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def find_component(name: str, version: str, file: str) -> Path | None:
    """The file to serve for ``static/components/<name>/<version>/<file>``: a
    file declared by a loaded component class of that name and version, else ``None``."""
    for cls in _subclasses(Component):
        if (cls.module and cls.component_name == name and cls.asset_version == version
                and file in cls.declared_files() and cls.root is not None):
            return cls.root / file
    return None
