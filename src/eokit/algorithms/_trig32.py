"""Single-precision c-factor kernel: float32 in, float32 out, one fused vectorised pass.

The float64 kernel in :mod:`._trig` carries ~1e-15 accuracy, which float32 angle
bands and float32 reflectance cannot use; this one does the same model in float32
with float32-accurate polynomials (Cephes ``sinf``/``cosf``/``asinf``), so LLVM packs
16 pixels per AVX-512 instruction and no libm call breaks the vector loop.

The arithmetic is arranged so that float32 rounding is not amplified:

* the relative azimuth enters only through ``sin^2(phi/2)`` and ``cos^2(phi/2)``
  (``1 - cos(phi) = 2 sin^2(phi/2)``, ``sin^2(phi) = 4 sin^2 cos^2``), so the hot-spot
  distance ``D^2 = (tan_i - tan_v)^2 + 4 tan_i tan_v sin^2(phi/2) + (tan_i tan_v sin(phi))^2``
  is a sum of non-negative terms with no cancellation;
* RossThick's ``(pi/2 - xi) cos(xi) + sin(xi)`` and the LiSparse overlap
  ``t - sin(t) cos(t)`` have bounded derivatives in ``cos(xi)`` and ``cos(t)``, and
  ``sin = sqrt((1 - c)(1 + c))`` is evaluated without cancellation;
* at nadir the phase angle is the sun zenith itself (no arccos) and
  ``cos(t) = 2 sin(ti) / (1 + cos(ti))``.

Three reciprocals per pixel are merged into one division. Results agree with the
float64 kernel to a few 1e-7 (relative).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["c_factor_f32"]

_F = np.float32
_FM = {"contract", "arcp", "nsz", "afn", "reassoc"}  # no nnan/ninf: NaN (nodata) must propagate

_ZERO, _HALF, _ONE, _TWO, _FOUR = _F(0.0), _F(0.5), _F(1.0), _F(2.0), _F(4.0)
_NINETY, _INV90, _QUARTER = _F(90.0), _F(1.0 / 90.0), _F(0.25)
_D2R = _F(np.pi / 180.0)
_PI, _HALF_PI, _QUARTER_PI, _INV_PI = _F(np.pi), _F(np.pi / 2), _F(np.pi / 4), _F(1.0 / np.pi)
_THREE_SIXTY, _INV360, _ONE_EIGHTY = _F(360.0), _F(1.0 / 360.0), _F(180.0)
# Cephes sinf / cosf on |r| <= pi/4 and asinf on |u| <= 0.5 (float32-accurate minimax)
_S1, _S2, _S3 = _F(-1.6666654611e-1), _F(8.3321608736e-3), _F(-1.9515295891e-4)
_C1, _C2, _C3 = _F(4.166664568298827e-2), _F(-1.388731625493765e-3), _F(2.443315711809948e-5)
_A1, _A2, _A3, _A4, _A5 = (
    _F(1.6666752422e-1), _F(7.4953002686e-2), _F(4.5470025998e-2), _F(2.4181311049e-2), _F(4.2163199048e-2),
)  # fmt: skip


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _poly(x: np.float32) -> tuple[np.float32, np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin r, cos r, quadrant)`` with ``x`` degrees = 90 * quadrant + r (radians, |r| <= pi/4)."""
    q = np.floor(x * _INV90 + _HALF)
    r = (x - _NINETY * q) * _D2R
    z = r * r
    s = r + r * z * (_S1 + z * (_S2 + z * _S3))
    c = _ONE - _HALF * z + z * z * (_C1 + z * (_C2 + z * _C3))
    return s, c, q


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _sincos(x: np.float32) -> tuple[np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin, cos)`` of ``x`` degrees."""
    s, c, q = _poly(x)
    m = q - _FOUR * np.floor(q * _QUARTER)  # 0..3
    odd = m == _ONE or m == _F(3.0)
    sn = c if odd else s
    cs = s if odd else c
    sn = -sn if m >= _TWO else sn
    cs = -cs if abs(m - _F(1.5)) < _ONE else cs  # quadrants 1 and 2
    return sn, cs


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _half_sq(x: np.float32) -> tuple[np.float32, np.float32]:  # pragma: no cover - numba
    """``(sin^2(x/2), cos^2(x/2))`` of ``x`` degrees (signs drop out)."""
    s, c, q = _poly(x * _HALF)
    odd = (q - _TWO * np.floor(q * _HALF)) == _ONE
    s2, c2 = s * s, c * c
    return (c2 if odd else s2), (s2 if odd else c2)


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _acos_sin(x: np.float32) -> tuple[np.float32, np.float32]:  # pragma: no cover - numba
    """``(arccos x, sqrt(1 - x^2))`` for x in [-1, 1] (NaN propagates)."""
    ax = abs(x)
    big = ax > _HALF
    u = np.sqrt(_HALF * (_ONE - ax)) if big else ax
    z = u * u
    a = u + u * z * (_A1 + z * (_A2 + z * (_A3 + z * (_A4 + z * _A5))))
    if big:
        ac = _TWO * a if x >= _ZERO else _PI - _TWO * a
    else:
        ac = _HALF_PI - a if x >= _ZERO else _HALF_PI + a
    sn = np.sqrt((_ONE - ax) * (_ONE + ax))
    return ac, sn


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _clip(x: np.float32) -> np.float32:  # pragma: no cover - numba
    return -_ONE if x < -_ONE else (_ONE if x > _ONE else x)


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _nadir(
    co: np.float32,
    so: np.float32,
    deg: np.float32,
    inv_n: np.float32,
    fiso: np.float32,
    fvol: np.float32,
    fgeo: np.float32,
) -> np.float32:  # pragma: no cover - numba
    """Model at nadir view for sun zenith ``deg``; ``inv_n = 1 / (co (1 + co))``."""
    xi = abs(deg - _THREE_SIXTY * np.floor((deg + _ONE_EIGHTY) * _INV360)) * _D2R  # |deg| reduced to 0..180
    aso = abs(so)
    w = co * inv_n  # 1 / (1 + co)
    r = (_ONE + co) * inv_n  # 1 / co
    kvol = ((_HALF_PI - xi) * co + aso) * w - _QUARTER_PI
    sec_sum = (co + _ONE) * r
    cos_t = min(_TWO * aso * w, _ONE)  # >= 0 (NaN propagates: min(NaN, 1) keeps the first operand)
    t, sin_t = _acos_sin(cos_t)
    kgeo = (t - sin_t * cos_t) * sec_sum * _INV_PI - sec_sum + _HALF * (_ONE + co) * r
    return fiso + fvol * kvol + fgeo * kgeo


@numba.njit(inline="always", error_model="numpy", fastmath=_FM)
def _observed(
    ci: np.float32,
    si: np.float32,
    cv: np.float32,
    sv: np.float32,
    sh2: np.float32,
    ch2: np.float32,
    inv_o: np.float32,
    fiso: np.float32,
    fvol: np.float32,
    fgeo: np.float32,
) -> np.float32:  # pragma: no cover - numba
    """Model at the observed geometry; ``inv_o = 1 / (ci cv (ci + cv))``."""
    p = ci * cv
    s = ci + cv
    w = p * inv_o  # 1 / (ci + cv)
    r = s * inv_o  # 1 / (ci cv)
    cos_xi = _clip(p + si * sv * (_ONE - _TWO * sh2))
    xi, sin_xi = _acos_sin(cos_xi)
    kvol = ((_HALF_PI - xi) * cos_xi + sin_xi) * w - _QUARTER_PI
    tan_i, tan_v = si * cv * r, sv * ci * r
    dt = tan_i - tan_v
    tt = tan_i * tan_v
    d2 = dt * dt + _FOUR * tt * sh2 * (_ONE + tt * ch2)
    sec_sum = s * r
    cos_t = min(_TWO * np.sqrt(d2) * p * w, _ONE)  # >= 0
    t, sin_t = _acos_sin(cos_t)
    kgeo = (t - sin_t * cos_t) * sec_sum * _INV_PI - sec_sum + _HALF * (_ONE + cos_xi) * r
    return fiso + fvol * kvol + fgeo * kgeo


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
    """
    fi, fv, fg = _F(fiso), _F(fvol), _F(fgeo)
    n = out.size
    if same_out:
        for i in range(n):
            a = sz[i]
            si, ci = _sincos(a)
            sv, cv = _sincos(vz[i])
            sh2, ch2 = _half_sq(ra[i])
            po = ci * cv * (ci + cv)
            pn = ci * (_ONE + ci)
            inv = _ONE / (po * pn)
            f_obs = _observed(ci, si, cv, sv, sh2, ch2, pn * inv, fi, fv, fg)
            f_nad = _nadir(ci, si, a, po * inv, fi, fv, fg)
            out[i] = f_nad / f_obs
        return
    for i in range(n):
        si, ci = _sincos(sz[i])
        sv, cv = _sincos(vz[i])
        sh2, ch2 = _half_sq(ra[i])
        o = szo[i]
        so, co = _sincos(o)
        po = ci * cv * (ci + cv)
        pn = co * (_ONE + co)
        inv = _ONE / (po * pn)
        f_obs = _observed(ci, si, cv, sv, sh2, ch2, pn * inv, fi, fv, fg)
        f_nad = _nadir(co, so, o, po * inv, fi, fv, fg)
        out[i] = f_nad / f_obs
