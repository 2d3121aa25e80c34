"""The paired MD5 against hashlib: any chunking, alone or two streams side by side, across threads."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from eokit.hub import _md5_unrolled_gen
from eokit.hub.checksums import MultiHasher
from eokit.hub.md5_pairs import Md5Pairing, PairedMd5


def _feed(hasher, data: bytes, cuts: list[int]) -> None:
    pos = 0
    for cut in sorted(cuts):
        hasher.update(memoryview(data)[pos:cut])
        pos = cut
    hasher.update(data[pos:])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=12))
def test_any_chunking_equals_hashlib(data, cuts):
    hasher = PairedMd5(Md5Pairing())
    _feed(hasher, data, [min(c, len(data)) for c in cuts])
    assert hasher.hexdigest() == hashlib.md5(data).hexdigest()


def test_rfc1321_test_suite():
    # the test vectors of RFC 1321, appendix A.5
    vectors = {
        b"": "d41d8cd98f00b204e9800998ecf8427e",
        b"a": "0cc175b9c0f1b6a831c399e269772661",
        b"abc": "900150983cd24fb0d6963f7d28e17f72",
        b"message digest": "f96b697d7cb7938d525a2f31aaf161d0",
        b"abcdefghijklmnopqrstuvwxyz": "c3fcd3d76192e4007dfb496cca67e13b",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789": "d174ab98d277d9f5a5611c2c9f419d9f",
        b"1234567890" * 8: "57edf4a22be3c955ac49da2e2107b67a",
    }
    for message, expected in vectors.items():
        hasher = PairedMd5(Md5Pairing())
        hasher.update(message)
        assert hasher.hexdigest() == expected


def test_threads_pair_up_and_every_digest_is_right():
    rng = np.random.default_rng(5)
    pairing = Md5Pairing(wait=0.05)
    datas = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in (300_001, 250_000, 400_037, 64 * 999)]
    digests: list[str | None] = [None] * len(datas)
    barrier = threading.Barrier(len(datas))

    def run(i: int) -> None:
        hasher = PairedMd5(pairing)
        data = memoryview(datas[i])
        step = 7_000 + 1_000 * i  # different chunk sizes: paired runs of unequal length
        barrier.wait()
        for pos in range(0, len(data), step):
            hasher.update(data[pos : pos + step])
        digests[i] = hasher.hexdigest()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(datas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert digests == [hashlib.md5(d).hexdigest() for d in datas]
    assert pairing.paired_blocks > 0  # the streams really were hashed side by side


def test_multihasher_uses_the_pairing_for_md5_only():
    data = bytes(range(256)) * 100
    hasher = MultiHasher(["md5", "sha256"], md5_pairing=Md5Pairing())
    hasher.update(data)
    assert hasher.hexdigests() == {"md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}


def test_the_unrolled_kernel_is_what_the_generator_writes():
    written = Path(_md5_unrolled_gen.__file__).with_name("_md5_unrolled.py").read_text()
    assert written == _md5_unrolled_gen.source()
