"""Hardware layer: one small driver interface over DHT sensors, GPIO and a mock.

Nothing here imports ``sensorhub``; hardware modules are imported lazily, only by
the driver that needs them, so this package imports on any machine.
"""

from drivers.base import Driver, Sample
from drivers.errors import DriverError
from drivers.registry import DRIVER_SPECS, DriverSpec, open_driver

__all__ = ["DRIVER_SPECS", "Driver", "DriverError", "DriverSpec", "Sample", "open_driver"]
