"""Fake Blinka 10 ``board``: asks to install platform packages, then the board's pins.

As the real board.py: first ``install_missing_platform_dependencies`` (which prompts
from a terminal unless BLINKA_SKIP_DEPENDENCY_CHECK=1), then the pin module of the
detected board. A Raspberry Pi's pins need the ``gpiod`` module (Blinka's RuntimeError
without it); GENERIC_LINUX_PC imports with no pins at all; a machine
adafruit_platformdetect cannot identify raises NotImplementedError.
"""

from __future__ import annotations

import adafruit_blinka

board_id = adafruit_blinka.board_id()

adafruit_blinka.install_missing_platform_dependencies()

if adafruit_blinka.is_pi():
    adafruit_blinka.require("gpiod")
    for _n in range(28):
        globals()[f"D{_n}"] = adafruit_blinka.Pin(_n)
    SDA, SCL = globals()["D2"], globals()["D3"]
elif board_id == "GENERIC_LINUX_PC":
    pass  # adafruit_blinka/board/generic_linux_pc.py: "(Empty) definitions"
elif board_id is None:
    raise NotImplementedError(
        f"""
                adafruit-platformdetect version {adafruit_blinka.PLATFORMDETECT_VERSION} was unable to identify the board
                and/or microcontroller running the Linux platform.
                """)  # noqa: E501 - Blinka's own message
else:
    raise NotImplementedError(f"Board not supported {board_id}.")
