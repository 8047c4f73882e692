"""``python -m sensorhub`` is the ``sensorhub`` command."""

from sensorhub.service.cli import main

raise SystemExit(main())
