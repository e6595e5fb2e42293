"""Session IDs: shape, randomness, strict validation of whatever arrives, redaction."""

from __future__ import annotations

import base64
import re

import pytest

from stgo import ids
from stgo.ids import RANDOM_BYTES, is_valid_session_id, new_session_id, redact

ID_SHAPE = re.compile(r"session_([0-9]+)_([A-Za-z0-9_-]+)")


def parts(session_id: str) -> tuple[str, str]:
    m = ID_SHAPE.fullmatch(session_id)
    assert m is not None, session_id
    return m.group(1), m.group(2)


def test_format_is_prefix_timestamp_random() -> None:
    stamp, random_part = parts(new_session_id(now=1_700_000_000.25))
    assert stamp == "1700000000250"  # whole milliseconds of the given time


def test_timestamp_defaults_to_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time", lambda: 1_234_567_890.5)
    stamp, _ = parts(new_session_id())
    assert stamp == "1234567890500"


def test_random_part_has_at_least_128_bits_and_is_url_safe() -> None:
    assert RANDOM_BYTES * 8 >= 128
    _, random_part = parts(new_session_id())
    # URL-safe base64 without padding: decodes to the random bytes.
    raw = base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))
    assert len(raw) * 8 >= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", random_part)


def test_random_part_comes_from_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_token(nbytes: int) -> str:
        calls.append(nbytes)
        return "A" * 32

    monkeypatch.setattr(ids.secrets, "token_urlsafe", fake_token)
    assert new_session_id(now=1_700_000_000).endswith("_" + "A" * 32)
    assert calls == [RANDOM_BYTES]


def test_100k_ids_are_unique_and_valid() -> None:
    made = [new_session_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)
    assert len({parts(i)[1] for i in made}) == len(made)  # unique without the timestamp too
    assert all(is_valid_session_id(i) for i in made)


@pytest.mark.parametrize("now", [0.0, 1.0, 1_000.0, 1_700_000_000.0, 4_102_444_800.0])
def test_ids_made_from_any_clock_validate(now: float) -> None:
    # A fake clock near 0 (as tests inject) must still give IDs the manager accepts.
    assert is_valid_session_id(new_session_id(now=now))


GOOD = new_session_id(now=1_700_000_000)
_, GOOD_RANDOM = parts(GOOD)

JUNK = {
    "empty": "",
    "10 KB": "session_1700000000000_" + "a" * 10_240,
    "10 MB": "x" * 10_000_000,
    "non-ASCII letter": GOOD[:-1] + "é",
    "non-ASCII digits": "session_" + "\u0661" * 13 + "_" + GOOD_RANDOM,
    "fullwidth digits": "session_" + "\uff11" * 13 + "_" + GOOD_RANDOM,
    "path traversal": "../../etc/passwd",
    "traversal in random": "session_1700000000000_../" + GOOD_RANDOM[3:],
    "slash in random": GOOD[:-1] + "/",
    "percent-encoded": GOOD[:-3] + "%2F",
    "wrong prefix": "sess_" + GOOD[len("session_"):],
    "upper-case prefix": "Session_" + GOOD[len("session_"):],
    "no prefix": GOOD[len("session_"):],
    "prefix only": "session_",
    "no timestamp": "session__" + GOOD_RANDOM,
    "no random part": "session_1700000000000_",
    "no random part, no separator": "session_1700000000000",
    "random part one short": GOOD[:-1],
    "random part one long": GOOD + "A",
    "letters in timestamp": "session_17000000x0000_" + GOOD_RANDOM,
    "negative timestamp": "session_-1700000000000_" + GOOD_RANDOM,
    "timestamp too long": "session_" + "1" * 17 + "_" + GOOD_RANDOM,
    "trailing newline": GOOD + "\n",
    "trailing CRLF": GOOD + "\r\n",
    "trailing space": GOOD + " ",
    "leading space": " " + GOOD,
    "NUL inside": GOOD[:20] + "\x00" + GOOD[21:],
    "base64 padding": GOOD[:-1] + "=",
    "plus sign (not URL-safe)": GOOD[:-1] + "+",
    "cookie header": "stgo_session=" + GOOD,
}


@pytest.mark.parametrize("value", list(JUNK.values()), ids=list(JUNK))
def test_junk_strings_are_refused(value: str) -> None:
    assert is_valid_session_id(value) is False


@pytest.mark.parametrize(
    "value", [None, 0, 1_700_000_000, 1.5, GOOD.encode(), [GOOD], {GOOD: 1}, object()],
    ids=["None", "zero", "int", "float", "bytes", "list", "dict", "object"],
)
def test_non_strings_are_refused(value: object) -> None:
    assert is_valid_session_id(value) is False


def test_a_made_id_is_accepted() -> None:
    # The positive control for the refusals above.
    assert is_valid_session_id(GOOD) is True
    assert is_valid_session_id(new_session_id()) is True


def test_redact_is_short_stable_and_hides_the_id() -> None:
    sid = new_session_id()
    tag = redact(sid)
    assert tag == redact(sid)  # stable within the process: follow a session in the logs
    assert len(tag) <= 20
    assert sid not in tag
    _, random_part = parts(sid)
    # Not even a fragment of the secret part leaks.
    assert not any(random_part[i:i + 6] in tag for i in range(len(random_part) - 5))


def test_redact_tells_sessions_apart() -> None:
    made = [new_session_id() for _ in range(2_000)]
    assert len({redact(s) for s in made}) == len(made)


def test_redact_is_keyed_not_a_plain_hash() -> None:
    import hashlib

    sid = new_session_id()
    plain = hashlib.sha256(sid.encode()).hexdigest()
    assert redact(sid)[-12:] not in plain  # a bare hash could be checked against a guess


@pytest.mark.parametrize("junk", ["", "\ud800", "x" * 100_000, "é"])
def test_redact_accepts_any_string(junk: str) -> None:
    assert redact(junk).startswith("sid:")
