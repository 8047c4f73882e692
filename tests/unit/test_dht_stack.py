"""The DHT stack as it fails on a real Raspberry Pi OS, and what the driver makes of it.

The fakes follow adafruit-circuitpython-dht 4.0.12 and Adafruit-Blinka 10.x: the
install prompt from a terminal, the gpiod RuntimeError, the NameError without
pulseio, the TypeError without a digitalio Pin, GENERIC_LINUX_PC without pins, the
header chip found by label, and a pulse-in helper whose death blocks ``measure()``.
Each case first shows the library failing that way, then what our driver says.
"""

from __future__ import annotations

import io
import threading
import time
from types import MappingProxyType

import pytest

from drivers.base import Sample
from drivers.dht import DHT22Driver
from drivers.errors import BadPinError, HardwareUnavailableError, PulseInStuckError
from drivers.registry import open_driver
from sensorhub.config import SensorConfig
from sensorhub.polling.loop import Poller
from sensorhub.runtime import ThreadingRuntime


class Terminal(io.StringIO):
    """A stdin/stdout that says it is a terminal, and records whether anyone asked."""

    def isatty(self) -> bool:
        return True


def sensor_config(sensor_id: str, driver: str, **fields: object) -> SensorConfig:
    fields.setdefault("interval", 2.0)
    fields.setdefault("timeout", 1.0)
    fields["options"] = MappingProxyType(dict(fields.get("options", {})))  # type: ignore[arg-type]
    return SensorConfig(id=sensor_id, name=sensor_id, room="lab", driver=driver, pin=4
                        if driver != "mock" else None, **fields)  # type: ignore[arg-type]


# -- importing Blinka: never a question, always the real cause -------------------------

def test_blinka_asks_from_a_terminal_but_never_when_sensorhub_imports_it(fake_hardware,
                                                                          monkeypatch):
    # the PWM and NeoPixel backends are missing on a plain install: Blinka 10 offers to
    # pip-install them when stdin and stdout are a terminal ...
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("sys.stdout", Terminal())
    import board  # noqa: F401

    assert fake_hardware.prompts == 1
    # ... but not when sensorhub imports it (`sensorhub read` runs from a terminal)
    from tests.fakes.fixtures import FAKE_MODULES, _forget

    _forget(tuple(m for m in FAKE_MODULES if m != "fakehw"))
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(21.0, 45.0)
    assert fake_hardware.prompts == 1


def test_a_pi_without_the_gpiod_module_says_so_and_how_to_fix_it(fake_hardware):
    fake_hardware.installed.discard("gpiod")
    with pytest.raises(RuntimeError, match="platform library 'gpiod' was not found"):
        import adafruit_dht  # noqa: F401 - the library's own failure, for comparison
    with pytest.raises(HardwareUnavailableError) as info:
        DHT22Driver(4)
    message = str(info.value)
    assert "needs the gpiod Python module" in message
    assert "pip install 'gpiod>=2.2.2,<3'" in message
    assert "backend: kernel" in message
    assert "not a supported board" not in message and "driver: mock" not in message


def test_a_pc_imports_blinka_as_generic_linux_pc_with_no_pins(fake_hardware):
    fake_hardware.board = "GENERIC_LINUX_PC"
    import board

    assert board.board_id == "GENERIC_LINUX_PC" and not hasattr(board, "D4")
    with pytest.raises(HardwareUnavailableError, match="GENERIC_LINUX_PC, which has no GPIO"):
        DHT22Driver(4)


def test_a_pin_the_pi_lacks_is_still_a_bad_pin(fake_hardware):
    with pytest.raises(BadPinError, match=r"RASPBERRY_PI_4B\) has no GPIO 30"):
        DHT22Driver(30)


# -- what adafruit_dht raises where Blinka lacks a part --------------------------------

def test_without_pulseio_the_library_raises_nameerror_and_we_name_the_cause(fake_hardware):
    fake_hardware.installed.discard("sysv_ipc")  # Blinka's PulseIn cannot import
    import adafruit_dht
    import board

    with pytest.raises(NameError, match="PulseIn"):
        adafruit_dht.DHT22(board.D4, use_pulseio=True)
    with pytest.raises(HardwareUnavailableError) as info:
        DHT22Driver(4, use_pulseio=True)
    assert "No module named 'sysv_ipc'" in str(info.value)
    assert "use_pulseio: false" in str(info.value)
    with DHT22Driver(4, use_pulseio=False) as driver:  # the hint works
        assert driver.read() == Sample(21.0, 45.0)


