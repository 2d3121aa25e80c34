from eokit.hub.exceptions import *  # noqa: F403
