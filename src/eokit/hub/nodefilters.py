"""Node filters for partial product downloads (``download(..., nodefilter=...)``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

__all__ = ["all_nodes_filter", "make_path_filter", "make_size_filter"]


def make_size_filter(max_size: int) -> Callable[[dict[str, Any]], bool]:
    """Keep only files of at most ``max_size`` bytes."""

    def node_filter(node_info: dict[str, Any]) -> bool:
        return node_info["size"] <= max_size

    return node_filter


def make_path_filter(pattern: str, exclude: bool = False) -> Callable[[dict[str, Any]], bool]:
    """Keep (or with ``exclude=True`` drop) files whose path inside the product matches a glob."""

    def node_filter(node_info: dict[str, Any]) -> bool:
        match = fnmatch.fnmatch(node_info["node_path"], pattern)
        return not match if exclude else match

    return node_filter


def all_nodes_filter(node_info: dict[str, Any]) -> bool:
    """Keep every file: download a product as a folder instead of a zip."""
    return True
