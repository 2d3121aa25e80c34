"""``sentinelsat.download``: the suite patches its ``_wait`` hook; eokit waits in its engine instead
(the shim's client sets the retry delays to 1 ms), so the hook only has to exist."""


def _wait(event, timeout):
    return event.wait(timeout)
