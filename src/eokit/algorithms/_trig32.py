"""Single-precision c-factor kernel: float32 in, float32 out, vectorised compiled loops.

The float64 kernel in :mod:`._trig` carries ~1e-15 accuracy, which float32 angle
bands and float32 reflectance cannot use; this one does the same model in float32
with float32-accurate polynomials (Cephes ``sinf``/``cosf``; an arcsin minimax fit on
``[0, sqrt(1/2)]``), so LLVM packs 16 pixels per AVX-512 instruction and no libm call
breaks the vector loop.

The arithmetic is arranged so that float32 rounding is not amplified:

* the relative azimuth enters only through ``sin^2(phi/2)`` and ``cos^2(phi/2)``
  (``1 - cos(phi) = 2 sin^2(phi/2)``, ``sin^2(phi) = 4 sin^2 cos^2``), and negative
  zeniths are folded to positive ones at ``phi + 180``, so the squared hot-spot distance
  (times ``cos^2 ti cos^2 tv``) ``sin^2(ti - tv) + 4 si sv sin^2(phi/2) (ci cv + si sv cos^2(phi/2))``
  is a sum of non-negative terms;
* RossThick's ``(pi/2 - xi) cos(xi) + sin(xi)`` and the LiSparse overlap
  ``t - sin(t) cos(t)`` have bounded derivatives in ``cos(xi)`` and ``cos(t)``, and
  ``sin = sqrt((1 - c)(1 + c))`` is evaluated without cancellation; each takes one square
  root (``arccos c = arcsin(sin)`` beyond ``c = sqrt(1/2)``);
* at nadir the phase angle is the sun zenith itself (no arccos) and
  ``cos(t) = 2 sin(ti) / (1 + cos(ti))``.

Four reciprocals per pixel are merged into one division, plus the final ratio.
The work runs tile by tile (256 pixels) in three short loops -- trigonometry,
geometry, arccos terms -- through a small L1-resident buffer: one loop over the
whole chain is bound by its dependency latency (the FP scheduler fills while the
square roots and divisions wait), short loops let the core overlap iterations.
Results agree with the float64 kernel to a few 1e-7 (relative; < 6e-7 for sun
zeniths up to 80 degrees and view zeniths up to 20 degrees either side).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

__all__ = ["c_factor_f32"]

_F = np.float32
_FM = {"contract", "arcp", "nsz", "afn", "reassoc"}  # no nnan/ninf: NaN (nodata) must propagate

_ZERO, _HALF, _ONE, _TWO, _FOUR = _F(0.0), _F(0.5), _F(1.0), _F(2.0), _F(4.0)
_NINETY, _INV90 = _F(90.0), _F(1.0 / 90.0)
_D2R = _F(np.pi / 180.0)
_HALF_PI, _QUARTER_PI, _INV_PI = _F(np.pi / 2), _F(np.pi / 4), _F(1.0 / np.pi)
_THREE_SIXTY, _INV360, _ONE_EIGHTY = _F(360.0), _F(1.0 / 360.0), _F(180.0)
# Cephes sinf / cosf on |r| <= pi/4; arcsin on |u| <= sqrt(1/2): u + u z P(z), z = u^2, a minimax fit
# of relative error (< 1 ulp in float32 evaluation)
_S1, _S2, _S3 = _F(-1.6666654611e-1), _F(8.3321608736e-3), _F(-1.9515295891e-4)
_C1, _C2, _C3 = _F(4.166664568298827e-2), _F(-1.388731625493765e-3), _F(2.443315711809948e-5)
_A1, _A2, _A3, _A4, _A5, _A6, _A7 = (
    _F(1.6666904931e-01), _F(7.4885120446e-02), _F(4.6498350132e-02), _F(1.6414190585e-02),
    _F(7.6892204839e-02), _F(-9.2493180004e-02), _F(1.1123922806e-01),
)  # fmt: skip
_RSQRT2 = _F(np.sqrt(0.5))


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _poly(x: np.float32) -> tuple[np.float32, np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin r, cos r, quadrant)`` with ``x`` degrees = 90 * quadrant + r (radians, |r| <= pi/4)."""
    q = np.floor(x * _INV90 + _HALF)
    r = (x - _NINETY * q) * _D2R
    z = r * r
    s = r + r * z * (_S1 + z * (_S2 + z * _S3))
    c = _ONE - _HALF * z + z * z * (_C1 + z * (_C2 + z * _C3))
    return s, c, q


