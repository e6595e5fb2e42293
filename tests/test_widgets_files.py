"""File uploader and download button through stgo.testing (same checks as the endpoint)."""

from __future__ import annotations

from typing import Any

import pytest

import stgo
from stgo.testing import AppTester
from stgo.web.transfers import upload_type
from stgo.widgets.files import safe_file_name


def test_upload_value_and_callback_order() -> None:
    app = stgo.App()
    seen: list[Any] = []
    up = app.file_uploader("CSV", type=["csv", ".TSV"], key="up")

    @up.on_change
    def changed(session: stgo.Session, event: str, value: Any) -> None:
        seen.append((event, value.name if value else None, session.get("up") is value))

    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload("CSV", "a.csv", "x,y\n1,2\n", type="text/csv")
        assert seen == [("change", "a.csv", True)]
        value = tab.value("up")
        assert (value.name, value.size, value.type) == ("a.csv", 8, "text/csv")
        assert value.getvalue() == b"x,y\n1,2\n" and value.text() == "x,y\n1,2\n"
        assert value.read(1) == b"x" and value.tell() == 1
        value.seek(0)
        assert value.read() == b"x,y\n1,2\n"
        tab.upload("CSV", "b.tsv", b"1\t2")
        assert tab.value("up").type == "text/tab-separated-values"  # guessed from the name
        assert not value.path.exists()  # the replaced file is gone
        tab.clear_upload("CSV")
        assert tab.value("up") is None and seen[-1] == ("change", None, True)


def test_refusals_never_reach_the_callback() -> None:
    app = stgo.App()
    seen: list[Any] = []
    app.file_uploader("CSV", type="csv", max_size=10, key="up", on_change=lambda *a: seen.append(a))
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload("up", "big.csv", b"x" * 11)
        tab.upload("up", "a.txt", b"x")
        tab.upload("up", "../a.csv", b"x")
        assert seen == []
        assert [e.split(":")[0] for e in tab.errors] == [
            "'big.csv' is too large (11 bytes)", "'a.txt' is not an accepted type",
            "the file name must be a plain name (no path)"]
        app.widget("up").hide()
        tab.upload("up", "a.csv", b"x")
        assert "no such file uploader" in tab.errors[-1] and seen == []


def test_multiple_files_and_max_files() -> None:
    app = stgo.App()
    app.file_uploader("Many", accept_multiple_files=True, max_files=2, key="m")
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload_many("m", [("a.bin", b"1", None), ("b.bin", b"22", None)])
        assert [f.name for f in tab.value("m")] == ["a.bin", "b.bin"]
        tab.upload_many("m", [(f"{i}.bin", b"1", None) for i in range(3)])
        assert "at most 2" in tab.errors[-1]
        assert len(tab.value("m")) == 2


def test_session_end_removes_the_directory() -> None:
    app = stgo.App()
    app.file_uploader("F", key="f")
    tester = AppTester(app)
    tab = tester.new_session()
    tab.upload("f", "a.bin", b"abc")
    folder = tab.value("f").path.parent
    assert folder.is_dir()
    tester.close()
    assert not folder.exists() and app.transfers.sessions_with_files() == 0


@pytest.mark.parametrize("name, safe", [
    ("report.csv", "report.csv"), (" spaced.csv ", "spaced.csv"), ("../x", None),
    ("a/b", None), ("a\\b", None), ("nul\x00", None), ("..", None), ("", None),
    ("x" * 256, None), ("r\u00e9sum\u00e9.pdf", "r\u00e9sum\u00e9.pdf"),
    # C1 controls and bidirectional overrides, marks and isolates are removed.
    ("invoice\u202egpj.exe", "invoicegpj.exe"), ("a\u0085b\u009f.txt", "ab.txt"),
    ("\u2066x\u2069\u200f\u061c.csv", "x.csv"), ("\u202e\u202d", None),
    ("\u202e" + "x" * 255, "x" * 255), ("x" * 255 + "\u202ey", None),
    ("\u202e../x", None),
])
def test_safe_file_name(name: str, safe: str | None) -> None:
    assert safe_file_name(name) == safe


@pytest.mark.parametrize("mime, name, kept", [
    ("text/csv", "a.bin", "text/csv"), ("TEXT/CSV", "a", "text/csv"),
    ("application/vnd.ms-excel", "a", "application/vnd.ms-excel"),
    ("text/<script>", "a.csv", "text/csv"), ("x" * 65 + "/y", "a", "application/octet-stream"),
    ("text/csv\r\nX-Evil: 1", "a", "application/octet-stream"), ("csv", "a.csv", "text/csv"),
    (None, "a.png", "image/png"), ("", "a", "application/octet-stream"),
    ("multipart/form-data", "a.txt", "text/plain"), (" text/csv ", "a", "text/csv"),
])
def test_upload_type_is_a_plain_bounded_mime_type(mime: str | None, name: str, kept: str) -> None:
    assert upload_type(mime, name) == kept


def test_download_names_lose_controls_and_overrides() -> None:
    button = stgo.DownloadButton("Get", data=b"x", file_name="../pay\u202efdp\u0085.exe")
    assert button.file_name == "payfdp.exe"


def test_bad_uploader_options() -> None:
    with pytest.raises(stgo.WidgetError, match="max_size"):
        stgo.FileUploader("x", max_size=0)
    with pytest.raises(stgo.WidgetError, match="extensions"):
        stgo.FileUploader("x", type=[""])


def test_download_data_kinds() -> None:
    app = stgo.App()
    clicks: list[str] = []
    app.download_button("Text", data="h\u00e9", file_name="t.txt", key="t",
                        on_click=lambda s, e, v: clicks.append(e))
    app.download_button("Bytes", data=b"\x00\x01", key="b")
    app.download_button("Made", data=lambda session: session.get("n", 0) * b"x",
                        file_name="made.bin", mime="application/x-made", key="m")
    app.download_button("Nothing", data=lambda: "later", key="n")
    with pytest.raises(stgo.WidgetError, match="download data"):
        stgo.DownloadButton("bad", data=3.5)
    with AppTester(app) as tester:
        tab = tester.new_session()
        assert tab.download("t") == ("h\u00e9".encode(), "t.txt", "text/plain")
        assert clicks == ["click"]
        assert tab.download("b") == (b"\x00\x01", "download.bin", "application/octet-stream")
        tab.session.set("n", 3)
        assert tab.download("m") == (b"xxx", "made.bin", "application/x-made")
        assert tab.download("n")[0] == b"later"


def test_program_clears_the_upload_and_the_page_follows() -> None:
    app = stgo.App()
    up = app.file_uploader("F", key="f")
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload("f", "a.bin", b"abc")
        assert "a.bin" in tab.messages[-1]["ops"][0]["html"]
        tab.session.set("f", None)
        (op,) = tab.messages[-1]["ops"]
        assert op["op"] == "update" and op["id"] == up.id and "a.bin" not in op["html"]
