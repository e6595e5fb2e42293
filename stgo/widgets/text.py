"""Text widgets: title, header, subheader, text, caption, code, markdown, json, write."""

from __future__ import annotations

import functools
import json
import logging
from numbers import Number
from typing import Any, ClassVar

from .base import StateReader, Widget, esc
from .data import is_table_like, render_table, table_data

__all__ = [
    "Text", "Title", "Header", "Subheader", "Caption", "Code", "Markdown", "Json", "Write",
    "render_markdown", "render_json",
]

log = logging.getLogger("stgo")


class Text(Widget):
    """Plain text, escaped; ``set_text`` pushes a new text to whoever sees it."""

    kind: ClassVar[str] = "text"
    tag: ClassVar[str] = "p"

    def __init__(self, text: Any = "", *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self._text = str(text)

    @property
    def text(self) -> str:
        """The current text."""
        return self._text

    def set_text(self, text: Any) -> None:
        """Replace the text and push it."""
        self._text = str(text)
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        return f"<{self.tag}>{esc(self._text)}</{self.tag}>"


class Title(Text):
    """The page's big heading."""

    kind: ClassVar[str] = "title"
    tag: ClassVar[str] = "h1"


class Header(Text):
    """A section heading, with an optional divider line under it."""

    kind: ClassVar[str] = "header"
    tag: ClassVar[str] = "h2"

    def __init__(
        self, text: Any = "", *, divider: bool = False, key: str | None = None, visible: bool = True
    ) -> None:
        super().__init__(text, key=key, visible=visible)
        self.divider = divider

    def render_body(self, state: StateReader | None) -> str:
        rule = "<hr>" if self.divider else ""
        return super().render_body(state) + rule


class Subheader(Text):
    """A smaller heading."""

    kind: ClassVar[str] = "subheader"
    tag: ClassVar[str] = "h3"


class Caption(Text):
    """Small, muted text."""

    kind: ClassVar[str] = "caption"
    tag: ClassVar[str] = "small"


class Code(Text):
    """A block of code, shown verbatim."""

    kind: ClassVar[str] = "code"

    def __init__(
        self, code: Any = "", language: str | None = None, *, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(code, key=key, visible=visible)
        self.language = language

    def render_body(self, state: StateReader | None) -> str:
        lang = f' class="language-{esc(self.language)}"' if self.language else ""
        return f"<pre><code{lang}>{esc(self._text)}</code></pre>"


class Markdown(Text):
    """Markdown rendered safely: raw HTML is escaped unless ``unsafe_allow_html``.

    Needs the optional extra ``stgo[markdown]`` (markdown-it-py); without it the
    text shows escaped, and a warning is logged once.
    """

    kind: ClassVar[str] = "markdown"
    _warned: ClassVar[list[bool]] = []

    def __init__(
        self, text: Any = "", *, unsafe_allow_html: bool = False, key: str | None = None,
        visible: bool = True,
    ) -> None:
        super().__init__(text, key=key, visible=visible)
        self.unsafe_allow_html = unsafe_allow_html
        self._rendered: tuple[tuple[str, bool], str] | None = None

    def render_body(self, state: StateReader | None) -> str:
        # The same text renders the same for everybody: keep the last result
        # (every page load and full render draws every widget again).
        text, allow_html = self._text, self.unsafe_allow_html
        cached = self._rendered
        if cached is None or cached[0] != (text, allow_html):
            html = render_markdown(text, allow_html=allow_html)
            cached = self._rendered = ((text, allow_html), html)
        return cached[1]


def render_markdown(text: str, *, allow_html: bool = False) -> str:
    """Markdown to HTML with markdown-it-py, or escaped text without it."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        if not Markdown._warned:
            Markdown._warned.append(True)
            log.warning("markdown-it-py is not installed: markdown shows as plain text "
                        "(pip install 'stgo[markdown]')")
        return f'<p class="stgo-plain">{esc(text)}</p>'
    return str(_markdown_parser(MarkdownIt, allow_html).render(text))


@functools.lru_cache(maxsize=4)
def _markdown_parser(factory: Any, allow_html: bool) -> Any:
    # Building a parser costs far more than rendering a paragraph with it; a
    # configured parser keeps no state between renders, so threads share it.
    return factory("commonmark", {"html": allow_html}).enable("table")


def render_json(obj: Any) -> str:
    """*obj* as indented JSON in ``<pre class="stgo-json-block">``, escaped.

    Values JSON cannot hold (dates, sets, objects) show as their ``str``.
    """
    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure
        text = repr(obj)
    return f'<pre class="stgo-json-block"><code>{esc(text)}</code></pre>'


class Json(Widget):
    """A value shown as pretty-printed JSON."""

    kind: ClassVar[str] = "json"

    def __init__(self, data: Any = None, *, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self._data = data

    @property
    def data(self) -> Any:
        """The value shown."""
        return self._data

    def set_data(self, data: Any) -> None:
        """Show another value and push it."""
        self._data = data
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        return render_json(self._data)


def render_write(obj: Any) -> str:
    """How :class:`Write` shows one object.

    Text is markdown (safe: raw HTML escaped); numbers, booleans and ``None``
    plain text; table-like data (list of dicts, dict of equal-length lists,
    pandas) a table; other dicts, lists and tuples JSON; anything else its repr.
    """
    if isinstance(obj, str):
        return render_markdown(obj)
    if obj is None or isinstance(obj, (bool, Number)):
        return f'<p class="stgo-write-value">{esc(obj)}</p>'
    if is_table_like(obj):
        return f'<div class="stgo-table-wrap">{render_table(table_data(obj))}</div>'
    if isinstance(obj, (dict, list, tuple)):
        return render_json(obj)
    return f'<pre class="stgo-write-repr"><code>{esc(repr(obj))}</code></pre>'


class Write(Widget):
    """Whatever you give it, shown the way it reads best (see :func:`render_write`).

    :param objects: one or more values, shown one after another.
    """

    kind: ClassVar[str] = "write"

    def __init__(self, *objects: Any, key: str | None = None, visible: bool = True) -> None:
        super().__init__(key=key, visible=visible)
        self._objects = objects

    @property
    def objects(self) -> tuple[Any, ...]:
        """The values shown."""
        return self._objects

    def set_value(self, *objects: Any) -> None:
        """Show other values and push them."""
        self._objects = objects
        self.changed()

    def render_body(self, state: StateReader | None) -> str:
        return "".join(render_write(obj) for obj in self._objects)
