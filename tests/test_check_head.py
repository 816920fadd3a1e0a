"""ocppkit._head.read_head: a frame's message type, id and action (or error code) from its first
bytes, the same for str and bytes, without decoding the frame."""

from __future__ import annotations

import pytest

from ocppkit import Codec, MessageType, OcppError
from ocppkit._head import WINDOW, Head, read_head

CASES = [
    ('[2,"19223201","BootNotification",{"reason":"PowerUp"}]', Head(2, "19223201", "BootNotification")),
    ('[3,"19223201",{"status":"Accepted"}]', Head(3, "19223201", None)),
    ('[4,"19223201","NotImplemented","",{}]', Head(4, "19223201", "NotImplemented")),
    ('[5,"19223201","GenericError","",{}]', Head(5, "19223201", "GenericError")),
    ('[6,"a-1","NotifyPeriodicEventStream",{}]', Head(6, "a-1", "NotifyPeriodicEventStream")),
    # JSON whitespace anywhere in the head
    (' \t\r\n[ 2 ,\n "x" ,\t"Heartbeat" , {}]', Head(2, "x", "Heartbeat")),
    # any message type id, valid or not: the head says what the frame claims
    ('[9,"x",{}]', Head(9, "x", None)),
    ('[12345,"x"]', Head(12345, "x", None)),
    # an id that is not a valid OCPP id (escaped, too long, not printable ASCII): no id, the rest is read
    ('[2,"a\\"b","Heartbeat",{}]', Head(2, None, "Heartbeat")),
    ('[2,"' + "x" * 37 + '","Heartbeat",{}]', Head(2, None, "Heartbeat")),
    ('[2,"é","Heartbeat",{}]', Head(2, None, "Heartbeat")),
    ('[2,"","Heartbeat",{}]', Head(2, "", "Heartbeat")),
    # a third element that is not a plain string is no name
    ('[2,"x",17,{}]', Head(2, "x", None)),
    ('[4,"x","Bad\\"Code","",{}]', Head(4, "x", None)),
    # no head
    ("", Head(None, None, None)),
    ("not json", Head(None, None, None)),
    ("{}", Head(None, None, None)),
    ("[2]", Head(None, None, None)),
    ('[2,17,"Heartbeat",{}]', Head(None, None, None)),
    ('["2","x","Heartbeat",{}]', Head(None, None, None)),
    ('\x0b[2,"x","Heartbeat",{}]', Head(None, None, None)),  # vertical tab: not JSON whitespace
]


@pytest.mark.parametrize(("text", "head"), CASES)
def test_read_head_str_and_bytes_agree(text: str, head: Head) -> None:
    assert read_head(text) == head
    assert read_head(text.encode()) == head


def test_only_the_window_is_read() -> None:
    head = '[2,"x","Heartbeat"'  # the head must end within the window
    assert read_head(" " * (WINDOW - len(head)) + head + ",{}]") == Head(2, "x", "Heartbeat")
    assert read_head(" " * (WINDOW - len(head) + 1) + head + ",{}]") == Head(2, "x", None)
    assert read_head(" " * WINDOW + head + ",{}]") == Head(None, None, None)
    huge = '[2,"big","DataTransfer",{"vendorId":"' + "x" * 10_000_000 + '"}]'
    assert read_head(huge) == Head(2, "big", "DataTransfer")


def test_invalid_utf8_in_bytes_is_replaced() -> None:
    assert read_head(b'[2,"x","Heart\xffbeat",{}]') == Head(2, "x", "Heart\ufffdbeat")


@pytest.mark.parametrize(
    "text",
    [
        '[2,"c1","Heartbeat",{}]',
        '[3,"c1",{"currentTime":"2030-01-01T00:00:00Z"}]',
        '[4,"c1","GenericError","oops",{}]',
        '[2,"c1","Heartbeat",{"extra":1}]',  # breaks the schema: the codec still reads its head
        '[2,"c1","NoSuchAction",{}]',
    ],
)
def test_read_head_agrees_with_the_codec(text: str) -> None:
    head = read_head(text)
    try:
        frame = Codec("2.0.1").decode(text)
    except OcppError as exc:
        assert (head.message_type, head.unique_id) == (exc.message_type, exc.unique_id)
        return
    assert head.unique_id == frame.unique_id
    assert head.message_type == {"Call": MessageType.CALL, "CallResult": 3, "CallError": 4}[type(frame).__name__]
    assert head.name == getattr(frame, "action", getattr(frame, "error_code", None))
