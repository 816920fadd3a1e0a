# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The C twin of ``ocppkit/_codec_py.py``: same class name, constructor, methods and errors.

Its fast path scans the frame header (`[2,"<id>","<Action>",` and friends) with plain C loops
over the bytes, hands the payload slice to the cached msgspec decoder of the action and builds
the frame object. Anything that is not a well-formed frame with a valid payload goes to the
exact decoder (``ocppkit._exact.decode_exact``), exactly as in the pure twin; this twin's
date-time guard goes with it, in the codec's configuration.

The message type ids are plain C ints here (2 CALL, 3 CALLRESULT, 6 SEND; ``ocppkit.MessageType``).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.datetime cimport datetime_tzinfo, import_datetime
from cpython.dict cimport PyDict_GetItem
from cpython.object cimport PyObject
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy


cdef extern from "string.h" nogil:
    void* memmem(const void* haystack, size_t haystacklen, const void* needle, size_t needlelen)

import msgspec

from ocppkit._base import Response
from ocppkit._codec_common import NO_RELAXATIONS, CodecConfig, frame_parts
from ocppkit._datetimes import has_datetimes
from ocppkit._encode import encode_frame
from ocppkit._exact import decode_exact, decode_result_payload
from ocppkit._wire import ENCODER as _ENCODER
from ocppkit._wire import decoder as _decoder
from ocppkit.frames import Call, CallResult, Send

__all__ = ["Codec"]

# ocppkit.MessageType's ids as C constants (a test checks they agree).
cdef enum:
    MT_CALL = 2
    MT_CALLRESULT = 3
    MT_SEND = 6

import_datetime()  # the datetime C API, for datetime_tzinfo

cdef object _Raw = msgspec.Raw
cdef tuple _NO_RELAXATIONS = NO_RELAXATIONS
# A payload class's role -> the message type that carries it (for the encode fast path).
cdef dict _ROLE_TYPES = {"request": MT_CALL, "response": MT_CALLRESULT, "send": MT_SEND}
#: For the test that the C constants are ocppkit.MessageType's.
MESSAGE_TYPES = {"CALL": MT_CALL, "CALLRESULT": MT_CALLRESULT, "SEND": MT_SEND}
cdef object _encode = _ENCODER.encode


cdef extern from "Python.h":
    bint PyUnicode_IS_COMPACT_ASCII(object o)
    unsigned char* PyUnicode_1BYTE_DATA(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)


cdef inline bint _safe_id(str uid):
    """1 to 36 printable ASCII characters without '"' or '\\': written as is between quotes."""
    cdef Py_ssize_t n = len(uid), i
    cdef const unsigned char* p
    cdef unsigned char c
    if n < 1 or n > 36 or not PyUnicode_IS_COMPACT_ASCII(uid):
        return False
    p = PyUnicode_1BYTE_DATA(uid)
    cdef unsigned int bad = 0
    for i in range(n):
        c = p[i]
        bad |= (<unsigned int>(c - 0x20) > 0x5e) | (c == 34) | (c == 92)
    return not bad


cdef object _untyped = msgspec.json.Decoder()
cdef tuple _FAST_ERRORS = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)


cdef inline bint _is_ws(unsigned char c) noexcept:
    return c == 32 or c == 10 or c == 13 or c == 9


