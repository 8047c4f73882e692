"""sensorhub: a Raspberry Pi temperature and humidity dashboard.

The app is built by ``sensorhub.app.create_app``; ``docs/architecture.md`` shows how
the subpackages fit together.
"""

from __future__ import annotations

import sys
from pathlib import Path

__version__ = "0.1.0"


def _asset_root() -> Path:
    """Where templates/ and static/ are: the source tree, or an installed share/ copy."""
    source = Path(__file__).resolve().parent.parent
    if (source / "templates").is_dir():
        return source
    return Path(sys.prefix) / "share" / "sensorhub"


ROOT = _asset_root()