def test_without_a_digitalio_pin_bitbanging_raises_typeerror_a_driver_error(
        fake_hardware, monkeypatch):
    import adafruit_dht
    import board
    import digitalio

    monkeypatch.setattr(digitalio, "Pin", None)  # a board Blinka has no Pin class for
    device = adafruit_dht.DHT22(board.D4, use_pulseio=False)
    with pytest.raises(TypeError):
        device.temperature  # noqa: B018 - the library fails on its first read
    with pytest.raises(HardwareUnavailableError, match="no GPIO pin support"):
        DHT22Driver(4, use_pulseio=False)


def test_any_exception_of_the_library_is_that_sensors_error_alone(fake_hardware,
                                                                  monkeypatch):
    driver = open_driver("dht22", 4, {"use_pulseio": False})
    driver.library_cache_seconds = 0.0  # back-to-back polls: no 2 s wait inside a read
    import digitalio

    monkeypatch.setattr(digitalio, "Pin", None)  # now the library raises TypeError
    configs = [sensor_config("porch", "dht22"), sensor_config("demo", "mock", interval=0.1)]
    opened = iter([driver])

    def opener(name: str, pin: int | None, options: dict) -> object:
        return next(opened) if name == "dht22" else open_driver(name, pin, options)

    poller = Poller(configs, ThreadingRuntime(), open_driver=opener)
    try:
        assert poller.poll_once("porch") is False
        state = poller.state("porch")
        assert state.state == "failing"
        assert "unavailable: adafruit_dht/Blinka failed: TypeError" in (state.error or "")
        for _ in range(3):  # the other sensor, and this one's loop, carry on
            assert poller.poll_once("demo") is True
            assert poller.poll_once("porch") is False
        assert poller.state("demo").state == "ok"
        assert poller.health("porch")["failures"]["unavailable"] >= 1
    finally:
        poller.stop(timeout=1.0)


# -- no GPIO chip ------------------------------------------------------------------------

@pytest.mark.parametrize("use_pulseio", [True, False])
def test_a_pi_without_a_gpio_chip_names_the_cause(fake_hardware, use_pulseio):
    fake_hardware.chips = {}  # e.g. a container without /dev/gpiochip*
    with pytest.raises(HardwareUnavailableError) as info:
        DHT22Driver(4, use_pulseio=use_pulseio).read()
    assert "No Raspberry Pi header GPIO controller exposes GPIO 4" in str(info.value)
    assert "pinctrl-rp1" in str(info.value)


def test_a_pi5_chip_is_found_by_its_label_whatever_its_number(fake_hardware):
    fake_hardware.board = "RASPBERRY_PI_5"
    fake_hardware.chips = {"/dev/gpiochip0": ("pinctrl-rp1", 54),
                           "/dev/gpiochip10": ("rp1-firmware", 2)}
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(21.0, 45.0)
    fake_hardware.chips = {"/dev/gpiochip4": ("pinctrl-rp1", 54)}  # older kernels
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(21.0, 45.0)


def test_gpio_devices_this_user_may_not_open(fake_hardware):
    fake_hardware.chip_access = False
    with pytest.raises(HardwareUnavailableError, match="gpio group"):
        DHT22Driver(4)


# -- the pulse-in helper ---------------------------------------------------------------

def test_a_helper_that_dies_mid_read_blocks_until_aborted_then_recovers(fake_hardware):
    fake_hardware.script(pin=4, outcomes=["helper_dies", "ok:22.5,41.0"])
    fake_hardware.cache_seconds = 0.05  # the library's 2 s window, scaled down
    driver = DHT22Driver(4)
    driver.library_cache_seconds = 0.05
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(_attempt(driver)), daemon=True)
    reader.start()
    reader.join(0.5)
    assert reader.is_alive(), "the real measure() blocks forever on a dead helper"
    driver.abort()  # what the poller does when the read times out
    reader.join(2.0)
    assert not reader.is_alive()
    assert isinstance(outcome[0], PulseInStuckError)
    assert "stopped answering mid-read" in str(outcome[0])
    assert driver.read() == Sample(22.5, 41.0)  # a new helper took the line
    driver.close()
    assert fake_hardware.held_lines == {}


def _attempt(driver: DHT22Driver) -> object:
    try:
        return driver.read()
    except Exception as error:
        return error