cdef inline Py_ssize_t _skip_ws(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    while i < n and _is_ws(p[i]):
        i += 1
    return i


cdef uint64_t _ONES = 0x0101010101010101ULL
cdef uint64_t _HIGHS = 0x8080808080808080ULL


cdef inline Py_ssize_t _id_end(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept:
    """Where the closing quote of a message id starting at ``i`` is, or -1 unless the id is 1 to
    36 printable ASCII characters without '"' and '\\' (the set of the pure twin's regex). The
    quote is found first (memchr), then the characters are checked eight at a time: in a word,
    a byte below 0x20, a byte above 0x7e and a backslash each set their byte's high bit (the
    bit tricks are exact for "is there one"), and the bytes left over one by one."""
    cdef const unsigned char* q = <const unsigned char*>memchr(p + i, 34, min(n - i, 37))
    if q == NULL:
        return -1
    cdef Py_ssize_t end = q - p, k = i
    if end == i:
        return -1
    cdef uint64_t w, x, bad = 0
    while k + 8 <= end:
        memcpy(&w, p + k, 8)
        x = w ^ (_ONES * 92)
        bad |= ((w - _ONES * 0x20) & ~w) | (w + _ONES) | w | ((x - _ONES) & ~x)
        k += 8
    cdef unsigned int tail = (bad & _HIGHS) != 0
    while k < end:
        tail |= (<unsigned int>(p[k] - 0x20) > 0x5e) | (p[k] == 92)
        k += 1
    return -1 if tail else end


cdef inline str _ascii(const unsigned char* p, Py_ssize_t n):
    """A str of ``n`` bytes already checked to be ASCII (a message id): copied, not decoded."""
    cdef str out = PyUnicode_New(n, 127)
    memcpy(PyUnicode_1BYTE_DATA(out), p, n)
    return out


cdef unsigned char _ACTION_CHARS[256]  # 1 for the bytes an action name may hold: [A-Za-z0-9_-]
cdef int _c
for _c in range(256):
    _ACTION_CHARS[_c] = (48 <= _c <= 57) or (65 <= _c <= 90) or (97 <= _c <= 122) or _c == 95 or _c == 45


cdef inline bint _digit(unsigned char c) noexcept:
    return 48 <= c <= 57


cdef bint _datetime_suspect(const unsigned char* p, Py_ssize_t n) noexcept:
    """C version of ocppkit._datetimes.datetime_suspect (same rule, memchr driven)."""
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
    """The C date-time guard, for this twin's exact path, ``ocppkit.decode_payload`` and the
    parity tests."""
    return _datetime_suspect(<const unsigned char*>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


# ----------------------------------------------------------------- fast validation
#
# A conservative check that a payload object encodes to a schema-valid payload, without
# decoding it again: every field is checked against a plan built once per class from
# msgspec.inspect. It only ever says "certainly valid"; anything unusual (a str-enum member in
# a str field, a dict for a nested object, a naive datetime, a float for an integer ...) makes
# it answer "not sure", and the shared exact path (encode, then validate by decoding) decides,
# so results and errors are exactly those of the pure twin.

cdef enum Kind:
    K_STR = 1
    K_INT = 2
    K_FLOAT = 3
    K_BOOL = 4
    K_DT = 5
    K_ENUM = 6
    K_STRUCT = 7
    K_LIST = 8
    K_ANY = 9
    K_CUSTOM = 10
    K_UNKNOWN = 11

import datetime as _datetime
import math as _math

from ocppkit._base import CustomData as _CustomData

cdef object _UNSET = msgspec.UNSET
cdef object _datetime_type = _datetime.datetime
cdef object _timezone_type = _datetime.timezone
cdef object _isfinite = _math.isfinite
cdef dict _PLANS = {}


cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
        int type
    int T_OBJECT_EX


cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member


cdef class _F:
    cdef object attr
    cdef Py_ssize_t offset  # where the field's slot is in the object (-1: use getattr)
    cdef bint required
    cdef int kind
    cdef Py_ssize_t maxlen, minitems, maxitems
    cdef object ge, le, sub


cdef class _Plan:
    cdef tuple fields
    cdef bint post_init


cdef _F _field_check(object t, object attr, bint required, object cls=None):
    cdef _F f = _F()
    i = msgspec.inspect
    f.attr = attr
    f.offset = -1
    if cls is not None:
        descr = None
        for klass in cls.__mro__:
            if attr in klass.__dict__:
                descr = klass.__dict__[attr]
                break
        if type(descr).__name__ == "member_descriptor" and (<PyMemberDescrObject*>descr).d_member.type == T_OBJECT_EX:
            f.offset = (<PyMemberDescrObject*>descr).d_member.offset
    f.required = required
    f.maxlen = f.minitems = f.maxitems = -1
    f.ge = f.le = f.sub = None
    if isinstance(t, i.StrType):
        f.kind = K_STR
        if t.max_length is not None:
            f.maxlen = t.max_length
    elif isinstance(t, i.IntType):
        f.kind = K_INT
        f.ge, f.le = t.ge, t.le
    elif isinstance(t, i.FloatType):
        f.kind = K_FLOAT
        f.ge, f.le = t.ge, t.le
    elif isinstance(t, i.BoolType):
        f.kind = K_BOOL
    elif isinstance(t, i.DateTimeType):
        f.kind = K_DT
    elif isinstance(t, i.EnumType):
        f.kind = K_ENUM
        f.sub = t.cls
    elif isinstance(t, i.StructType):
        f.kind = K_STRUCT
        f.sub = t.cls
    elif isinstance(t, i.ListType):
        f.kind = K_LIST
        f.sub = _field_check(t.item_type, None, True)
        if t.min_length is not None:
            f.minitems = t.min_length
        if t.max_length is not None:
            f.maxitems = t.max_length
    elif isinstance(t, i.CustomType) and t.cls is _CustomData:
        f.kind = K_CUSTOM
    elif isinstance(t, i.AnyType):
        f.kind = K_ANY
    else:
        f.kind = K_UNKNOWN
    return f


cdef _Plan _plan(object cls):
    cdef PyObject* found = PyDict_GetItem(_PLANS, cls)
    if found != NULL:
        return <_Plan>found
    cdef _Plan plan = _Plan()
    info = msgspec.inspect.type_info(cls)
    plan.fields = tuple([_field_check(f.type, f.name, f.required, cls) for f in info.fields])
    plan.post_init = "__post_init__" in cls.__dict__
    _PLANS[cls] = plan
    return plan


cdef bint _ok_struct(object obj, object cls) except -1:
    return _ok_planned(obj, _plan(cls))


cdef bint _ok_planned(object obj, _Plan plan) except -1:
    cdef _F f
    cdef PyObject* slot
    for f in plan.fields:
        if f.offset >= 0:
            slot = (<PyObject**>((<char*><PyObject*>obj) + f.offset))[0]
            if slot == NULL:
                return False
            v = <object>slot
        else:
            v = getattr(obj, f.attr)
        if v is _UNSET:
            if f.required:
                return False
            continue
        if not _ok_value(v, f):
            return False
    if plan.post_init:
        try:
            obj.__post_init__()
        except Exception:
            return False
    return True


cdef bint _ok_value(object v, _F f) except -1:
    cdef int kind = f.kind
    cdef object t = type(v)
    cdef Py_ssize_t n, i
    if kind == K_STR:
        return t is str and (f.maxlen < 0 or len(<str>v) <= f.maxlen)
    if kind == K_ENUM:
        return t is f.sub
    if kind == K_INT:
        if t is not int:
            return False
        return (f.ge is None or v >= f.ge) and (f.le is None or v <= f.le)
    if kind == K_FLOAT:
        if t is float:
            if not _isfinite(v):
                return False
        elif t is not int:
            return False
        return (f.ge is None or v >= f.ge) and (f.le is None or v <= f.le)
    if kind == K_STRUCT:
        return t is f.sub and _ok_struct(v, t)
    if kind == K_LIST:
        if t is not list:
            return False
        n = len(<list>v)
        if (f.minitems >= 0 and n < f.minitems) or (f.maxitems >= 0 and n > f.maxitems):
            return False
        for i in range(n):
            if not _ok_value((<list>v)[i], <_F>f.sub):
                return False
        return True
    if kind == K_DT:
        return t is _datetime_type and type(datetime_tzinfo(v)) is _timezone_type
    if kind == K_BOOL:
        return t is bool
    if kind == K_CUSTOM:
        return t is _CustomData and type(v.vendor_id) is str and len(v.vendor_id) <= 255
    if kind == K_ANY:
        return True  # any JSON value; the encoder refuses what it cannot write
    return False


def certainly_valid(obj):
    """Exposed for tests: True only when ``obj`` certainly encodes to a schema-valid payload."""
    return _ok_struct(obj, type(obj))


cdef class _LazyDecode:
    """The msgspec decoder of one payload class, built on first use (it resolves the class's
    annotations, which builds the enums it needs)."""

    cdef object cls
    cdef object _decode
    cdef bint has_dt
    cdef bint open_values  # 2.x DataTransfer: its data is an open value (the exact path checks its depth)
    cdef bint empty_ok  # the payload `{}` is valid: it decodes to cls() (all fields at their defaults)

    def __cinit__(self, cls, bint open_values=False):
        self.cls = cls
        self._decode = None
        self.open_values = open_values

    cdef inline void ready(self) except *:
        if self._decode is None:
            self._decode = _decoder(self.cls).decode
            self.has_dt = has_datetimes(self.cls)
            try:
                self.empty_ok = self._decode(b"{}") == self.cls()
            except Exception:
                self.empty_ok = False

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
    cdef dict _enc_info
    # The last CALL action met (bytes) and its entry: a station or CSMS repeats actions, so
    # most frames skip building the key and the dict lookup.
    cdef bytes _last_key
    cdef object _last_entry
    # (_receive, _encode_call, _encode_result), bound once: what every connection on this codec calls.
    cdef readonly tuple _entry_points

    implementation = "c"

    def __init__(self, str version, *, max_frame_size=1 << 20, max_depth=32, policy=None):
        self._cfg = CodecConfig(
            version, max_frame_size=max_frame_size, max_depth=max_depth, policy=policy, suspect=datetime_suspect
        )
        self.version = version
        self._requests = {k.encode(): (k, _LazyDecode(c, k == "DataTransfer")) for k, c in self._cfg.requests.items()}
        self._responses = {k: (k, _LazyDecode(c, k == "DataTransfer")) for k, c in self._cfg.responses.items()}
        self._sends = {k.encode(): (k, _LazyDecode(c, k == "DataTransfer")) for k, c in self._cfg.sends.items()}
        self._enc_info = {}
        self._last_key = b""
        self._last_entry = None
        self._fast_ok = self._cfg.policy is None
        self._has_send = self._cfg.has_send
        self._max = max_frame_size
        self._entry_points = (self._receive, self._encode_call, self._encode_result)

    def __repr__(self):
        return f"Codec({self.version!r})"

    def decode(self, data, action=None):
        """Decode one WebSocket text message (see the pure twin for the contract)."""
        return self._decode(data, action, False)

    def _receive(self, data, action=None):
        """``decode`` for ``ocppkit.Connection``: the frame as ``ocppkit._codec_common.Parts``
        (same frames, same errors; the fast path builds the tuple, not the frame)."""
        return self._decode(data, action, True)

    cdef object _decode(self, data, object action, bint parts):
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
            frame = self._fast(b, action, parts)
            if frame is not None:
                return frame
        frame = decode_exact(self._cfg, b, action)
        return frame_parts(frame) if parts else frame

    cdef object _fast(self, bytes b, object action, bint parts):
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
        cdef Py_ssize_t i = 0, id0, id1, a0 = 0, a1 = 0, start, stop, end
        cdef int type_id
        i = _skip_ws(p, 0, n)
        if i >= n or p[i] != 91:  # [
            return None
        i = _skip_ws(p, i + 1, n)
        if i >= n or not (p[i] == 48 + MT_CALL or p[i] == 48 + MT_CALLRESULT or p[i] == 48 + MT_SEND):
            return None
        type_id = p[i] - 48
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 44:
            return None
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 34:
            return None
        id0 = i + 1
        id1 = _id_end(p, id0, n)
        if id1 < 0:
            return None
        i = id1
        i = _skip_ws(p, i + 1, n)
        if i >= n or p[i] != 44:
            return None
        i = _skip_ws(p, i + 1, n)
        if i < n and p[i] == 34:  # an action
            a0 = i + 1
            i = a0
            while i < n and _ACTION_CHARS[p[i]]:
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
        if type_id == MT_CALL:
            if a1 == 0:
                return None
            if (a1 - a0 == PyBytes_GET_SIZE(self._last_key)
                    and memcmp(p + a0, PyBytes_AS_STRING(self._last_key), a1 - a0) == 0):
                entry = <PyObject*>self._last_entry
            else:
                key = PyBytes_FromStringAndSize(<const char*>p + a0, a1 - a0)
                entry = PyDict_GetItem(self._requests, key)
                if entry != NULL:
                    self._last_key = key
                    self._last_entry = <object>entry
        elif type_id == MT_CALLRESULT:
            if a1 != 0:
                return None
            if action is None:
                payload = PyBytes_FromStringAndSize(<const char*>p + start, stop - start)
                try:
                    _untyped.decode(payload)
                except _FAST_ERRORS:
                    return None
                uid = _ascii(p + id0, id1 - id0)
                if parts:
                    return (MT_CALLRESULT, uid, None, _Raw(payload), _NO_RELAXATIONS)
                return CallResult(uid, _Raw(payload))
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
        if dec.open_values or memmem(p + start, stop - start, b'"customData"', 12) != NULL:
            return None  # the exact path checks the depth of open values
        if stop - start == 2 and p[start + 1] == 125 and dec.empty_ok:  # `{}`: what decoding it gives
            obj = dec.cls()
        else:
            if dec.has_dt and _datetime_suspect(p + start, stop - start):
                return None  # the exact path checks date-time text
            payload = PyBytes_FromStringAndSize(<const char*>p + start, stop - start)
            try:
                obj = dec.decode(payload)
            except _FAST_ERRORS:
                return None
        uid = _ascii(p + id0, id1 - id0)
        if parts:
            return (type_id, uid, None if type_id == MT_CALLRESULT else name, obj, _NO_RELAXATIONS)
        if type_id == MT_CALL:
            return Call(uid, name, obj)
        if type_id == MT_CALLRESULT:
            return CallResult(uid, obj)
        return Send(uid, name, obj)

    def decode_result(self, result, str action):
        """Type and validate the payload of a CALLRESULT decoded without ``action=``."""
        return decode_result_payload(self._cfg, result, action)

    def encode(self, frame):
        """Encode a frame; a payload the schema forbids raises ocppkit.LocalProtocolError.

        Fast path for CALL, CALLRESULT and SEND with a valid payload of this version; anything
        else (including every error) takes the shared exact path, so results are identical.
        """
        cdef object t = type(frame)
        cdef object out
        if t is Call:
            out = self._fast_encode(MT_CALL, frame.unique_id, frame.action, frame.payload)
        elif t is CallResult:
            out = self._fast_encode(MT_CALLRESULT, frame.unique_id, None, frame.payload)
        elif t is Send:
            out = self._fast_encode(MT_SEND, frame.unique_id, frame.action, frame.payload)
        else:
            out = None
        return out if out is not None else encode_frame(self._cfg, frame)

    def _encode_call(self, uid, action, payload):
        """``encode(Call(uid, action, payload))``, without building the frame on the fast path
        (for ``ocppkit.Connection``; same bytes, same errors)."""
        out = self._fast_encode(MT_CALL, uid, action, payload)
        return out if out is not None else encode_frame(self._cfg, Call(uid, action, payload))

    def _encode_result(self, uid, payload):
        """``encode(CallResult(uid, payload))``, likewise."""
        out = self._fast_encode(MT_CALLRESULT, uid, None, payload)
        return out if out is not None else encode_frame(self._cfg, CallResult(uid, payload))

    cdef object _fast_encode(self, int type_id, object uid, object action, object payload):
        """The frame's bytes when the payload is certainly valid, else None (the exact path
        then decides: it raises the exact error, or accepts)."""
        cdef PyObject* found = PyDict_GetItem(self._enc_info, type(payload))
        if found == NULL:
            if not self._learn(type(payload)):
                return None
            found = PyDict_GetItem(self._enc_info, type(payload))
        cdef tuple info = <tuple>found  # (message type id, quoted action, validating decode, action, plan)
        if <int>info[0] != type_id:
            return None
        if type(uid) is not str or not _safe_id(<str>uid):
            return None
        if type_id != MT_CALLRESULT and action != info[3]:
            return None
        if not _ok_planned(payload, <_Plan>info[4]):
            return None
        # One msgspec call writes the whole frame: the id is safe (written as is between
        # quotes), the action a known name, so the bytes are those the exact path writes.
        try:
            if type_id == MT_CALLRESULT:
                return _encode((MT_CALLRESULT, uid, payload))
            return _encode((type_id, uid, info[3], payload))
        except Exception:
            return None

    cdef bint _learn(self, object cls) except -1:
        meta = getattr(cls, "__ocpp__", None)
        if meta is None or meta.version != self.version:
            return False
        type_id = _ROLE_TYPES.get(meta.role)
        if type_id is None:
            return False
        self._enc_info[cls] = (
            type_id, b'"' + meta.action.encode("ascii") + b'"', _decoder(cls).decode, meta.action, _plan(cls)
        )
        return True
