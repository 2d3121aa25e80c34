"""Compile a whitelisted spectral-index formula into one fused numba loop.

The formula's AST has already passed :func:`eokit.algorithms.indices.parse_formula`
(numbers, names, ``+ - * / **``, unary minus only). It is rebuilt here from that
tree with every band or constant name replaced by a generated positional
variable (``x0``, ``s0``...) and every literal by a typed scalar argument, so
the generated source contains nothing taken verbatim from the formula text.
The loop reads each input once and writes the output once (no temporaries), in
the inputs' float dtype, and releases the GIL so row chunks run on threads.

Arithmetic follows numpy's rules for the same expression on arrays of that
dtype (literals as weak scalars of the array dtype; ``x**2`` as ``x*x`` and
``x**0.5`` as ``sqrt(x)``, numpy's own fast paths), so results equal the
element-wise numpy evaluation.
"""

from __future__ import annotations

import ast
import functools
from typing import Any

import numba
import numpy as np

from eokit.algorithms._kernels import flat_chunks

__all__ = ["compiled_index"]


class _Renamer:
    """Turn a whitelisted expression tree into source over generated names."""

    def __init__(self, arrays: tuple[str, ...], scalars: tuple[str, ...]) -> None:
        self.arrays = {name: f"v{i}" for i, name in enumerate(arrays)}
        self.scalars = {name: f"s{i}" for i, name in enumerate(scalars)}
        self.literals: list[float] = []

    def lit(self, value: float) -> str:
        self.literals.append(float(value))
        return f"k{len(self.literals) - 1}"

    def src(self, node: ast.AST) -> str:
        if isinstance(node, ast.Expression):
            return self.src(node.body)
        if isinstance(node, ast.Constant):
            return self.lit(float(node.value))  # type: ignore[arg-type]  # whitelisted: int or float
        if isinstance(node, ast.Name):
            if node.id in self.arrays:
                return self.arrays[node.id]
            return self.scalars[node.id]
        if isinstance(node, ast.UnaryOp):
            sign = "-" if isinstance(node.op, ast.USub) else "+"
            return f"({sign}{self.src(node.operand)})"
        if isinstance(node, ast.BinOp):
            left = self.src(node.left)
            if isinstance(node.op, ast.Pow):
                exp = node.right
                value = float(exp.value) if isinstance(exp, ast.Constant) else None  # type: ignore[arg-type]
                if value == 2.0:
                    return f"({left} * {left})"
                if value == 0.5:
                    return f"np.sqrt({left})"
                if value == 1.0:
                    return left
                return f"({left} ** {self.src(exp)})"
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
            return f"({left} {op} {self.src(node.right)})"
        raise TypeError(f"unexpected node {type(node).__name__}")  # pragma: no cover - whitelisted before


@functools.cache
def _build(formula_tree: ast.Expression, arrays: tuple[str, ...], scalars: tuple[str, ...]) -> tuple[Any, list[float]]:
    ren = _Renamer(arrays, scalars)
    expr = ren.src(formula_tree)
    xs = [f"x{i}" for i in range(len(arrays))]
    ss = [f"s{i}" for i in range(len(scalars))]
    ks = [f"k{i}" for i in range(len(ren.literals))]
    loads = "".join(f"        v{i} = x{i}[i]\n" for i in range(len(arrays)))
    src = (
        f"def _index_kernel({', '.join([*xs, *ss, *ks, 'out'])}):\n"
        f"    for i in range(out.size):\n"
        f"{loads}"
        f"        out[i] = {expr}\n"
    )
    namespace: dict[str, Any] = {"np": np}
    exec(compile(src, "<eokit-index-kernel>", "exec"), namespace)  # source built from a whitelisted AST
    kernel = numba.njit(nogil=True, error_model="numpy")(namespace["_index_kernel"])
    return kernel, ren.literals


def compiled_index(tree: ast.Expression, env: dict[str, Any]) -> np.ndarray | None:
    """Evaluate ``tree`` over ``env`` (arrays and float scalars) in one fused threaded pass.

    Returns ``None`` when the inputs do not suit the compiled path (mixed or
    non-float dtypes, shapes that differ); the caller then falls back.
    """
    arrays = {k: v for k, v in env.items() if isinstance(v, np.ndarray)}
    scalars = {k: v for k, v in env.items() if not isinstance(v, np.ndarray)}
    if not arrays or any(not isinstance(v, float) for v in scalars.values()):
        return None
    dtypes = {v.dtype for v in arrays.values()}
    shapes = {v.shape for v in arrays.values()}
    if len(dtypes) != 1 or len(shapes) != 1 or next(iter(dtypes)) not in (np.float32, np.float64):
        return None
    dtype = next(iter(dtypes))
    shape = next(iter(shapes))
    names_a, names_s = tuple(sorted(arrays)), tuple(sorted(scalars))
    kernel, literals = _build(tree, names_a, names_s)
    flat = [np.ascontiguousarray(arrays[k]).reshape(-1) for k in names_a]
    svals = [dtype.type(scalars[k]) for k in names_s] + [dtype.type(v) for v in literals]
    out = np.empty(flat[0].size, dtype=dtype)
    flat_chunks(lambda s: kernel(*[f[s] for f in flat], *svals, out[s]), out.size, cost=len(flat) + 1)
    return out.reshape(shape)