def test_the_poller_aborts_a_read_hung_on_a_dead_helper(fake_hardware, monkeypatch):
    fake_hardware.script(pin=4, outcomes=["helper_dies"], then="ok:20.0,50.0")
    fake_hardware.cache_seconds = 0.05  # the 2 s window scaled to the 0.5 s timeout
    monkeypatch.setattr(DHT22Driver, "library_cache_seconds", 0.05)
    poller = Poller([sensor_config("porch", "dht22", timeout=0.5)], ThreadingRuntime())
    try:
        started = time.monotonic()
        assert poller.poll_once("porch") is False
        assert "read timed out after 0.5 s" in (poller.state("porch").error or "")
        assert time.monotonic() - started < 3.0
        deadline = time.monotonic() + 5.0
        while not poller.poll_once("porch"):  # no "previous read still hung" forever
            assert time.monotonic() < deadline, poller.state("porch")
        reading = poller.latest("porch")
        assert reading is not None and (reading.temperature, reading.humidity) == (20.0, 50.0)
    finally:
        poller.stop(timeout=1.0)


def test_a_helper_that_died_between_reads_is_restarted(fake_hardware):
    fake_hardware.cache_seconds = 0.05
    with DHT22Driver(4) as driver:
        driver.library_cache_seconds = 0.05
        assert driver.read() == Sample(21.0, 45.0)
        driver._reader._device.pulse_in._process.terminate()  # killed by someone
        assert driver.read() == Sample(21.0, 45.0)
    assert fake_hardware.exit_count(4) == 2


# -- GPIO outputs on the chip found by its label -----------------------------------------

def test_gpiod_power_pins_find_the_header_chip_by_label(fake_hardware, fake_sysfs):
    from drivers.gpio import PowerSwitch, open_backend

    fake_hardware.board = "RASPBERRY_PI_5"
    for number, chips in ((0, {"/dev/gpiochip0": ("pinctrl-rp1", 54),
                               "/dev/gpiochip10": ("rp1-firmware", 2)}),
                          (4, {"/dev/gpiochip0": ("gpio-brcmstb@107d508500", 32),
                               "/dev/gpiochip4": ("pinctrl-rp1", 54)})):  # older kernels
        fake_hardware.chips = chips
        for path in chips:
            fake_sysfs.gpiochip(int(path.rpartition("gpiochip")[2]))
        backend = open_backend("gpiod", str(fake_sysfs.root))
        assert backend.path == f"/dev/gpiochip{number}"
        PowerSwitch(backend, 17, off_seconds=0.05).cycle()
        assert fake_hardware.states(17)[-3:] == [True, False, True]
        backend.release(17)  # a reload that removed the sensor gives its power pin back
        backend.release(17)  # and twice is harmless
        backend.setup_output(17, False)  # free again: a held line would be EBUSY
        backend.cleanup()
        for entry in (fake_sysfs.root / "bus/gpio/devices").iterdir():
            entry.rmdir()


def test_gpiod_without_a_header_chip_lists_what_it_found(fake_hardware, fake_sysfs):
    from drivers.gpio import open_backend

    fake_hardware.chips = {"/dev/gpiochip0": ("gpio-mockup-A", 8)}
    with pytest.raises(HardwareUnavailableError, match="bus/gpio/devices"):
        open_backend("gpiod", str(fake_sysfs.root))
    fake_sysfs.gpiochip(0)
    found = r"no GPIO chip labelled pinctrl-rp1.*/dev/gpiochip0 \(gpio-mockup-A\)"
    with pytest.raises(HardwareUnavailableError, match=found):
        open_backend("gpiod", str(fake_sysfs.root))
    fake_hardware.chips = {"/dev/gpiochip0": ("pinctrl-bcm2711", 58)}
    fake_hardware.chip_access = False
    with pytest.raises(HardwareUnavailableError, match="gpio group"):
        open_backend("gpiod", str(fake_sysfs.root))


def test_gpiod_rejects_a_pin_and_a_busy_line(fake_hardware, fake_sysfs):
    from drivers.errors import BadPinError, TransientReadError
    from drivers.gpio import open_backend

    fake_sysfs.gpiochip(0)
    first = open_backend("gpiod", str(fake_sysfs.root))
    with pytest.raises(BadPinError, match="GPIO 70"):
        first.setup_output(70, True)
    first.setup_output(17, True)
    second = open_backend("gpiod", str(fake_sysfs.root))
    with pytest.raises(TransientReadError, match="line 17: the driver is busy"):
        second.setup_output(17, True)
    first.cleanup()
    second.setup_output(17, False)
    second.cleanup()
