"""Reading a download response: plain bodies straight into one reused buffer; ranges, sizes, digests."""

from __future__ import annotations

import contextlib
import re
import select
import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:
    import fcntl
    import termios
except ImportError:  # pragma: no cover - Windows: no draining
    pass

import requests

__all__ = [
    "Restart",
    "chunks",
    "content_range_start",
    "digest_matches",
    "terminate_as_interrupt",
    "total_size",
]


class Restart(Exception):
    """Internal: the partial file is unusable; start from byte 0."""


def chunks(
    response: requests.Response, size: int, stop: Callable[[], bool] | None = None
) -> Iterable[bytes | memoryview]:
    """The body in chunks; plain bodies are read straight into one reused buffer (fewer copies).

    When ``stop()`` turns true, the chunks end after what has already arrived: the
    bytes waiting in the socket's receive buffer are read without waiting for more
    (so an interrupted download keeps everything the network delivered).
    """
    raw = response.raw
    fp = getattr(raw, "_fp", None)
    encoding = (response.headers.get("Content-Encoding") or "identity").lower()
    if encoding != "identity" or fp is None or not hasattr(fp, "readinto"):
        for chunk in response.iter_content(chunk_size=size):
            yield chunk
            if stop is not None and stop():
                return
        return
    buf = bytearray(size)
    view = memoryview(buf)
    stopped = stop or (lambda: False)
    reader = getattr(fp, "fp", None)
    # a Content-Length body: fill the buffer one receive at a time, so a stop is seen within one receive
    by_receive = (
        isinstance(getattr(fp, "length", None), int)
        and not getattr(fp, "chunked", True)
        and hasattr(reader, "readinto1")
    )
    try:
        while True:
            n = _fill(fp, reader, view, stopped) if by_receive else fp.readinto(view)
            if not n:
                break
            yield view[:n]
            if stopped():
                yield from _drain(fp, view)
                return
    except (OSError, ValueError) as exc:  # http.client's IncompleteRead is a ValueError subclass
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
    finally:
        raw.release_conn() if fp.isclosed() else None


def _fill(fp: Any, reader: Any, view: memoryview, stopped: Callable[[], bool]) -> int:
    """Receive into ``view`` until it is full, the body ends, or ``stopped()``; keep ``fp``'s bookkeeping."""
    filled = 0
    while filled < len(view) and fp.length:
        n = reader.readinto1(view[filled : filled + min(len(view) - filled, fp.length)])
        if not n:  # the server hung up early: what arrived is kept, the caller resumes from there
            fp._close_conn()
            break
        filled += n
        fp.length -= n
        if stopped():
            break
    if fp.length == 0 and not fp.isclosed():
        fp._close_conn()  # the body is complete: as http.client does, so the connection is reused
    return filled


def _drain(fp: Any, view: memoryview) -> Iterable[memoryview]:
    """What is already in the receive buffers of ``fp`` (an ``http.client.HTTPResponse``), without blocking.

    The receive buffer is shrunk first, so the server can only send what the window
    it was last offered allows; the bytes already queued, and those still arriving
    within that window, are read in a few rounds (the last one waits 20 ms at most).
    """
    sock = getattr(getattr(getattr(fp, "fp", None), "raw", None), "_sock", None)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # offer no new window
        fileno = sock.fileno()
    except OSError:
        return
    reader = getattr(fp, "fp", None)
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0)
        waited = False
        for _ in range(64):
            # exactly what is there: the reader's buffer, then the socket's queue
            pending = len(reader.peek(1)) + struct.unpack("i", fcntl.ioctl(fileno, termios.FIONREAD, b"\0\0\0\0"))[0]
            if pending <= 0:
                if waited or not select.select([sock], [], [], 0.02)[0]:
                    return
                waited = True  # the tail of the last window offered may still be arriving
                continue
            while pending > 0:
                n = fp.readinto(view[: min(len(view), pending)])
                if not n:
                    return
                pending -= n
                yield view[:n]
            if fp.isclosed():
                return
    except (OSError, ValueError, TypeError, AttributeError, NameError):  # closed, or no FIONREAD here
        return
    finally:
        try:
            sock.settimeout(timeout)
        except OSError:
            pass


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


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt (a clean stop) while downloading, if nobody else handles it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
