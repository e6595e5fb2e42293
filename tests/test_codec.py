"""The store's codec: every supported type round-trips, others are refused at
set() naming the key and type, pickle only signed and by opt-in, and a forged
value is refused, not trusted."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import pytest

from stgo.store import Codec, CodecError

VALUES: list[Any] = [
    None, True, False, 0, -7, 2**100, 1.5, float("inf"), float("-inf"), "", "héllo ☃",
    [1, [2, "x"]], {"a": 1, "b": [None]}, {1: "one", (2, 3): "tuple key"},
    {"$datetime": "not a tag, a user key"}, (1, "a", (2,)), {1, 2, "x"}, frozenset({3}),
    b"\x00\xffbytes", dt.datetime(2024, 5, 6, 7, 8, 9, 123456),
    dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.date(2024, 2, 29), dt.time(23, 59, 1), dt.timedelta(days=2, seconds=3),
    decimal.Decimal("12.3400"), uuid.UUID("12345678-1234-5678-1234-567812345678"),
    [dt.date(2020, 1, 1), {"nested": (b"x", decimal.Decimal("1"))}],
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_every_supported_type_round_trips_with_its_type(value: Any) -> None:
    codec = Codec()
    back = codec.decode(codec.encode(value, "k"))
    assert back == value and type(back) is type(value)


def test_nan_round_trips() -> None:
    codec = Codec()
    back = codec.decode(codec.encode(float("nan")))
    assert back != back


class Custom:
    pass


@pytest.mark.parametrize("value", [Custom(), object(), [1, Custom()], {"a": {2j}},
                                   "\ud800", {"\udfff": 1}], ids=repr)
def test_unsupported_values_are_refused_naming_the_key_and_type(value: Any) -> None:
    with pytest.raises(CodecError) as refused:
        Codec().encode(value, "my_key")
    assert "'my_key'" in str(refused.value)
    assert any(name in str(refused.value) for name in ("Custom", "object", "complex",
                                                       "surrogate"))


def test_pickle_only_by_opt_in_and_signed() -> None:
    signed = Codec(pickle_key=b"k" * 32)
    text = signed.encode(Custom(), "c")
    assert isinstance(signed.decode(text), Custom)
    with pytest.raises(CodecError, match="pickle is not enabled"):
        Codec().decode(text)
    with pytest.raises(CodecError, match="signature"):
        Codec(pickle_key=b"z" * 32).decode(text)
    forged = text.replace(text.split('"')[3][:8], "AAAAAAAA")
    with pytest.raises(CodecError):
        signed.decode(forged)
    with pytest.raises(CodecError, match="16 bytes"):
        Codec(pickle_key=b"short")


@pytest.mark.parametrize("text", ["", "{", '{"$nope": 1}', '{"$date": "yesterday"}',
                                  '{"$bytes": "!!"}', '{"$set": [[1]]}', '{"$tuple": 3}',
                                  '{"$timedelta": [1]}', b"\xff\xfe"], ids=repr)
def test_forged_or_corrupt_text_raises_codec_error_only(text: Any) -> None:
    with pytest.raises(CodecError):
        Codec().decode(text)


def test_a_stored_upload_round_trips_as_a_reference_and_a_forged_one_is_refused() -> None:
    from stgo.store.files import UploadedFile

    codec = Codec()
    stored = UploadedFile("a.csv", 3, "text/csv", ref="r" * 32)
    back = codec.decode(codec.encode({"files": [stored]}, "k"))["files"][0]
    assert isinstance(back, UploadedFile) and back.same_file(stored)
    assert (back.name, back.size, back.type, back.ref) == ("a.csv", 3, "text/csv", "r" * 32)
    with pytest.raises(ValueError, match="is gone"):
        back.getvalue()  # no store to read from: gone, not a crash
    with pytest.raises(CodecError):
        codec.encode(UploadedFile("b.csv", 1, "text/csv"), "k")  # bytes on this disk only
    for forged in ('{"$file": [1, 2, 3, 4]}', '{"$file": ["a", 1, "t"]}'):
        with pytest.raises(CodecError):
            codec.decode(forged)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_nesting_is_bounded_with_a_clear_error_both_ways() -> None:
    from stgo.store.codec import MAX_DEPTH

    codec = Codec()
    deepest = _nested(MAX_DEPTH)
    assert codec.decode(codec.encode(deepest, "tree")) == deepest
    for value in (_nested(MAX_DEPTH + 1), _nested(5000), _tuples(500)):
        with pytest.raises(CodecError, match=rf"'tree'.*deeper than {MAX_DEPTH}"):
            codec.encode(value, "tree")
    looped: list[Any] = []
    looped.append(looped)
    with pytest.raises(CodecError, match="contains itself"):
        codec.encode(looped, "loop")
    # Stored text (forged, or from elsewhere) nested too deep is undecodable,
    # never a RecursionError: past the bound, and past json's own limit.
    for text in ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
                 '{"$tuple":[' * (MAX_DEPTH + 1) + "]}" * (MAX_DEPTH + 1),
                 "[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        with pytest.raises(CodecError, match="undecodable value"):
            codec.decode(text)


def _tuples(depth: int) -> Any:
    value: Any = ()
    for _ in range(depth):
        value = (value,)
    return value
