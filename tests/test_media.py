"""Media widgets, image arrays and Vega-Lite charts on the server: what they
take, what they refuse, and how the app serves media bytes (issue 26)."""

from __future__ import annotations

import http.client
import io
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import stgo
from stgo.server import Server

from .helpers import COOKIE, Client
from .services import RedisServer
from .test_transfers import _upload

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40


def _get(server: Server, path: str, cookie: str | None, headers: dict[str, str] | None = None,
         timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        sent = dict(headers or {})
        if cookie:
            sent["Cookie"] = f"{COOKIE}={cookie}"
        conn.request("GET", path, headers=sent)
        resp = conn.getresponse()
        return resp.status, dict(resp.headers), resp.read()
    finally:
        conn.close()


# -- audio and video ---------------------------------------------------------------------


def test_media_bytes_are_served_to_sessions_that_see_them_with_ranges(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(200)))
    app = stgo.App()
    sound = app.audio(WAV, key="sound")
    film = app.video(clip, key="film")
    app.audio("https://example.com/a.ogg", key="far")

    @app.on_session_start
    def start(session: stgo.Session) -> None:
        session.audio(WAV, key="mine")

    server = serve(app)
    alice, bob = Client(server.url), Client(server.url)
    alice.get("/")
    bob.get("/")
    assert sound.src.startswith("download/media/")
    status, headers, body = _get(server, "/" + sound.src, alice.session_id)
    assert status == 200 and body == WAV
    assert headers["Content-Type"] == "audio/wav"
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"
    # A player seeks with byte ranges.
    status, headers, body = _get(server, "/" + film.src, alice.session_id,
                                 {"Range": "bytes=4-11"})
    assert status == 206 and body == b"ftypmp42"
    assert headers["Content-Type"] == "video/mp4"
    assert headers["Content-Range"].startswith("bytes 4-11/")
    # No cookie, or another session's private player: nothing.
    assert _get(server, "/" + sound.src, None)[0] == 404
    alice_session = app.sessions.get(alice.session_id)
    assert alice_session is not None
    mine = alice_session.widget("mine")
    assert _get(server, "/" + mine.src, alice.session_id)[0] == 200
    assert _get(server, "/" + mine.src, bob.session_id)[0] == 404
    # A hidden player serves nothing; a URL is the player's own source.
    sound.hide()
    assert _get(server, "/" + sound.src, alice.session_id)[0] == 404
    assert app.widget("far").src == "https://example.com/a.ogg"
    page = alice.get("/").body
    assert 'src="https://example.com/a.ogg"' in page and "<video" in page
    # The page's policy lets players load from the app and from https URLs.
    policy = _get(server, "/", alice.session_id)[1]["Content-Security-Policy"]
    assert "media-src 'self' https:" in policy


def test_a_new_source_is_a_new_url() -> None:
    app = stgo.App()
    sound = app.audio(WAV)
    before = sound.src
    sound.set_source(b"OggS" + b"\x00" * 20)
    assert sound.src != before and sound.mime == "audio/ogg"


def test_an_array_of_samples_is_a_wav() -> None:
    np = pytest.importorskip("numpy")
    import wave

    app = stgo.App()
    stereo = np.vstack([np.zeros(800), np.ones(800) * 0.5])
    sound = app.audio(stereo, sample_rate=8000)
    source = sound.source()
    assert source is not None and source[1] == "audio/wav"
    with wave.open(io.BytesIO(source[0])) as w:  # type: ignore[arg-type]
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 8000, 800)
        frame = w.readframes(1)
    assert struct.unpack("<hh", frame) == (0, 16383)  # 0.5 of full scale (32767)


