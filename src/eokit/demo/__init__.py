"""``eokit demo``: every capability end to end on a small generated world."""
