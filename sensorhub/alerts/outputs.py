"""Alarm outputs: a GPIO (buzzer, relay, lamp) on while any rule using it fires."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sensorhub.config.alerts import AlertRule

log = logging.getLogger(__name__)


class AlarmOutputs:
    """Drives the output pins of alert rules through the shared GPIO."""

    def __init__(self, gpio: Callable[[], Any] | None) -> None:
        self._gpio = gpio
        self._ready: set[int] = set()

    def drive(self, rule: AlertRule, firing_rules: Iterable[AlertRule]) -> None:
        """Set the rule's pin: active while any of ``firing_rules`` uses that pin."""
        pin = rule.output_pin
        if self._gpio is None or pin is None:
            return
        active = any(r.output_pin == pin for r in firing_rules)
        level = active == rule.active_high
        try:
            backend = self._gpio()
            if pin not in self._ready:
                backend.setup_output(pin, level)
                self._ready.add(pin)
            else:
                backend.write(pin, level)
        except Exception as error:  # no GPIO here: the dashboard still shows the alert
            log.error("alarm output GPIO %d: %s", pin, error)

    def release(self, rule: AlertRule) -> None:
        """Switch off a pin no rule uses any more (a reload removed them) and free it."""
        pin = rule.output_pin
        if self._gpio is None or pin is None or pin not in self._ready:
            return
        self.drive(rule, ())
        try:
            self._gpio().release(pin)
        except Exception as error:  # as in drive: the GPIO may be gone; say so, go on
            log.error("alarm output GPIO %d: %s", pin, error)
        self._ready.discard(pin)
