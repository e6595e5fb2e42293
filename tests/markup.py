"""HTML checks for the widget tests: parse a rendered fragment, assert that no
user text became live markup, and record what a widget tells its owner."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

from stgo.widgets.base import Widget

#: Breaks out of a quoted attribute and out of text, if anything is unescaped.
XSS = '"><img src=x onerror=alert(1)>'
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
_DANGEROUS = {"script", "img", "iframe", "svg", "object", "embed", "style"}


@dataclass(eq=False)
class Node:
    """One element of a parsed fragment."""

    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    content: list[str | Node] = field(default_factory=list)  # text and children, in order

    def iter(self) -> Iterator[Node]:
        """This node and every descendant, in document order."""
        yield self
        for child in self.children:
            yield from child.iter()

    def find(self, **attrs: str) -> Node:
        """The first descendant (or self) whose attributes match."""
        for node in self.iter():
            if all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                return node
        raise AssertionError(f"no element with {attrs}")

    def find_all(self, tag: str) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag]

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def all_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.all_text() for c in self.content)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        self.current.content.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.content.append(data)


def parse(html: str) -> Node:
    """Parse an HTML fragment into a tree of :class:`Node`."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def assert_inert(html: str, *, allow: frozenset[str] = frozenset()) -> Node:
    """Fail if *html* holds a live element or handler that user text could inject."""
    assert XSS not in html
    root = parse(html)
    for node in root.iter():
        assert node.tag not in _DANGEROUS - allow, f"live <{node.tag}> in {html}"
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"handler {name} in {html}"
            assert not (value or "").strip().lower().startswith("javascript:"), html
    return root


class Recorder:
    """A notify callback that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Widget, str]] = []

    def __call__(self, widget: Widget, change: str) -> None:
        self.calls.append((widget, change))

    def kinds(self, widget: Widget | None = None) -> list[str]:
        return [c for w, c in self.calls if widget is None or w is widget]


def recorded(widget: Widget) -> Recorder:
    """Attach a :class:`Recorder` to *widget* as its owner would."""
    rec = Recorder()
    widget.attach(None, rec)
    return rec
