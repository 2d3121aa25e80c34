"""The vendored gridr suite's tests that differ by design (see README: "gridr's own test suite")."""

import pytest

# gridr's array_in_mask_safe_win is a caller's promise that a window of the source mask is all valid,
# so that gridr can skip checking it; the safe-window test asserts that a *wrong* promise changes
# gridr's output. eokit checks every tap itself (at no measurable cost), accepts the window for
# compatibility and ignores it, so a wrong promise changes nothing: a wrong result is never produced.
SAFE_WINDOW_REASON = (
    "eokit ignores array_in_mask_safe_win (a speed hint in gridr) and checks the mask itself, "
    "so a wrong safe window does not change the output"
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "safe_window__nominal_case" in item.name and "nearest" not in item.name:
            item.add_marker(pytest.mark.xfail(reason=SAFE_WINDOW_REASON, strict=True))
