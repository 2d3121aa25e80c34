"""``python -m eokit``: the same command line as the ``eokit`` script."""

from eokit.cli.main import main

if __name__ == "__main__":
    main()
