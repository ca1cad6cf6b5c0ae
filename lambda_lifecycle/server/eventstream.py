"""The AWS event-stream framing, as ``InvokeWithResponseStream`` answers in.

A response-streaming invocation answers with a body of binary messages, each::

    total length (4 bytes) | headers length (4) | prelude CRC32 (4) | headers | payload | CRC32 (4)

big-endian, the first CRC32 over the 8 bytes before it, the last over everything before it. A
header is its name's length (1 byte), the name, a value type (7: a string) and, for a string, its
length (2 bytes) and the UTF-8 bytes. The SDKs decode these (botocore's ``eventstream`` module);
no maintained Python library encodes them on their own (the AWS common runtime's event-stream
code is bound to its RPC client), so this module writes the few lines the framing takes.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")

OCTETS = "application/octet-stream"


def encode_headers(headers: dict[str, str]) -> bytes:
    """The headers part of a message: string-valued headers only."""
    parts: list[bytes] = []
    for name, value in headers.items():
        key = name.encode()
        data = value.encode()
        parts.append(bytes((len(key),)) + key + bytes((_STRING,)) + struct.pack(">H", len(data)))
        parts.append(data)
    return b"".join(parts)


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message."""
    head = encode_headers(headers)
    total = _PRELUDE.size + _CRC.size + len(head) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(head))
    prelude += _CRC.pack(zlib.crc32(prelude))
    message = prelude + head + payload
    return message + _CRC.pack(zlib.crc32(message))


def event(event_type: str, payload: bytes, content_type: str = OCTETS) -> bytes:
    """An ``event`` message of type ``event_type``."""
    return encode_message(
        {":event-type": event_type, ":content-type": content_type, ":message-type": "event"},
        payload,
    )


_CHUNK_HEAD = encode_headers(
    {":event-type": "PayloadChunk", ":content-type": OCTETS, ":message-type": "event"}
)


def payload_chunk(data: bytes) -> bytes:
    """A ``PayloadChunk`` event carrying ``data`` (its headers encoded once, at import)."""
    total = _PRELUDE.size + _CRC.size + len(_CHUNK_HEAD) + len(data) + _CRC.size
    prelude = _PRELUDE.pack(total, len(_CHUNK_HEAD))
    prelude += _CRC.pack(zlib.crc32(prelude))
    crc = zlib.crc32(data, zlib.crc32(_CHUNK_HEAD, zlib.crc32(prelude)))
    return b"".join((prelude, _CHUNK_HEAD, data, _CRC.pack(crc)))


def invoke_complete(
    error_code: str | None = None, error_details: str | None = None, log_result: str | None = None
) -> bytes:
    """The ``InvokeComplete`` event that ends the stream (its JSON holds only what is set)."""
    body: dict[str, Any] = {}
    if error_code is not None:
        body["ErrorCode"] = error_code
    if error_details is not None:
        body["ErrorDetails"] = error_details
    if log_result is not None:
        body["LogResult"] = log_result
    return event("InvokeComplete", json.dumps(body).encode(), "application/json")
