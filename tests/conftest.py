"""Test configuration: offline (loopback only), ../shared data fixtures, reproducible hypothesis runs in CI."""

import os

from hypothesis import settings

pytest_plugins = ["eokit.testing.pytest_plugin"]

# CI (CI=true) draws the same hypothesis examples every run, so a result never depends on the day's luck;
# locally each run explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
