"""MD5 of concurrent downloads, two streams hashed side by side on one core.

MD5 is a chain of dependent steps, so one stream keeps a core's execution
units mostly idle (hashlib: ~880 MiB/s here). Two independent streams
interleaved in one loop fill them: ~1.3 GiB/s for the pair on one core. With
4 downloads on 2 cores, hashing every byte once then costs ~0.7x the
core-seconds of hashlib, and MD5 is what bounds a DHuS download + verify.

:class:`Md5Pairing` is a rendezvous shared by the download threads: a thread
with a chunk to hash waits a few milliseconds for another stream's chunk; the
second thread to arrive hashes both (the first sleeps, so its core serves the
other pair) and a thread with no partner hashes alone. :class:`PairedMd5` is
one stream's MD5 with the ``hashlib`` interface (``update``/``hexdigest``), so
it drops into :class:`~eokit.hub.checksums.MultiHasher`. Digests are exactly
MD5 (RFC 1321); the tests compare them with ``hashlib`` for arbitrary chunkings.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
from numba import njit

from eokit.hub._md5_unrolled import md5_blocks_x2

__all__ = ["Md5Pairing", "PairedMd5", "md5_blocks", "warm_up"]

_INIT = np.array([0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476], dtype=np.uint32)
_S = np.array([7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4, dtype=np.uint32)
_K = np.array([int(abs(np.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)], dtype=np.uint32)
_G = np.array(
    list(range(16))
    + [(5 * i + 1) % 16 for i in range(16, 32)]
    + [(3 * i + 5) % 16 for i in range(32, 48)]
    + [(7 * i) % 16 for i in range(48, 64)],
    dtype=np.int64,
)


@njit(inline="always")
def _rot(t, s):  # pragma: no cover - numba
    return np.uint32((t << s) | (t >> (np.uint32(32) - s)))


@njit(inline="always")
def _words(buf, o, m):  # pragma: no cover - numba
    """The 16 little-endian words of the 64-byte block at ``buf[o:]`` into ``m``."""
    for j in range(16):
        p = o + 4 * j
        m[j] = (
            np.uint32(buf[p])
            | (np.uint32(buf[p + 1]) << np.uint32(8))
            | (np.uint32(buf[p + 2]) << np.uint32(16))
            | (np.uint32(buf[p + 3]) << np.uint32(24))
        )


@njit(inline="always")
def _block(a, b, c, d, m):  # pragma: no cover - numba
    """The 64 steps of one block from state ``(a, b, c, d)``: the state to add."""
    for i in range(0, 16):
        t = np.uint32(((b & c) | (~b & d)) + a + _K[i] + m[_G[i]])
        a, d, c, b = d, c, b, np.uint32(b + _rot(t, _S[i]))
    for i in range(16, 32):
        t = np.uint32(((d & b) | (~d & c)) + a + _K[i] + m[_G[i]])
        a, d, c, b = d, c, b, np.uint32(b + _rot(t, _S[i]))
    for i in range(32, 48):
        t = np.uint32((b ^ c ^ d) + a + _K[i] + m[_G[i]])
        a, d, c, b = d, c, b, np.uint32(b + _rot(t, _S[i]))
    for i in range(48, 64):
        t = np.uint32((c ^ (b | ~d)) + a + _K[i] + m[_G[i]])
        a, d, c, b = d, c, b, np.uint32(b + _rot(t, _S[i]))
    return a, b, c, d


@njit(cache=True, nogil=True)
def md5_blocks(state, buf, nblk):  # pragma: no cover - numba
    """Advance ``state`` (uint32[4]) over the first ``nblk`` 64-byte blocks of ``buf`` (uint8)."""
    a0, b0, c0, d0 = state[0], state[1], state[2], state[3]
    m = np.empty(16, np.uint32)
    for k in range(nblk):
        _words(buf, 64 * k, m)
        a, b, c, d = _block(a0, b0, c0, d0, m)
        a0, b0, c0, d0 = np.uint32(a0 + a), np.uint32(b0 + b), np.uint32(c0 + c), np.uint32(d0 + d)
    state[0], state[1], state[2], state[3] = a0, b0, c0, d0


class _Offer:
    """A waiting thread's blocks, until another thread hashes them (or it gives up)."""

    __slots__ = ("blocks", "claimed", "done", "error", "stream")

    def __init__(self, stream: PairedMd5, blocks: np.ndarray) -> None:
        self.stream = stream
        self.blocks = blocks
        self.claimed = False
        self.done = False
        self.error: BaseException | None = None


