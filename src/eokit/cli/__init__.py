"""The ``eokit`` command line: click groups, one module per command family, no logic."""
