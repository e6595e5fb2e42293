"""Text widgets: title, header, subheader, text, caption, code, markdown."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from .base import StateReader, Widget, esc

__all__ = ["Text", "Title", "Header", "Subheader", "Caption", "Code", "Markdown"]

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

    def render_body(self, state: StateReader | None) -> str:
        return render_markdown(self._text, allow_html=self.unsafe_allow_html)


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
    md = MarkdownIt("commonmark", {"html": allow_html}).enable("table")
    return str(md.render(text))
