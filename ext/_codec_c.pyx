# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The C twin of ``ocppkit/_codec_py.py``: same class name, constructor, methods and errors.

Its fast path scans the frame header (`[2,"<id>","<Action>",` and friends) with plain C loops
over the bytes, hands the payload slice to the cached msgspec decoder of the action and builds
the frame object. Anything that is not a well-formed frame with a valid payload goes to the
shared exact decoder (``ocppkit._codec_common.decode_slow``), exactly as in the pure twin.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.string cimport memchr


cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)

import msgspec

from ocppkit._base import Response
from ocppkit._codec_common import CodecConfig, decode_result_payload, decode_slow, encode_frame
from ocppkit._payload import _decoder, has_datetimes
from ocppkit.frames import Call, CallResult, Send

__all__ = ["Codec"]

cdef object _Raw = msgspec.Raw
cdef object _untyped = msgspec.json.Decoder()
cdef tuple _FAST_ERRORS = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)


cdef inline bint _is_ws(unsigned char c) noexcept:
    return c == 32 or c == 10 or c == 13 or c == 9


cdef inline Py_ssize_t _skip_ws(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    while i < n and _is_ws(p[i]):
        i += 1
    return i


cdef inline bint _id_char(unsigned char c) noexcept:
    # printable ASCII without '"' and '\': the same set as the pure twin's regex
    return 0x20 <= c <= 0x7e and c != 34 and c != 92


cdef inline bint _action_char(unsigned char c) noexcept:
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c == 95 or c == 45


cdef inline bint _digit(unsigned char c) noexcept:
    return 48 <= c <= 57


cdef bint _datetime_suspect(const unsigned char* p, Py_ssize_t n) noexcept:
    """C version of ocppkit._payload.datetime_suspect (same rule, memchr driven)."""
    cdef const unsigned char* q
    cdef const unsigned char* end = p + n
    cdef Py_ssize_t i
    cdef unsigned char sign
    q = <const unsigned char*>memchr(p, 32, n)
    while q != NULL:
        i = q - p
        if i > 0 and _digit(p[i - 1]) and i + 3 < n and _digit(p[i + 1]) and _digit(p[i + 2]) and p[i + 3] == 58:
            return True
        q = <const unsigned char*>memchr(q + 1, 32, end - q - 1) if q + 1 < end else NULL
    for sign in (43, 45):
        q = <const unsigned char*>memchr(p, sign, n)
        while q != NULL:
            i = q - p
            if (i > 0 and _digit(p[i - 1]) and i + 5 < n and _digit(p[i + 1]) and _digit(p[i + 2])
                    and _digit(p[i + 3]) and _digit(p[i + 4]) and p[i + 5] == 34):
                return True
            q = <const unsigned char*>memchr(q + 1, sign, end - q - 1) if q + 1 < end else NULL
    return False


def datetime_suspect(bytes data):
    """Exposed for the parity tests."""
    return _datetime_suspect(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef class _LazyDecode:
    """The msgspec decoder of one payload class, built on first use (it resolves the class's
    annotations, which builds the enums it needs)."""

    cdef object cls
    cdef object _decode
    cdef bint has_dt

    def __cinit__(self, cls):
        self.cls = cls
        self._decode = None

    cdef inline void ready(self) except *:
        if self._decode is None:
            self._decode = _decoder(self.cls).decode
            self.has_dt = has_datetimes(self.cls)

    cdef inline object decode(self, bytes payload):
        return self._decode(payload)


cdef class Codec:
    """Decode and encode OCPP-J frames of one OCPP version (C extension twin)."""

    cdef readonly str version
    cdef object _cfg
    # action (bytes for frames, str for action=) -> (action str, bound decode method)
    cdef dict _requests, _responses, _sends
    cdef bint _fast_ok, _has_send
    cdef Py_ssize_t _max

    implementation = "c"

    def __init__(self, str version, *, max_frame_size=1 << 20, max_depth=32, policy=None):
        self._cfg = CodecConfig(version, max_frame_size=max_frame_size, max_depth=max_depth, policy=policy)
        self.version = version
        self._requests = {k.encode(): (k, _LazyDecode(c)) for k, c in self._cfg.requests.items()}
        self._responses = {k: (k, _LazyDecode(c)) for k, c in self._cfg.responses.items()}
        self._sends = {k.encode(): (k, _LazyDecode(c)) for k, c in self._cfg.sends.items()}
        self._fast_ok = self._cfg.policy is None
        self._has_send = 6 in self._cfg.types
        self._max = max_frame_size

    def __repr__(self):
        return f"Codec({self.version!r})"

    def decode(self, data, action=None):
        """Decode one WebSocket text message (see the pure twin for the contract)."""
        cdef bytes b
        if action is not None and type(action) is not str:
            raise TypeError(f"action: expected str, got {type(action).__name__}")
        if type(data) is bytes:
            b = <bytes>data
        elif isinstance(data, str):
            b = (<str>data).encode("utf-8", "surrogatepass")
        else:
            b = bytes(data)
        cdef object frame
        if self._fast_ok and PyBytes_GET_SIZE(b) <= self._max:
            frame = self._fast(b, action)
            if frame is not None:
                return frame
        return decode_slow(self._cfg, b, action)

    cdef object _fast(self, bytes b, object action):
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
        cdef Py_ssize_t i = 0, id0, id1, a0 = 0, a1 = 0, start, stop, end
        cdef int type_id
        i = _skip_ws(p, 0, n)
        if i >= n or p[i] != 91:  # [
            return None
        i = _skip_ws(p, i + 1, n)
        if i >= n or not (p[i] == 50 or p[i] == 51 or p[i] == 54):  # 2, 3, 6
            return None
        type_id = p[i] - 48
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 44:
            return None
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 34:
            return None
        id0 = i + 1
        i = id0
        while i < n and _id_char(p[i]):
            i += 1
        id1 = i
        if i >= n or p[i] != 34 or id1 == id0 or id1 - id0 > 36:
            return None
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 44:
            return None
        i = _skip_ws(p, i + 1, n)
        if i < n and p[i] == 34:  # an action
            a0 = i + 1
            i = a0
            while i < n and _action_char(p[i]):
                i += 1
            a1 = i
            if i >= n or p[i] != 34 or a1 == a0 or a1 - a0 > 64:
                return None
            i = _skip_ws(p, i + 1, n)
            if i >= n or p[i] != 44:
                return None
            i = _skip_ws(p, i + 1, n)
        start = i
        end = n
        while end > start and _is_ws(p[end - 1]):
            end -= 1
        if end - start < 3 or p[end - 1] != 93 or p[start] != 123:  # ] {
            return None
        stop = end - 1
        while stop > start and _is_ws(p[stop - 1]):
            stop -= 1
        cdef PyObject* entry
        cdef bytes key
        if type_id == 2:
            if a1 == 0:
                return None
            key = PyBytes_FromStringAndSize(<const char*>p + a0, a1 - a0)
            entry = PyDict_GetItem(self._requests, key)
        elif type_id == 3:
            if a1 != 0:
                return None
            if action is None:
                payload = PyBytes_FromStringAndSize(<const char*>p + start, stop - start)
                try:
                    _untyped.decode(payload)
                except _FAST_ERRORS:
                    return None
                return CallResult(PyUnicode_DecodeASCII(<const char*>p + id0, id1 - id0, NULL), _Raw(payload))
            entry = PyDict_GetItem(self._responses, action) if type(action) is str else NULL
        else:
            if a1 == 0 or not self._has_send:
                return None
            key = PyBytes_FromStringAndSize(<const char*>p + a0, a1 - a0)
            entry = PyDict_GetItem(self._sends, key)
        if entry == NULL:
            return None
        name = (<tuple>entry)[0]
        dec = <_LazyDecode>(<tuple>entry)[1]
        dec.ready()
        if name == "DataTransfer" or memmem(p + start, stop - start, b'"customData"', 12) != NULL:
            return None  # the exact path checks the depth of open values
        if dec.has_dt and _datetime_suspect(p + start, stop - start):
            return None  # the exact path checks date-time text
        payload = PyBytes_FromStringAndSize(<const char*>p + start, stop - start)
        try:
            obj = dec.decode(payload)
        except _FAST_ERRORS:
            return None
        uid = PyUnicode_DecodeASCII(<const char*>p + id0, id1 - id0, NULL)
        if type_id == 2:
            return Call(uid, name, obj)
        if type_id == 3:
            return CallResult(uid, obj)
        return Send(uid, name, obj)

    def decode_result(self, result, str action):
        """Type and validate the payload of a CALLRESULT decoded without ``action=``."""
        return decode_result_payload(self._cfg, result, action)

    def encode(self, frame):
        """Encode a frame; a payload the schema forbids raises ocppkit.LocalProtocolError."""
        return encode_frame(self._cfg, frame)
