"""Test configuration: offline (loopback only) and ../shared data fixtures."""

pytest_plugins = ["eokit.testing.pytest_plugin"]
