"""eokit — one toolkit for Earth-observation data.

Capabilities live in subpackages: :mod:`eokit.hub`, :mod:`eokit.catalog`,
:mod:`eokit.algorithms`, :mod:`eokit.resample` and :mod:`eokit.urban`; they are
imported on demand so ``import eokit`` stays light.
"""

from __future__ import annotations

import logging

from eokit.errors import (
    DataIOError,
    EokitError,
    EokitWarning,
    InvalidInputError,
    MissingDependencyError,
    ProviderError,
)

__version__ = "0.1.0"

logging.getLogger("eokit").addHandler(logging.NullHandler())

__all__ = [
    "DataIOError",
    "EokitError",
    "EokitWarning",
    "InvalidInputError",
    "MissingDependencyError",
    "ProviderError",
    "__version__",
]
