"""``sentinelsat.exceptions``: the classic exception classes, which eokit defines."""

from eokit.hub.exceptions import *  # noqa: F403
