"""Stand-in for the ``flaky`` plugin's decorator (sentinelsat's suite marks two download tests
with it; replayed recordings are not flaky, so the test simply runs once)."""


def flaky(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f
