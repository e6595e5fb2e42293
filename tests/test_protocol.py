"""protocol.decode / encode: unit tests and a property test over arbitrary input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stgo import protocol
from stgo.errors import ProtocolError
from stgo.protocol import ClientEvent, Resync, decode


def event(**fields: Any) -> str:
    return json.dumps({"v": 1, "type": "event", "widget": "w1", "event": "click", **fields})


# -- decode ------------------------------------------------------------------------------------


def test_event_is_decoded() -> None:
    got = decode(event(value={"a": [1, 2]}, seq=7))
    assert got == ClientEvent("w1", "click", {"a": [1, 2]}, 7)


def test_bytes_are_decoded_as_utf8() -> None:
    got = decode(event(value="héllo").encode("utf-8"))
    assert isinstance(got, ClientEvent) and got.value == "héllo"


def test_version_defaults_to_current_and_seq_and_value_are_optional() -> None:
    got = decode('{"type": "event", "widget": "w1", "event": "change"}')
    assert got == ClientEvent("w1", "change", None, None)


def test_resync() -> None:
    assert decode('{"v": 1, "type": "resync"}') == Resync()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff\xfe", "UTF-8"),
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("NaN", "JSON object"),
        ("[]", "JSON object"),
        ('"event"', "JSON object"),
        ('{"v": 2, "type": "event"}', "version"),
        ('{"type": "hello"}', "unknown message type"),
        ("{}", "unknown message type"),
        (event(widget=""), "'widget'"),
        (event(widget=5), "'widget'"),
        (event(widget="w" * 201), "'widget'"),
        (event(event=None), "'event'"),
        (event(event="e" * 51), "'event'"),
        (event(seq=-1), "'seq'"),
        (event(seq=1.5), "'seq'"),
        (event(seq=True), "'seq'"),
        (event(seq=2**53), "'seq'"),
        (event(seq="1"), "'seq'"),
        ('{"type": "event", "widget": "w", "event": "e", "value": ' + "[" * 40 + "]" * 40 + "}",
         "nested"),
        ("[" * 200_000, "not valid JSON"),
        ('{"type": "event", "seq": 1' + "0" * 5000 + "}", "not valid JSON"),
    ],
)
def test_malformed_input_is_a_protocol_error(raw: str | bytes, says: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(raw)
    assert says in str(info.value)
    assert len(str(info.value)) < 500  # safe and short enough to send back


def test_value_nested_just_within_the_limit_is_accepted() -> None:
    value = json.loads("[" * 31 + "]" * 31)
    got = decode(event(value=value))
    assert isinstance(got, ClientEvent)


# -- property: any input gives a message or a ProtocolError -----------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)

# Objects shaped almost like messages, to reach the deeper checks.
near_messages = st.fixed_dictionaries(
    {},
    optional={
        "v": st.sampled_from([1, 1.0, 2, "1", None, True]) | json_values,
        "type": st.sampled_from(["event", "resync", "patch", ""]) | json_values,
        "widget": st.text(max_size=300) | json_values,
        "event": st.text(max_size=60) | json_values,
        "value": json_values,
        "seq": st.integers(min_value=-2, max_value=2**54) | json_values,
    },
)


def _decodes_or_refuses(raw: str | bytes) -> None:
    try:
        got = decode(raw)
    except ProtocolError as exc:
        assert str(exc)
        return
    assert isinstance(got, (ClientEvent, Resync))
    if isinstance(got, ClientEvent):
        assert isinstance(got.widget, str) and got.widget
        assert isinstance(got.event, str) and got.event
        assert got.seq is None or (type(got.seq) is int and got.seq >= 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text(raw: str | bytes) -> None:
    _decodes_or_refuses(raw)


@settings(max_examples=300, deadline=None)
@given(json_values | near_messages)
def test_any_json_document(doc: Any) -> None:
    text = json.dumps(doc)
    _decodes_or_refuses(text)
    _decodes_or_refuses(text.encode("utf-8"))


# -- encode and builders -----------------------------------------------------------------------


def test_encode_stamps_the_version_and_is_compact() -> None:
    text = protocol.encode(protocol.error_message("bad <thing>", seq=3))
    assert text == '{"v":1,"type":"error","message":"bad <thing>","ack":3}'
    assert json.loads(protocol.encode(protocol.expired_message()))["type"] == "expired"


def test_patch_ops_round_trip_through_json() -> None:
    ops = [
        protocol.op_update("w1", "<p>x</p>"),
        protocol.op_value("w2", "v"),
        protocol.op_insert("global", "<p>y</p>", index=0),
        protocol.op_remove("w3"),
    ]
    msg = json.loads(protocol.encode(protocol.patch_message(ops, ack=9)))
    assert msg == {"v": 1, "type": "patch", "ack": 9, "ops": [
        {"op": "update", "id": "w1", "html": "<p>x</p>"},
        {"op": "value", "id": "w2", "value": "v"},
        {"op": "insert", "parent": "global", "html": "<p>y</p>", "index": 0},
        {"op": "remove", "id": "w3"},
    ]}
    assert "ack" not in protocol.patch_message([])


@pytest.mark.parametrize("value", [
    "\ud800", "a\udfffb", ["ok", "\udbff"], {"\ud800": 1}, {"k": [{"deep": "x\udc00"}]},
])
def test_lone_surrogates_anywhere_are_refused(value: Any) -> None:
    frame = json.dumps({"v": 1, "type": "event", "widget": "w1", "event": "change",
                        "value": value, "seq": 3})
    with pytest.raises(ProtocolError, match="lone surrogate") as caught:
        decode(frame)
    assert caught.value.seq == 3  # the client can match the error to its event
    # A real character outside the BMP (a surrogate *pair* in JSON) is fine.
    ok = decode(json.dumps({"v": 1, "type": "event", "widget": "w1", "event": "change",
                            "value": "\U0001f600"}))
    assert isinstance(ok, ClientEvent) and ok.value == "\U0001f600"
