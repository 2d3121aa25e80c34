import pytest

from eokit.config import Settings, get_settings, override
from eokit.errors import ConfigError, EokitError


def test_defaults_and_env(monkeypatch):
    monkeypatch.delenv("EOKIT_BLOCK_SIZE", raising=False)
    assert get_settings().block_size == Settings().block_size
    monkeypatch.setenv("EOKIT_BLOCK_SIZE", "256")
    monkeypatch.setenv("EOKIT_GDAL_ENV", "GDAL_CACHEMAX=64,CPL_DEBUG=OFF")
    s = get_settings()
    assert s.block_size == 256
    assert s.gdal_env == {"GDAL_CACHEMAX": "64", "CPL_DEBUG": "OFF"}


def test_bad_env_value_is_a_config_error(monkeypatch):
    monkeypatch.setenv("EOKIT_BLOCK_SIZE", "big")
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert "EOKIT_BLOCK_SIZE" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, EokitError)


def test_override_is_scoped():
    base = get_settings().workers
    with override(workers=3) as s:
        assert s.workers == 3 and get_settings().workers == 3
        with override(block_size=64):
            assert get_settings().workers == 3 and get_settings().block_size == 64
    assert get_settings().workers == base


def test_override_rejects_unknown_and_invalid():
    with pytest.raises(ConfigError):
        with override(nonsense=1):
            pass
    with pytest.raises(ConfigError):
        with override(block_size=1):
            pass
