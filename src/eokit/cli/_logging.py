"""Where log records and warnings go on the command line: stderr, one line each, levels set by ``-v``/``-q``.

Python warnings (``warnings.warn``) from eokit and from its libraries
(rasterio's ``NotGeoreferencedWarning``, numba, pandas...) are routed through
logging, without the source line Python normally prints:

* eokit's own warnings (:class:`~eokit.errors.EokitWarning`) are shown by default;
* other libraries' warnings are shown with ``-v`` only;
* ``-q`` shows errors only.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any, TextIO

from eokit.errors import EokitWarning

__all__ = ["configure_logging", "verbosity"]

_state = {"verbosity": 0}
_original_showwarning = warnings.showwarning


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is *now* (click's test runner swaps it)."""

    _eokit = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


class _Formatter(logging.Formatter):
    """``eokit: warning: MESSAGE``; with ``-vv`` the logger name too."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and _state["verbosity"] > 0:
            text += "\n" + self.formatException(record.exc_info)
        level = record.levelname.lower()
        if _state["verbosity"] >= 2:
            return f"eokit: {level} [{record.name}]: {text}"
        return f"eokit: {level}: {text}"


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    if file is not None:  # an explicit destination: behave like Python
        _original_showwarning(message, category, filename, lineno, file, line)
        return
    own = issubclass(category, EokitWarning)
    level = logging.WARNING if own else logging.INFO
    logging.getLogger("eokit.warnings").log(level, "%s (%s)", str(message).strip(), category.__name__)


def verbosity() -> int:
    """The ``-v`` count minus the ``-q`` count of the running command (0 outside the CLI)."""
    return _state["verbosity"]


def configure_logging(level_offset: int) -> None:
    """Send eokit's and the libraries' log records and warnings to stderr at the level ``-v``/``-q`` ask."""
    _state["verbosity"] = level_offset
    level = min(max(logging.WARNING - 10 * level_offset, logging.DEBUG), logging.CRITICAL)
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_eokit", False)] + [handler]
    handler.setLevel(level)
    # libraries log at WARNING and above unless -vv asks for their debug chatter
    root.setLevel(level if level_offset >= 2 else max(level, logging.WARNING))
    # urllib3 logs each retry at WARNING; the hub retries on purpose, so those lines are -v detail
    logging.getLogger("urllib3").setLevel(logging.ERROR if level_offset <= 0 else level)
    eokit = logging.getLogger("eokit")
    eokit.handlers = [h for h in eokit.handlers if isinstance(h, logging.NullHandler)]
    eokit.setLevel(level)
    warnings.showwarning = _show_warning
    if level_offset <= 0:
        # GDAL's own printer (messages raised outside rasterio's handler, e.g. libtiff's "File too large")
        # stays silent: the failure itself reaches the user as one line; -v shows them
        os.environ.setdefault("CPL_LOG", os.devnull)
    if level_offset > 0:
        warnings.simplefilter("default")  # each distinct warning once, including DeprecationWarning