@pytest.mark.parametrize(("call", "message"), [
    (lambda app: app.audio(b"not a sound"), "format="),
    (lambda app: app.audio("javascript:alert(1)"), "http(s)"),
    (lambda app: app.video("file:///etc/passwd"), "http(s)"),
    (lambda app: app.audio("/no/such/file.wav"), "no audio file"),
    (lambda app: app.audio(WAV, format="text/html"), "MIME type"),
    (lambda app: app.audio(WAV, start_time=-1), "start_time"),
    (lambda app: app.audio(42), "not int"),
])
def test_bad_media_is_refused_with_a_clear_error(call: Any, message: str) -> None:
    with pytest.raises(stgo.WidgetError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(stgo.App())


def test_bad_sample_arrays_are_refused() -> None:
    np = pytest.importorskip("numpy")
    app = stgo.App()
    with pytest.raises(stgo.WidgetError, match="sample_rate"):
        app.audio(np.zeros(10))
    with pytest.raises(stgo.WidgetError, match="only audio"):
        app.video(np.zeros(10), sample_rate=8000)
    with pytest.raises(stgo.WidgetError, match="NaN"):
        app.audio(np.array([0.0, np.nan]), sample_rate=8000)
    with pytest.raises(stgo.WidgetError, match="channels"):
        app.audio(np.zeros((100, 2)), sample_rate=8000)


# -- the camera ----------------------------------------------------------------------------


def _png(width: int = 2, height: int = 2) -> bytes:
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def test_a_camera_photo_goes_through_the_upload_checks(serve: Callable[..., Server]) -> None:
    app = stgo.App()
    camera = app.camera_input("Take a photo", key="shot", max_size=1000)
    got: list[Any] = []
    camera.on_change(lambda session, event, photo: got.append(photo))
    server = serve(app)
    alice = Client(server.url)
    sock = alice.connect()
    # The uploads' checks: type by name, size cap.
    status, answer, _ = _upload(server, alice, camera, "shot.exe", b"MZ", mime="image/png")
    assert status == 415, answer
    status, answer, _ = _upload(server, alice, camera, "shot.png", b"\x00" * 1001,
                                mime="image/png")
    assert status == 413, answer
    # A file named .png whose bytes are no image is refused at the change event.
    status, answer, _ = _upload(server, alice, camera, "shot.png", b"<svg onload=x>",
                                mime="image/png")
    assert status == 201, answer
    sock.event(camera.id, "change", [answer["token"]])
    error = sock.recv_until(lambda m: m["type"] == "error")
    assert "takes camera photos" in error["message"] and got == []
    session = app.sessions.get(alice.session_id)
    assert session is not None and session.get("shot") is None
    # A real PNG is the value.
    photo = _png()
    status, answer, _ = _upload(server, alice, camera, "camera.png", photo, mime="image/png")
    assert status == 201, answer
    sock.ack(sock.event(camera.id, "change", [answer["token"]]))
    assert len(got) == 1 and got[0].getvalue() == photo and got[0].type == "image/png"
    assert session.get("shot") is got[0]
    alice.close()


def test_a_camera_photo_in_the_redis_store_is_checked_and_kept(
    redis_server: RedisServer, make_app: Callable[..., stgo.App]
) -> None:
    from stgo.testing import AppTester

    app = make_app(title="camera", store=redis_server.url)
    app.camera_input("Take a photo", key="shot")
    with AppTester(app) as tester:
        tab = tester.new_session()
        tab.upload("shot", "camera.png", b"GIF89a not a photo")
        assert "takes camera photos" in tab.errors[-1] and tab.value("shot") is None
        photo = _png()
        tab.upload("shot", "camera.png", photo)
        kept = tab.value("shot")
        assert kept.ref is not None and kept.getvalue() == photo and kept.type == "image/png"


# -- image arrays ----------------------------------------------------------------------------


def _pixels(src: str) -> tuple[tuple[int, int], str, list[Any]]:
    pil = pytest.importorskip("PIL.Image")
    import base64

    assert src.startswith("data:image/png;base64,")
    image = pil.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    width, height = image.size
    return image.size, image.mode, [image.getpixel((x, y)) for y in range(height)
                                    for x in range(width)]


def test_numpy_arrays_and_pil_images_are_shown_as_png() -> None:
    np = pytest.importorskip("numpy")
    app = stgo.App()
    grey = np.array([[0, 255], [128, 64]], dtype=np.uint8)
    assert _pixels(app.image(grey, alt="grey").src) == ((2, 2), "L", [0, 255, 128, 64])
    rgb = np.zeros((1, 2, 3), dtype=np.uint8)
    rgb[0, 1] = (255, 0, 10)
    assert _pixels(app.image(rgb).src) == ((2, 1), "RGB", [(0, 0, 0), (255, 0, 10)])
    rgba = np.full((1, 1, 4), 0.5)
    assert _pixels(app.image(rgba).src) == ((1, 1), "RGBA", [(128, 128, 128, 128)])
    mask = np.array([[True, False]])
    assert _pixels(app.image(mask).src)[2] == [255, 0]
    pil = pytest.importorskip("PIL.Image")
    assert _pixels(app.image(pil.new("RGB", (3, 1), (1, 2, 3))).src)[2] == [(1, 2, 3)] * 3
    assert _pixels(app.image(pil.new("CMYK", (1, 1))).src)[1] == "RGBA"


def test_bad_image_arrays_are_refused() -> None:
    np = pytest.importorskip("numpy")
    app = stgo.App()
    with pytest.raises(stgo.WidgetError, match="H x W"):
        app.image(np.zeros((2, 2, 5), dtype=np.uint8))
    with pytest.raises(stgo.WidgetError, match="H x W"):
        app.image(np.zeros(4, dtype=np.uint8))
    with pytest.raises(stgo.WidgetError, match="0.0 to 1.0"):
        app.image(np.full((2, 2), 2.0))
    with pytest.raises(stgo.WidgetError, match="0 to 255"):
        app.image(np.full((2, 2), 300))
    with pytest.raises(stgo.WidgetError, match="numbers"):
        app.image(np.array([["a"]]))


# -- Vega-Lite --------------------------------------------------------------------------------


def test_vega_lite_specs_take_data_and_check_selections() -> None:
    pytest.importorskip("vl_convert")
    app = stgo.App()
    spec = {"mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}},
            "params": [{"name": "brush", "select": "interval"}]}
    chart = app.vega_lite_chart(spec, {"a": [1, 2]}, key="v")
    assert chart.spec["data"] == {"values": [{"a": 1}, {"a": 2}]}
    assert chart.selections == ["brush"]
    assert chart.coerce("select", {"brush": {"a": [1, 2]}}) == {"brush": {"a": [1, 2]}}
    # Vega-Lite's own bookkeeping is left out.
    assert chart.coerce("select", {"brush": {"vlPoint": {}, "a": [1]}}) == {"brush": {"a": [1]}}
    for bad in ({"nope": {}}, {"brush": 3}, "brush", {"brush": {}, "x": {}},
                {"brush": {"a": ["x" * 70_000]}}):
        with pytest.raises(stgo.ProtocolError):
            chart.coerce("select", bad)
    html = chart.render()
    assert 'data-requires="static/vendor/vega.js static/vega.js"' in html
    chart.set_data([{"a": 5}])
    assert chart.spec["data"] == {"values": [{"a": 5}]}
    with pytest.raises(stgo.WidgetError, match="no dataset"):
        chart.set_data([{"a": 5}], name="other")
    with pytest.raises(stgo.WidgetError, match="Vega-Lite spec"):
        app.vega_lite_chart("not a spec")
    with pytest.raises(stgo.WidgetError, match="JSON"):
        app.vega_lite_chart({"mark": "bar", "data": {"values": [{"a": float("nan")}]}})


def test_an_altair_chart_keeps_its_datasets_and_set_data_replaces_them() -> None:
    alt = pytest.importorskip("altair")
    pytest.importorskip("vl_convert")
    app = stgo.App()
    chart = app.altair_chart(alt.Chart({"values": [{"x": 1}]}).mark_bar().encode(x="x:Q")
                             .properties(title="Xs"))
    assert 'aria-label="Xs"' in chart.render()
    pd = pytest.importorskip("pandas")
    frame = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")
    chart = app.altair_chart(frame)
    (name,) = chart.spec["datasets"]
    chart.set_data(pd.DataFrame({"x": [7]}))
    assert chart.spec["datasets"][name] == [{"x": 7}]


def test_the_vega_bundle_is_served_from_the_installed_package(
    serve: Callable[..., Server]
) -> None:
    pytest.importorskip("vl_convert")
    server = serve(stgo.App())
    # Made in a child process at the first request: seconds, more on a busy machine.
    status, headers, body = _get(server, "/static/vendor/vega.js", None,
                                 {"Accept-Encoding": "gzip"}, timeout=180)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert headers["Content-Encoding"] == "gzip"
    text = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    assert b"window.vegaEmbed" in text
    status, _, css = _get(server, "/static/vega.css", None)
    assert status == 200 and b"vega-embed" in css


def test_without_the_extra_a_vega_chart_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "vl_convert" else real(name, *a))
    with pytest.raises(stgo.MissingExtraError, match=r"stgo\[charts\]"):
        stgo.App().vega_lite_chart({"mark": "bar"})


