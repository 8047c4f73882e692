"""``python -m sensorhub`` is the ``sensorhub`` command."""

from sensorhub.cli import main

raise SystemExit(main())
