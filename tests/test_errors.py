import ast
import functools
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import eokit.errors as errors
from eokit.errors import (
    DataIOError,
    EokitError,
    InputNotFoundError,
    InvalidInputError,
    MissingDependencyError,
    ProviderError,
    RateLimitError,
)


def test_every_error_is_an_eokit_error_and_exported():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__]
    for cls in classes:
        assert cls.__name__ in errors.__all__
        if issubclass(cls, Exception) and not issubclass(cls, Warning):
            assert issubclass(cls, EokitError)


def test_builtin_mixins():
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(DataIOError, OSError)
    assert issubclass(InputNotFoundError, FileNotFoundError)
    assert issubclass(MissingDependencyError, ImportError)


def test_messages_name_the_path_and_carry_attributes():
    e = InputNotFoundError("no such file", path="/data/pop.tif")
    assert str(e) == "/data/pop.tif: no such file" and e.path == "/data/pop.tif"
    r = RateLimitError("slow down", status_code=429, retry_after=3.0, url="http://127.0.0.1/x")
    assert isinstance(r, ProviderError) and r.retry_after == 3.0 and r.status_code == 429
    assert "429" in str(r)
    m = MissingDependencyError("fastapi", extra="server", purpose="eokit serve")
    assert "eokit[server]" in str(m)


# --- the hierarchy is complete: every class in eokit.errors is raised, every exception eokit defines is one of them

SRC = Path(errors.__file__).resolve().parent

# Exception classes that are not errors reported to users, each with the reason.
NOT_USER_ERRORS = {
    "eokit.cli._errors.Terminated": "BaseException raised by the SIGTERM handler, like KeyboardInterrupt",
    "eokit.hub.transfer.Restart": "internal control flow of a download, caught where it is raised",
    "eokit.catalog._tiff._Unsupported": "private control flow of the TIFF reader, caught where it is raised",
    "eokit.catalog.api_filter._Untranslatable": "private control flow of the CQL2 translator, caught where it is raised",
}


@functools.cache
def _all_modules():
    import eokit

    modules = []
    for info in pkgutil.walk_packages(eokit.__path__, "eokit."):
        if info.name.endswith("__main__"):
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except ModuleNotFoundError as exc:  # an optional dependency is missing here
            if (exc.name or "").startswith("eokit"):
                raise
    return tuple(modules)


@functools.cache
def _defined_exceptions():
    found = {}
    for module in _all_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseException) and not issubclass(cls, Warning):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return found


def test_every_exception_defined_in_eokit_is_an_eokit_error():
    outside = sorted(name for name, cls in _defined_exceptions().items() if not issubclass(cls, EokitError))
    assert outside == sorted(NOT_USER_ERRORS)


@functools.cache
def _raised_names():
    names = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target = None
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "warn":
                target = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "category"), None)
                )
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                target = node.value.func  # factories such as ``def _bad(...): return StacApiError(...)``
            if isinstance(target, ast.Name | ast.Attribute):
                names.add(target.id if isinstance(target, ast.Name) else target.attr)
    return names


PENDING: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [n if n not in PENDING else pytest.param(n, marks=pytest.mark.xfail(reason=PENDING[n])) for n in errors.__all__],
)
def test_every_class_in_eokit_errors_is_raised_somewhere(name):
    """Raised (or warned) in src itself or through a subclass eokit defines and raises."""
    cls = getattr(errors, name)
    raised = _raised_names()
    candidates = {c.__name__ for c in _defined_exceptions().values() if issubclass(c, cls)}
    candidates |= {w.__name__ for w in _warning_classes() if issubclass(w, cls)}
    candidates.add(name)
    assert candidates & raised, f"{name} is never raised"


def _warning_classes():
    out = []
    for module in _all_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Warning):
                out.append(cls)
    return out