def _quadrant_codegen(signs: bool):
    def codegen(context, builder, signature, args):  # pragma: no cover - runs at compile time
        s, c, q = args
        i32 = ir.IntType(32)
        # q's low bits from the mantissa of q + 1.5 * 2^23 (exact for |q| < 2^22, i.e. |x| < 3.7e8 degrees):
        # unlike fptosi this is defined for NaN (nodata; s and c are NaN then anyway). No fast-math flags,
        # so the addition is not folded away.
        qi = builder.bitcast(builder.fadd(q, ir.Constant(ir.FloatType(), 12582912.0)), i32)
        odd = builder.trunc(qi, ir.IntType(1))
        sn, cs = builder.select(odd, c, s), builder.select(odd, s, c)
        if signs:
            two, sh = ir.Constant(i32, 2), ir.Constant(i32, 30)
            sign_s = builder.shl(builder.and_(qi, two), sh)  # quadrants 2 and 3
            sign_c = builder.shl(builder.and_(builder.add(qi, ir.Constant(i32, 1)), two), sh)  # 1 and 2
            sn = builder.bitcast(builder.xor(builder.bitcast(sn, i32), sign_s), ir.FloatType())
            cs = builder.bitcast(builder.xor(builder.bitcast(cs, i32), sign_c), ir.FloatType())
        return context.make_tuple(builder, signature.return_type, (sn, cs))

    return codegen


_F32X2 = types.UniTuple(types.float32, 2)(types.float32, types.float32, types.float32)


@intrinsic
def _quadrant(typingctx, s, c, q):
    """``(sin, cos)`` of ``90 q + r`` from ``s = sin r``, ``c = cos r`` (``q`` integral).

    Swap on odd ``q`` and sign bits from ``q``'s bits: integer operations on the float32
    lanes (``fptosi``, ``and``, ``shl``, ``xor``) where float arithmetic needs
    compares and selects.
    """
    return _F32X2, _quadrant_codegen(True)


@intrinsic
def _odd_swap(typingctx, s, c, q):
    """``(c, s)`` for odd integral ``q``, else ``(s, c)``."""
    return _F32X2, _quadrant_codegen(False)


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _sincos(x: np.float32) -> tuple[np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin, cos)`` of ``x`` degrees."""
    s, c, q = _poly(x)
    return _quadrant(s, c, q)  # type: ignore[call-arg]  # a numba intrinsic: typing context is implicit


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _half_sq(x: np.float32) -> tuple[np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin^2(x/2), cos^2(x/2))`` of ``x`` degrees (signs drop out)."""
    s, c, q = _poly(x * _HALF)
    return _odd_swap(s * s, c * c, q)  # type: ignore[call-arg]  # a numba intrinsic


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _asin_poly(u: np.float32, z: np.float32) -> np.float32:  # pragma: no cover - numba
    """``arcsin u`` for ``0 <= u <= sqrt(1/2)``, ``z = u^2``."""
    p = _A1 + z * (_A2 + z * (_A3 + z * (_A4 + z * (_A5 + z * (_A6 + z * _A7)))))
    return u + u * z * p


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _ross_term(x: np.float32) -> np.float32:  # pragma: no cover - numba
    """``(pi/2 - arccos x) x + sqrt(1 - x^2) = x arcsin x + sqrt(1 - x^2)`` for x in [-1, 1]; one square root.

    ``|x| <= sqrt(1/2)``: the arcsin polynomial of ``|x|``; beyond,
    ``arcsin |x| = pi/2 - arcsin(sqrt(1 - x^2))`` with ``sqrt(1 - x^2) <= sqrt(1/2)``,
    so one polynomial on ``[0, sqrt(1/2)]`` serves both (NaN propagates).
    """
    ax = abs(x)
    w = (_ONE - ax) * (_ONE + ax)  # 1 - x^2 without cancellation
    sn = np.sqrt(w)
    big = ax > _RSQRT2
    a = _asin_poly(sn if big else ax, w if big else ax * ax)
    return ax * (_HALF_PI - a if big else a) + sn


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _overlap_term(c: np.float32) -> np.float32:  # pragma: no cover - numba
    """``t - sin(t) cos(t)`` with ``cos(t) = c`` in [0, 1]; one square root, as :func:`_ross_term`."""
    w = (_ONE - c) * (_ONE + c)
    sn = np.sqrt(w)
    big = c > _RSQRT2
    a = _asin_poly(sn if big else c, w if big else c * c)
    return (a if big else _HALF_PI - a) - sn * c


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _clip(x: np.float32) -> np.float32:  # pragma: no cover - numba
    return -_ONE if x < -_ONE else (_ONE if x > _ONE else x)