class Md5Pairing:
    """Pairs the block runs of concurrent :class:`PairedMd5` streams (one per download thread).

    ``wait`` (seconds) is how long a chunk waits for a partner, and only when
    another stream hashed something in the last ``recent`` seconds: a lone
    download never waits.
    """

    def __init__(self, *, wait: float = 0.005, recent: float = 0.05) -> None:
        self.wait = wait
        self.recent = recent
        self._cv = threading.Condition()
        self._offer: _Offer | None = None
        self._last: dict[int, float] = {}
        self.paired_blocks = 0
        self.solo_blocks = 0

    def hash(self, stream: PairedMd5, blocks: np.ndarray) -> None:
        """Advance ``stream`` over ``blocks`` (uint8, a multiple of 64 bytes), with a partner if one comes."""
        now = time.monotonic()
        with self._cv:
            self._last[id(stream)] = now
            offer = self._offer
            if offer is not None and offer.stream is not stream and not offer.claimed:
                offer.claimed = True
                self._offer = None
            else:
                offer = None
                if self._offer is None and self._others_recent(stream, now):
                    mine = _Offer(stream, blocks)
                    self._offer = mine
                    deadline = now + self.wait
                    while not mine.claimed and (left := deadline - time.monotonic()) > 0:
                        self._cv.wait(left)
                    if mine.claimed:
                        while not mine.done:
                            self._cv.wait()
                        if mine.error is not None:
                            raise mine.error
                        return
                    self._offer = None  # nobody came: hash alone
        if offer is None:
            md5_blocks(stream.state, blocks, blocks.size // 64)
            self.solo_blocks += blocks.size // 64
            return
        try:
            self._pair(stream, blocks, offer.stream, offer.blocks)
        except BaseException as exc:
            offer.error = exc
            raise
        finally:
            with self._cv:
                offer.done = True
                self._cv.notify_all()

    def _others_recent(self, stream: PairedMd5, now: float) -> bool:
        me = id(stream)
        stale = [k for k, t in self._last.items() if now - t > self.recent]
        for k in stale:
            del self._last[k]
        return any(k != me for k in self._last)

    def _pair(self, a: PairedMd5, blocks_a: np.ndarray, b: PairedMd5, blocks_b: np.ndarray) -> None:
        na, nb = blocks_a.size // 64, blocks_b.size // 64
        common = min(na, nb)
        md5_blocks_x2(a.state, blocks_a, b.state, blocks_b, common)
        if na > common:
            md5_blocks(a.state, blocks_a[64 * common :], na - common)
        if nb > common:
            md5_blocks(b.state, blocks_b[64 * common :], nb - common)
        self.paired_blocks += 2 * common
        self.solo_blocks += na + nb - 2 * common


class PairedMd5:
    """One stream's MD5 with hashlib's ``update``/``hexdigest``, hashed through a shared :class:`Md5Pairing`."""

    name = "md5"

    def __init__(self, pairing: Md5Pairing) -> None:
        self.pairing = pairing
        self.state = _INIT.copy()
        self._tail = bytearray()  # bytes of an unfinished 64-byte block
        self._length = 0

    def update(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        self._length += len(view)
        if self._tail:
            need = 64 - len(self._tail)
            self._tail += view[:need]
            view = view[need:]
            if len(self._tail) < 64:
                return
            md5_blocks(self.state, np.frombuffer(self._tail, np.uint8), 1)
            self._tail = bytearray()
        whole = len(view) // 64 * 64
        if whole:
            self.pairing.hash(self, np.frombuffer(view[:whole], np.uint8))
        self._tail += view[whole:]

    def digest(self) -> bytes:
        """The MD5 of everything fed so far (the stream can still be fed afterwards)."""
        n = self._length
        last = bytes(self._tail) + b"\x80" + b"\x00" * ((55 - n) % 64) + (8 * n % 2**64).to_bytes(8, "little")
        state = self.state.copy()
        md5_blocks(state, np.frombuffer(last, np.uint8), len(last) // 64)
        return state.astype("<u4").tobytes()

    def hexdigest(self) -> str:
        return self.digest().hex()


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels now rather than at the first download.

    Covers writable and read-only buffers (``bytes`` chunks are read-only).
    """
    writable = np.zeros(64, np.uint8)
    readonly = np.frombuffer(bytes(64), np.uint8)
    for a in (writable, readonly):
        md5_blocks(_INIT.copy(), a, 1)
        for b in (writable, readonly):
            md5_blocks_x2(_INIT.copy(), a, _INIT.copy(), b, 1)