def test_an_array_without_numpy_here_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tensor:  # another library's array, numpy absent
        ndim, dtype, shape = 2, "uint8", (1, 1)

    monkeypatch.setitem(sys.modules, "numpy", None)
    with pytest.raises(stgo.MissingExtraError, match=r"stgo\[media\]"):
        stgo.App().image(Tensor())
    with pytest.raises(stgo.MissingExtraError, match=r"stgo\[media\]"):
        stgo.App().audio(Tensor(), sample_rate=8000)


def test_a_bundle_that_cannot_be_made_is_a_clear_404_tried_once(
    serve: Callable[..., Server], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    import stgo.web.assets as assets

    calls: list[int] = []

    def broken(timeout: float = 180.0) -> str:
        calls.append(1)
        raise RuntimeError("vl_convert could not make its bundle: boom")

    monkeypatch.setattr(assets, "vega_bundle", broken)
    server = serve(stgo.App())
    for _ in range(2):
        status, _, body = _get(server, "/static/vendor/vega.js", None)
        assert status == 404 and b"boom" in body
    assert calls == [1]
    assert "no vega bundle" in caplog.text


def test_a_refused_new_source_leaves_the_player_as_it_was() -> None:
    sound = stgo.App().audio(WAV)
    before = sound.src
    with pytest.raises(stgo.WidgetError):
        sound.set_source(b"junk")
    assert sound.src == before and sound.source() == (WAV, "audio/wav")