_TILE = 256  # pixels per stage: the stage buffer (16 x 1 KiB) stays in L1
# rows of the flat stage buffer: constant offsets, so the vectoriser sees the rows cannot overlap
(_CI, _SI, _CV, _SV, _SH2, _CH2, _CO, _SO, _XO, _WO, _CTO, _SSO, _CGO, _KVN, _CTN, _SSN) = (
    k * _TILE for k in range(16)
)


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _stage_trig(sz, vz, ra, szo, same_out, m, b):  # pragma: no cover - numba
    """Sines and cosines of one tile's angles."""
    for j in range(m):
        b[_SI + j], b[_CI + j] = _sincos(sz[j])
    for j in range(m):
        b[_SV + j], b[_CV + j] = _sincos(vz[j])
    for j in range(m):
        b[_SH2 + j], b[_CH2 + j] = _half_sq(ra[j])
    if not same_out:
        for j in range(m):
            b[_SO + j], b[_CO + j] = _sincos(szo[j])


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _stage_geometry(deg, m, co_row, b):  # pragma: no cover - numba
    """Everything up to the arccos arguments, with one division per pixel.

    Observed: ``cos(xi)``, ``1 / (ci + cv)``, ``cos(t)``, the secant sum and the
    ``-sec_sum + (1 + cos xi) / (2 ci cv)`` part of LiSparse. Nadir for sun zenith
    ``deg`` (sines and cosines in rows ``co_row``, ``co_row + 1``): the whole RossThick
    value (xi = sun zenith), ``cos(t) = 2 sin / (1 + cos)``, the secant sum and the
    constant LiSparse part.
    """
    for j in range(m):
        c_i, s_i, c_v, s_v, h2, k2 = b[_CI + j], b[_SI + j], b[_CV + j], b[_SV + j], b[_SH2 + j], b[_CH2 + j]
        c_o, s_o = b[co_row + j], b[co_row + _TILE + j]
        p = c_i * c_v
        s = c_i + c_v
        po = p * s
        pn = c_o * (_ONE + c_o)
        inv = _ONE / (po * pn)
        inv_o = pn * inv  # 1 / (ci cv (ci + cv))
        inv_n = po * inv  # 1 / (co (1 + co))
        # observed geometry
        w = p * inv_o  # 1 / (ci + cv)
        r = s * inv_o  # 1 / (ci cv)
        ss = s_i * s_v
        cos_xi = _clip(p + ss * (_ONE - _TWO * h2))
        # (ci cv)^2 (D^2 + (tan_i tan_v sin phi)^2) with both zeniths folded to >= 0 (a negative
        # zenith at azimuth phi is the positive one at phi + 180: sin^2 and cos^2 of phi/2 swap),
        # so every term is >= 0 and only sin(theta_i - theta_v) cancels
        if ss < _ZERO:
            h2, k2 = k2, h2
        ss = abs(ss)
        dt = abs(s_i) * c_v - abs(s_v) * c_i
        q2 = dt * dt + _FOUR * ss * h2 * (p + ss * k2)
        sec_sum = s * r
        b[_XO + j] = cos_xi
        b[_WO + j] = w
        b[_CTO + j] = min(_TWO * np.sqrt(q2) * w, _ONE)  # >= 0
        b[_SSO + j] = sec_sum * _INV_PI
        b[_CGO + j] = _HALF * (_ONE + cos_xi) * r - sec_sum
        # nadir view, sun zenith deg
        d = deg[j]
        xi = abs(d - _THREE_SIXTY * np.floor((d + _ONE_EIGHTY) * _INV360)) * _D2R  # |d| reduced to 0..180
        aso = abs(s_o)
        wn = c_o * inv_n  # 1 / (1 + co)
        rn = (_ONE + c_o) * inv_n  # 1 / co
        b[_KVN + j] = ((_HALF_PI - xi) * c_o + aso) * wn - _QUARTER_PI
        b[_CTN + j] = min(_TWO * aso * wn, _ONE)  # >= 0 (NaN propagates: min(NaN, 1) keeps the first operand)
        b[_SSN + j] = (c_o + _ONE) * rn  # secant sum; the rest of LiSparse at nadir is -sec_sum / 2


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _stage_model(m, fi, fv, fg, b, out):  # pragma: no cover - numba
    """The three arccos terms, both model values and their ratio."""
    for j in range(m):
        kvol = _ross_term(b[_XO + j]) * b[_WO + j] - _QUARTER_PI
        kgeo = _overlap_term(b[_CTO + j]) * b[_SSO + j] + b[_CGO + j]
        f_obs = fi + fv * kvol + fg * kgeo
        kgeo_n = (_overlap_term(b[_CTN + j]) * _INV_PI - _HALF) * b[_SSN + j]
        f_nad = fi + fv * b[_KVN + j] + fg * kgeo_n
        out[j] = f_nad / f_obs


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def c_factor_f32(
    sz: np.ndarray,
    vz: np.ndarray,
    ra: np.ndarray,
    szo: np.ndarray,
    fiso: float,
    fvol: float,
    fgeo: float,
    same_out: bool,
    out: np.ndarray,
) -> None:  # pragma: no cover - numba
    """c-factor over flat contiguous float32 arrays of equal length (degrees) into float32 ``out``.

    ``same_out`` normalises to the observed sun zenith (``szo`` is then ignored).
    Tile by tile in short vectorised loops (trigonometry, geometry, model) rather
    than one long one: a single loop body this long is bound by the latency of its
    dependency chain, which short loops overlap across iterations.
    """
    fi, fv, fg = _F(fiso), _F(fvol), _F(fgeo)
    n = out.size
    b = np.empty(16 * _TILE, dtype=np.float32)
    co_row, deg = (_CI, sz) if same_out else (_CO, szo)
    for t0 in range(0, n, _TILE):
        m = min(_TILE, n - t0)
        t1 = t0 + m
        _stage_trig(sz[t0:t1], vz[t0:t1], ra[t0:t1], szo[t0:t1], same_out, m, b)
        _stage_geometry(deg[t0:t1], m, co_row, b)
        _stage_model(m, fi, fv, fg, b, out[t0:t1])
