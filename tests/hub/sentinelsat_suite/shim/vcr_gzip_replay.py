"""pytest plugin for the replay only: vcrpy (9.x) hands a recorded gzip body to urllib3 2.x undecoded,
so five of sentinelsat's tests fail with sentinelsat itself. Replayed responses whose recording says
``Content-Encoding: gzip``/``deflate`` are decoded once, as the live server's answer would have been by
urllib3. Loaded with ``-p vcr_gzip_replay``; it changes no test and applies to any client under test."""

import email.message
import gzip
import io
import zlib

from vcr import stubs

_init = stubs.VCRHTTPResponse.__init__


def _decoded_init(self, recorded_response, request_url=None):
    _init(self, recorded_response, request_url)
    encoding = (self.msg.get("content-encoding") or "").strip().lower()
    if encoding not in ("gzip", "deflate"):
        return
    body = self._content.getvalue()
    try:
        body = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body)
    except (OSError, zlib.error):
        return  # not what it says: leave it to the client
    self._content = io.BytesIO(body)
    self.recorded_response = {**recorded_response, "body": {"string": body}}
    headers = email.message.Message()
    for key, value in self.msg.items():
        if key.lower() not in ("content-encoding", "content-length"):
            headers[key] = value
    headers["Content-Length"] = str(len(body))
    self.headers = self.msg = headers
    self.length = str(len(body))


stubs.VCRHTTPResponse.__init__ = _decoded_init
