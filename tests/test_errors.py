import inspect

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
