import threading
import time

import pytest

from eokit.core import open_executor
from eokit.errors import InvalidInputError


def _slow_square(x):
    time.sleep(0.002 * (x % 3))
    return x * x


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_imap_keeps_order_and_map_matches(scheduler):
    with open_executor(scheduler, 2) as ex:
        assert list(ex.imap(_slow_square, range(20), max_pending=3)) == [x * x for x in range(20)]
        assert ex.map(_slow_square, range(7)) == [x * x for x in range(7)]
        assert sorted(ex.imap_unordered(_slow_square, range(9))) == [x * x for x in range(9)]


def test_imap_bounds_work_in_flight():
    started, lock = [], threading.Lock()

    def task(x):
        with lock:
            started.append(x)
        time.sleep(0.01)
        return x

    with open_executor("threads", 2) as ex:
        gen = ex.imap(task, range(50), max_pending=4)
        first = next(gen)
        time.sleep(0.05)
        with lock:
            in_flight = len(started)
        assert first == 0 and in_flight <= 5  # never the whole input at once
        assert list(gen) == list(range(1, 50))


def test_unknown_scheduler():
    with pytest.raises(InvalidInputError):
        with open_executor("gpu-cluster"):
            pass
