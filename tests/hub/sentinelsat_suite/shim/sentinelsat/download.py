def _wait(event, timeout):  # sentinelsat's waiting hook; eokit has none to patch
    return event.wait(timeout)
