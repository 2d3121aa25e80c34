"""Product bodies of :class:`eokit.testing.hub_server.LocalHub`: ``Range``, faults, ``sendfile``, delivery counts."""

from __future__ import annotations

import os
import re
import select
import socket
import struct
import time
from typing import Any

__all__ = ["ProductBodies"]

_SENDFILE_STEP = 1 << 20


class ProductBodies:
    """Mixin of :class:`~eokit.testing.hub_routes.HubHandler`: serving a product's bytes."""

    hub: Any
    command: str
    headers: Any
    connection: Any
    wfile: Any
    _send: Any
    _record: Any
    send_response: Any
    send_header: Any
    end_headers: Any

    def _serve_product(self, p: Any, auth: str | None) -> None:
        hub = self.hub
        size = p.size
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            if start >= size:
                return self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
            status = 206
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline;filename="{p.filename}"',
            "ETag": p.checksums["md5"],
        }
        if self.command == "HEAD":
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            self._record(200)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(end - start + 1))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return None
        fault = hub._next_fault(p.id)
        if fault in ("429", "503", "500"):
            extra = {"Retry-After": hub.faults.retry_after} if fault != "500" else {}
            return self._send(int(fault), {"detail": f"injected {fault}"}, headers=extra)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        length = end - start + 1
        cut = length // 2 if fault in ("drop", "expire") else None
        flip = start + length // 2 if fault == "corrupt" else None
        with hub.lock:
            hub._active_downloads += 1
            hub.stats["max_concurrent_downloads"] = max(hub.stats["max_concurrent_downloads"], hub._active_downloads)
        acked0 = _bytes_acked(self.connection)
        body = length if cut is None else cut
        complete = False
        try:
            if p.path is not None and flip is None and fault != "slow":
                self._sendfile(p, start, body)
            else:
                self._write_chunks(p, start, end, cut, flip, fault)
            complete = True
            if cut is not None:
                if fault == "expire":
                    hub.expire_tokens()
                from eokit.testing.hub_server import _drop

                _drop(self)  # type: ignore[arg-type]  # mixed into a BaseHTTPRequestHandler
        finally:
            with hub.lock:
                hub._active_downloads -= 1
                hub._unsettled += 1
            self._pending = (acked0, body, complete)
            if not complete:
                self._settle(next_request=False)
        return None

    def _settle(self, *, next_request: bool) -> None:
        """Count the bytes of the last body the client really received (``stats["bytes_delivered"]``).

        A body is delivered once the client asks for something else on the connection;
        when the connection ends first, what the client's TCP stack acknowledged is
        (bytes still in our send queue never crossed the network).
        """
        pending = getattr(self, "_pending", None)
        if pending is None:
            return
        self._pending = None  # type: ignore[assignment]
        acked0, body, complete = pending
        acked1 = None if next_request and complete else _bytes_acked(self.connection)
        delivered = body if acked0 is None or acked1 is None else max(0, min(body, acked1 - acked0))
        with self.hub.lock:
            self.hub._unsettled -= 1
            self.hub.stats["bytes_delivered"] += delivered

    def finish(self) -> None:
        self._settle(next_request=False)
        super().finish()  # type: ignore[misc]  # BaseHTTPRequestHandler's, after this mixin

    def _count(self, p: Any, n: int) -> None:
        with self.hub.lock:
            self.hub.stats["bytes_sent"] += n
            self.hub.stats["bytes_by_product"][p.id] += n

    def _sendfile(self, p: Any, start: int, count: int) -> None:
        """File bodies go out zero-copy (``os.sendfile``), in steps so the byte counters stay live."""
        sock = self.connection.fileno()
        with open(p.path, "rb") as f:
            fd = f.fileno()
            pos, left = start, count
            while left > 0:
                try:
                    n = os.sendfile(sock, fd, pos, min(left, _SENDFILE_STEP))
                except BlockingIOError:  # a socket with a timeout is non-blocking underneath
                    select.select([], [sock], [], 1.0)
                    continue
                if n == 0:
                    break
                pos += n
                left -= n
                self._count(p, n)

    def _write_chunks(self, p: Any, start: int, end: int, cut: int | None, flip: int | None, fault: str | None) -> None:
        sent = 0
        pos = start
        for chunk in p.iter_bytes(start, end, 256 * 1024):
            if cut is not None and sent + len(chunk) > cut:
                chunk = chunk[: cut - sent]
            if flip is not None and pos <= flip < pos + len(chunk):
                b = bytearray(chunk)
                b[flip - pos] ^= 0xFF
                chunk = bytes(b)
            self.wfile.write(chunk)
            sent += len(chunk)
            pos += len(chunk)
            self._count(p, len(chunk))
            if fault == "slow":
                time.sleep(self.hub.faults.slow_delay)
            if cut is not None and sent >= cut:
                return


def _bytes_acked(sock: Any) -> int | None:
    """Bytes of this connection the peer's TCP stack acknowledged (Linux ``TCP_INFO.tcpi_bytes_acked``)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except (OSError, AttributeError):
        return None
    return struct.unpack_from("Q", info, 120)[0] if len(info) >= 128 else None
