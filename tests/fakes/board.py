"""Fake Blinka ``board`` of a Raspberry Pi: pins D0..D27 (``.id`` = BCM number), no others.

With ``fakehw.world.unsupported_board`` or ``FAKE_BOARD_UNSUPPORTED=1`` the import
fails with NotImplementedError, as Blinka's does on a machine it does not know.
"""

from __future__ import annotations

import fakehw

if fakehw.world.unsupported_board or fakehw.env_flag(fakehw.ENV_UNSUPPORTED_BOARD):
    raise NotImplementedError("Board not supported: GENERIC_X86 (fakehw: unsupported board)")

board_id = "RASPBERRY_PI_4B"


class Pin:
    """A GPIO pin as Blinka's microcontroller.pin.Pin: identified by its BCM number."""

    def __init__(self, bcm: int) -> None:
        self.id = bcm

    def __repr__(self) -> str:
        return str(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pin) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


D0, D1, D2, D3, D4, D5, D6, D7, D8, D9 = (Pin(n) for n in range(0, 10))
D10, D11, D12, D13, D14, D15, D16, D17, D18, D19 = (Pin(n) for n in range(10, 20))
D20, D21, D22, D23, D24, D25, D26, D27 = (Pin(n) for n in range(20, 28))
