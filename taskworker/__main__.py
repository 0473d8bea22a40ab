"""``python -m taskworker``: the same as the ``taskworker`` command."""

from taskworker.cli import main

main()
