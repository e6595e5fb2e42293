"""The store's codec: values to text and back, safely.

Only JSON-like values and a few types users keep in sessions are stored:
``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` (any keys
of these types), ``tuple``, ``set``, ``frozenset``, ``bytes``, ``datetime``,
``date``, ``time``, ``timedelta``, ``Decimal`` and ``UUID``.  Anything else
raises :class:`CodecError` when it is *stored*, naming the key and the type,
never later when it is read back.

pickle is used only when the app opts in with a secret (``pickle_key``), and
every pickled value is signed with HMAC-SHA256: a record somebody forged in
the store is refused, not unpickled.  A value that cannot be decoded (a forged
record, a type a new deploy no longer knows) raises :class:`CodecError` on
decode; the stores drop that key with a warning instead of losing the session.

Values nest at most :data:`MAX_DEPTH` containers deep, both ways: a deeper
one is refused when stored, and a deeper stored text is undecodable, so that
no value can make Python's recursion limit fail the page that reads it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import math
import pickle
import uuid
from decimal import Decimal
from typing import Any

from ..errors import CodecError
from .files import BlobSource, UploadedFile

__all__ = ["Codec", "MAX_DEPTH"]

#: How many containers deep a stored value may nest (a list in a dict is 2).
#: Far below Python's recursion limit, with room for the caller's own stack.
MAX_DEPTH = 100

# Tagged values are one-key objects {"$TAG": payload}; a plain dict that
# happens to have one key starting with "$" is escaped as "$map".
_TAG = "$"


class Codec:
    """Encodes values to JSON text with tags for the non-JSON types.

    :param pickle_key: a secret (bytes, at least 16) that allows any
        picklable value, signed with HMAC-SHA256.  ``None`` (the default)
        refuses types the codec does not know.  Never share the key with
        anybody who can write to the store.
    """

    def __init__(self, pickle_key: bytes | None = None) -> None:
        if pickle_key is not None and len(pickle_key) < 16:
            raise CodecError("pickle_key must be a secret of at least 16 bytes")
        self._pickle_key = pickle_key
        #: Where decoded uploads read their bytes (the store sets itself).
        self.blobs: BlobSource | None = None

    # -- encode ----------------------------------------------------------------------

    def encode(self, value: Any, key: str = "?") -> str:
        """Encode *value* (stored under *key*, for the error message) to text.

        :raises CodecError: *value* holds a type the codec does not store, or
            nests deeper than :data:`MAX_DEPTH`.
        """
        try:
            tree = self._to_tree(value, 0)
            return json.dumps(tree, separators=(",", ":"), allow_nan=True)
        except (_TooDeep, RecursionError):  # the latter: a caller already deep in its stack
            raise CodecError(
                f"cannot store {key!r}: the value nests deeper than {MAX_DEPTH} levels of "
                "lists, dicts, tuples or sets (or contains itself)") from None
        except _Unsupported as exc:
            raise CodecError(
                f"cannot store {key!r}: values of type {exc.type_name} are not supported by "
                "the store (use JSON-like values, tuple, set, bytes, datetime, date, time, "
                "timedelta, Decimal or UUID; or App(store_pickle_key=...) to allow pickle)"
            ) from None

    def _to_tree(self, v: Any, depth: int) -> Any:
        # Exact types first: bool is an int, and subclasses (an IntEnum, a
        # str subclass) would not come back as themselves.
        t = type(v)
        if t in _CONTAINERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep
        if v is None or t in (bool, int, str):
            if t is str:
                _check_text(v)
            return v
        if t is float:
            if math.isfinite(v):
                return v
            return {"$float": repr(v)}
        if t is list:
            return [self._to_tree(x, depth) for x in v]
        if t is dict:
            if all(type(k) is str for k in v) and not (
                    len(v) == 1 and next(iter(v)).startswith(_TAG)):
                for k in v:
                    _check_text(k)
                return {k: self._to_tree(x, depth) for k, x in v.items()}
            return {"$map": [[self._to_tree(k, depth), self._to_tree(x, depth)]
                             for k, x in v.items()]}
        if t is tuple:
            return {"$tuple": [self._to_tree(x, depth) for x in v]}
        if t is set or t is frozenset:
            items = [self._to_tree(x, depth) for x in v]
            return {"$set" if t is set else "$frozenset": items}
        if t is bytes:
            return {"$bytes": base64.b64encode(v).decode("ascii")}
        if t is dt.datetime:
            return {"$datetime": v.isoformat()}
        if t is dt.date:
            return {"$date": v.isoformat()}
        if t is dt.time:
            return {"$time": v.isoformat()}
        if t is dt.timedelta:
            return {"$timedelta": [v.days, v.seconds, v.microseconds]}
        if t is Decimal:
            return {"$decimal": str(v)}
        if t is uuid.UUID:
            return {"$uuid": str(v)}
        if t is UploadedFile and v.ref is not None:
            return {"$file": [v.name, v.size, v.type, v.ref]}
        if self._pickle_key is not None:
            try:
                blob = pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                raise _Unsupported(t.__qualname__) from None
            sig = hmac.new(self._pickle_key, blob, hashlib.sha256).hexdigest()
            return {"$pickle": [base64.b64encode(blob).decode("ascii"), sig]}
        raise _Unsupported(f"{t.__module__}.{t.__qualname__}")

    # -- decode ----------------------------------------------------------------------

    def decode(self, text: str | bytes) -> Any:
        """Decode text made by :meth:`encode`.

        :raises CodecError: the text is not a value this codec made (forged,
            corrupt, or pickled with another key / without opt-in).
        """
        try:
            return self._from_tree(json.loads(text), 0)
        except CodecError:
            raise
        except _TooDeep:
            raise CodecError(f"undecodable value (nested deeper than {MAX_DEPTH})") from None
        except RecursionError:
            # json's own parser on a text nested thousands deep.
            raise CodecError("undecodable value (nested too deep)") from None
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as exc:
            raise CodecError(f"undecodable value ({type(exc).__name__})") from None

    def _from_tree(self, v: Any, depth: int) -> Any:
        # Depth counted as _to_tree counts it: what encode made decodes.
        if isinstance(v, list):
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep
            return [self._from_tree(x, depth) for x in v]
        if not isinstance(v, dict):
            return v
        if len(v) == 1:
            tag, payload = next(iter(v.items()))
            if tag.startswith(_TAG):
                return self._tagged(tag, payload, depth)
        depth += 1
        if depth > MAX_DEPTH:
            raise _TooDeep
        return {k: self._from_tree(x, depth) for k, x in v.items()}

    def _tagged(self, tag: str, p: Any, depth: int) -> Any:
        if tag in _CONTAINER_TAGS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _TooDeep
        if tag == "$map":
            return {_hashable(self._from_tree(k, depth)): self._from_tree(x, depth)
                    for k, x in p}
        if tag == "$tuple":
            return tuple(self._from_tree(x, depth) for x in p)
        if tag == "$set":
            return {_hashable(self._from_tree(x, depth)) for x in p}
        if tag == "$frozenset":
            return frozenset(_hashable(self._from_tree(x, depth)) for x in p)
        if tag == "$float":
            return float(p)
        if tag == "$file":
            name, size, mime, ref = p
            if not (type(name) is str and type(size) is int and type(mime) is str
                    and type(ref) is str):
                raise CodecError("undecodable value (a bad $file)")
            return UploadedFile(name, size, mime, ref=ref, blobs=self.blobs)
        if tag == "$bytes":
            return base64.b64decode(p, validate=True)
        if tag == "$datetime":
            return dt.datetime.fromisoformat(p)
        if tag == "$date":
            return dt.date.fromisoformat(p)
        if tag == "$time":
            return dt.time.fromisoformat(p)
        if tag == "$timedelta":
            days, seconds, micros = p
            return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
        if tag == "$decimal":
            return Decimal(p)
        if tag == "$uuid":
            return uuid.UUID(p)
        if tag == "$pickle":
            if self._pickle_key is None:
                raise CodecError("a pickled value, and pickle is not enabled")
            blob_b64, sig = p
            blob = base64.b64decode(blob_b64, validate=True)
            good = hmac.new(self._pickle_key, blob, hashlib.sha256).hexdigest()
            if not isinstance(sig, str) or not hmac.compare_digest(good, sig):
                raise CodecError("a pickled value with a bad signature (forged?)")
            try:
                return pickle.loads(blob)  # noqa: S301 - signed by our key
            except Exception as exc:
                raise CodecError(f"a pickled value that no longer loads ({exc})") from None
        raise CodecError(f"unknown tag {tag!r}")


# Python types that nest, and the tags of the ones JSON has no container for.
_CONTAINERS = frozenset({list, dict, tuple, set, frozenset})
_CONTAINER_TAGS = frozenset({"$map", "$tuple", "$set", "$frozenset"})


class _TooDeep(Exception):
    """A value nests deeper than MAX_DEPTH."""


class _Unsupported(Exception):
    def __init__(self, type_name: str) -> None:
        super().__init__(type_name)
        self.type_name = type_name


def _check_text(s: str) -> None:
    # A lone surrogate is valid JSON but not UTF-8: refused when stored, not
    # when some page tries to encode it later.
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unsupported("str with a lone surrogate") from None


def _hashable(v: Any) -> Any:
    if isinstance(v, (list, dict, set)):
        raise CodecError("an unhashable set member or dict key")
    return v
