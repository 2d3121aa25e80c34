"""Reading a download response: bounded reads, stall and deadline checks; ranges, sizes, digests."""

from __future__ import annotations

import os
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable

import requests
import urllib3

from eokit.hub.exceptions import ServerError

__all__ = [
    "Restart",
    "Stalled",
    "chunks",
    "content_range_start",
    "digest_matches",
    "total_size",
]

_ENCODED_CHUNK = 1 << 14
"""Raw bytes decoded at a time when a server compresses a body anyway (at most ~16 MiB once inflated)."""


class Restart(Exception):
    """Internal: the partial file is unusable; start from byte 0."""


class Stalled(ServerError):
    """A download attempt fell below the low-speed limit (it is resumed) or passed its deadline (it fails)."""


class SpeedGuard:
    """Cuts an attempt that stays below ``limit`` bytes/s for ``window`` seconds, or passes ``deadline``.

    ``deadline`` is a :func:`time.monotonic` instant (None: none).
    """

    def __init__(self, limit: int, window: float, deadline: float | None, what: str) -> None:
        self.limit, self.window, self.deadline, self.what = limit, window, deadline, what
        self._since = time.monotonic()
        self._bytes = 0

    def check(self, n: int) -> None:
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            raise Stalled(f"{self.what} passed its deadline (hub_file_deadline)")
        self._bytes += n
        if self.limit and now - self._since >= self.window:
            if self._bytes < self.limit * (now - self._since):
                raise Stalled(
                    f"{self.what} received {self._bytes} bytes in {now - self._since:.0f} s "
                    f"(below {self.limit} bytes/s, hub_low_speed_limit)"
                )
            self._since, self._bytes = now, 0


def chunks(
    response: requests.Response,
    size: int,
    *,
    stop: Callable[[], bool] | None = None,
    guard: SpeedGuard | None = None,
) -> Iterable[bytes]:
    """The body as it arrives (one receive at a time), checking ``stop()`` and ``guard`` after each.

    Bodies are asked for with ``Accept-Encoding: identity``; a server that compresses
    anyway is decoded ``16 KiB`` of wire bytes at a time, so one read never inflates
    to more than a few MiB (the caller caps the total at the declared size).
    """
    raw = response.raw
    encoding = (response.headers.get("Content-Encoding") or "identity").lower()
    try:
        if encoding == "identity":
            source: Iterable[bytes] = iter(lambda: raw.read1(size), b"")
        else:
            source = raw.stream(_ENCODED_CHUNK, decode_content=True)
        for chunk in source:
            if guard is not None:
                guard.check(len(chunk))
            yield chunk
            if stop is not None and stop():
                # a plain body only: in a compressed or chunked one the kernel's byte count says
                # nothing about how many body bytes can be read without waiting
                chunked = "chunked" in (response.headers.get("Transfer-Encoding") or "").lower()
                if encoding == "identity" and not chunked:
                    yield from _already_received(raw)
                return
    except (OSError, ValueError, urllib3.exceptions.HTTPError) as exc:
        # a connection lost mid-body (IncompleteRead, ProtocolError, a bad compressed stream)
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None


_TLS_RECORD = 17 * 1024
"""Over TLS the kernel counts encrypted bytes: one record is left unread so the drain never waits."""
_SETTLE_LOOKS, _SETTLE_STEP = 25, 0.002
"""How often and how far apart a stopping download looks at its receive queue before taking it."""


def _already_received(raw: urllib3.response.BaseHTTPResponse, rounds: int = 4) -> Iterable[bytes]:
    """On a clean stop, the body bytes the kernel already holds for this connection (``FIONREAD``
    on the response's public ``fileno()``): written rather than fetched again by the rerun.

    Reading stops first and the socket's receive buffer is set to its minimum, so the server
    may only fill the window it was already given (Linux never withdraws one); once the
    kernel's count holds still (at most ~50 ms) the socket is shut for reading (no reopened
    window is announced after ``SHUT_RD``) and what is queued is taken: a byte the client's
    TCP acknowledged is not dropped at the close, but for at most a minimal buffer's worth. The connection is
    closed after a stop, never reused. Over TLS the kernel's count includes record overhead
    and may end in a partial record, so one record and 1/256 (overhead) are left there:
    every read is served from data already received.
    """
    try:
        import fcntl
        import termios
    except ImportError:  # not POSIX
        return

    def queued() -> int:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])

    tls = isinstance(getattr(raw, "connection", None), urllib3.connection.HTTPSConnection)
    try:
        fd = raw.fileno()
        with socket.socket(fileno=os.dup(fd)) as other:  # a second handle: closing it keeps the connection
            # the smallest receive buffer: the window the server was given is all it may still send
            other.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            last = queued()
            for _ in range(_SETTLE_LOOKS):
                time.sleep(_SETTLE_STEP)
                now, last = last, queued()
                if now == last:
                    break
            other.shutdown(socket.SHUT_RD)
    except (AttributeError, OSError, ValueError):  # no socket (closed, mocked, not a plain one)
        return
    for _ in range(rounds):
        try:
            count = queued()
        except OSError:
            return
        waiting = count - _TLS_RECORD - count // 256 if tls else count
        if waiting <= 0:
            return
        while waiting > 0:
            chunk = raw.read1(waiting)  # available now: does not wait for the network
            if not chunk:
                return
            waiting -= len(chunk)
            yield chunk


def digest_matches(actual: str | None, expected: str) -> bool:
    """Equal digests; a truncated expected digest (multihash allows it, >= 64 bits) matches its prefix."""
    if actual is None:
        return False
    if len(expected) < len(actual):
        return len(expected) >= 16 and actual.startswith(expected)
    return actual == expected


def content_range_start(value: str | None) -> int | None:
    if not value:
        return None
    m = re.match(r"bytes\s+(\d+)-\d+/(\d+|\*)", value)
    return int(m.group(1)) if m else None


def total_size(response: requests.Response, offset: int) -> int | None:
    cr = response.headers.get("Content-Range")
    if cr:
        m = re.match(r"bytes\s+\d+-\d+/(\d+)", cr)
        if m:
            return int(m.group(1))
    cl = response.headers.get("Content-Length")
    if cl and cl.isdigit() and response.headers.get("Content-Encoding") in (None, "identity"):
        return int(cl) + (offset if response.status_code == 206 else 0)
    return None
