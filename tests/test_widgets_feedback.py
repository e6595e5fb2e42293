"""Feedback widgets: progress, alerts, images (and what an image source may be)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

import stgo
from stgo import App, Session, WidgetError
from stgo.widgets.feedback import image_src, sniff_image

from .markup import XSS, Node, assert_inert, recorded

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def bar(widget: stgo.Progress) -> Node:
    return assert_inert(widget.render()).find_all("progress")[0]


# -- progress --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (42, "42"), (100, "100"),
                                              (0.5, "50"), (1.0, "100"), (0.0, "0")])
def test_progress_int_percent_or_float_fraction(value: Any, shown: str) -> None:
    widget = stgo.Progress(value)
    el = bar(widget)
    assert el.attrs["value"] == shown and el.attrs["max"] == "100"
    assert el.classes() == ["stgo-progress-bar"]
    assert widget.value == value and widget.percent == float(shown)


@pytest.mark.parametrize("bad", [-1, 101, 1.5, -0.1, float("nan"), True, "50", None])
def test_progress_refuses_bad_values(bad: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Progress(bad)
    widget = stgo.Progress(10)
    with pytest.raises(WidgetError):
        widget.set_progress(bad)
    assert widget.percent == 10


def test_progress_text_is_a_label_and_escaped() -> None:
    widget = stgo.Progress(3, XSS)
    root = assert_inert(widget.render())
    label = root.find_all("label")[0]
    assert label.all_text() == XSS
    assert label.attrs["for"] == bar(widget).attrs["id"]
    assert "aria-label" in bar(stgo.Progress(3)).attrs


def test_set_progress_notifies_and_keeps_text_unless_given() -> None:
    widget = stgo.Progress(0, "loading")
    rec = recorded(widget)
    widget.set_progress(0.25)
    assert rec.kinds() == ["update"]
    assert bar(widget).attrs["value"] == "25" and widget.text == "loading"
    widget.set_progress(100, "done")
    assert widget.text == "done"


# -- alerts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "level", "role"),
    [(stgo.InfoAlert, "info", "status"), (stgo.SuccessAlert, "success", "status"),
     (stgo.WarningAlert, "warning", "alert"), (stgo.ErrorAlert, "error", "alert")],
)
def test_alerts_classes_roles_and_escaping(cls: type[stgo.Alert], level: str, role: str) -> None:
    widget = cls(XSS, icon=XSS)
    root = assert_inert(widget.render())
    assert root.children[0].attrs["data-kind"] == level
    box = root.find(role=role)
    assert box.classes() == ["stgo-alert", f"stgo-alert-{level}"]
    assert box.all_text() == XSS + XSS
    rec = recorded(widget)
    widget.set_text("new")
    assert rec.kinds() == ["update"] and widget.text == "new"


# -- images: sources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
     (b"BM" + b"\x00" * 10, "image/bmp")],
)
def test_bytes_become_data_urls_with_sniffed_type(data: bytes, mime: str) -> None:
    assert sniff_image(data) == mime
    src = image_src(bytearray(data))
    assert src == f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize("data", [SVG, b"  <?xml version='1.0'?><svg/>", b"<html>", b"", b"\x00"])
def test_svg_and_unknown_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(WidgetError):
        image_src(data)


def test_path_is_read(tmp_path: Path) -> None:
    path = tmp_path / "pic.gif"
    path.write_bytes(GIF)
    assert image_src(path).startswith("data:image/gif;base64,")
    assert image_src(str(path)).startswith("data:image/gif;base64,")
    (tmp_path / "evil.png").write_bytes(SVG)
    with pytest.raises(WidgetError, match="SVG"):
        image_src(tmp_path / "evil.png")
    with pytest.raises(WidgetError, match="cannot read"):
        image_src(tmp_path / "missing.png")


def test_http_urls_pass() -> None:
    assert image_src("https://example.com/a.png?x=1&y=2") == "https://example.com/a.png?x=1&y=2"
    assert image_src("  http://example.com/a.png ") == "http://example.com/a.png"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:x",
     "java\nscript:x", "vbscript:x", "file:///etc/passwd", "data:text/html;base64,PHNjcmlwdD4=",
     "data:image/svg+xml;base64,PHN2Zz4=", "https://exa mple.com/x.png", "ftp://host/x.png"],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(WidgetError):
        image_src(url)


def test_raster_data_url_passes() -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert image_src(url) == url


@pytest.mark.parametrize("bad", [None, 3, ["a.png"]])
def test_other_source_types_are_refused(bad: Any) -> None:
    with pytest.raises(WidgetError):
        image_src(bad)


# -- images: rendering -----------------------------------------------------------------------


def test_image_renders_figure_with_escaped_caption_and_alt() -> None:
    url = "https://example.com/a.png?q=" + XSS.replace(" ", "%20")  # quotes and brackets stay
    widget = stgo.Image(url, caption=XSS, width=120)
    root = assert_inert(widget.render(), allow=frozenset({"img"}))
    img = root.find_all("img")
    assert len(img) == 1
    assert img[0].attrs["src"] == url
    assert img[0].attrs["alt"] == XSS and img[0].attrs["width"] == "120"
    assert img[0].classes() == ["stgo-img"]
    caption = root.find_all("figcaption")[0]
    assert caption.all_text() == XSS and caption.classes() == ["stgo-image-caption"]
    assert [k for k in img[0].attrs if k.startswith("on")] == []


def test_image_alt_overrides_caption_and_no_caption_no_figcaption() -> None:
    root = assert_inert(stgo.Image(PNG, alt="a cat").render(), allow=frozenset({"img"}))
    assert root.find_all("img")[0].attrs["alt"] == "a cat"
    assert not root.find_all("figcaption")


@pytest.mark.parametrize("width", [0, -3, True, "100"])
def test_image_bad_width(width: Any) -> None:
    with pytest.raises(WidgetError):
        stgo.Image(PNG, width=width)


def test_image_setters_notify() -> None:
    widget = stgo.Image(PNG)
    rec = recorded(widget)
    widget.set_image(GIF)
    widget.set_caption("c")
    assert rec.kinds() == ["update", "update"]
    assert widget.src.startswith("data:image/gif") and widget.caption == "c"
    with pytest.raises(WidgetError):
        widget.set_image("javascript:alert(1)")
    assert widget.src.startswith("data:image/gif")


# -- factories ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "cls"),
    [("progress", (0.5, "p"), stgo.Progress), ("info", ("i",), stgo.InfoAlert),
     ("success", ("s",), stgo.SuccessAlert), ("warning", ("w",), stgo.WarningAlert),
     ("error", ("e",), stgo.ErrorAlert), ("image", (PNG,), stgo.Image)],
)
def test_feedback_factories(name: str, args: tuple[Any, ...], cls: type[Any]) -> None:
    app = App()
    session = Session("session_1_test")
    owners: list[Any] = [app, session, app.expander("x"), app.sidebar]
    for owner in owners:
        made = getattr(owner, name)(*args)
        assert type(made) is cls
        contents = owner.children if isinstance(owner, stgo.Group) else owner.widgets
        assert contents[-1] is made
