"""drivers/: the real DHT and GPIO code paths, run against the fake hardware modules.

``fake_hardware`` (tests/fakes/fixtures.py) makes ``import adafruit_dht``, ``board``
and ``RPi.GPIO`` find tests/fakes, which answer and fail as the real modules do.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drivers.base import Sample
from drivers.dht import DHT11Driver, DHT22Driver
from drivers.errors import (
    PULSEIN_HINT,
    BadPinError,
    ChecksumError,
    DriverError,
    HardwareUnavailableError,
    ImplausibleReadingError,
    IncompleteReadError,
    PulseInStuckError,
    ReadTimeoutError,
    SensorNotFoundError,
    TransientReadError,
    translate_runtime_error,
)
from drivers.gpio import MockGpioBackend, PowerSwitch, RPiGpioBackend, open_backend
from drivers.registry import open_driver

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "tests" / "fakes"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- DHT: adafruit_dht's errors ------------------------------------------------------

@pytest.mark.parametrize(("outcome", "cls", "text"), [
    ("checksum", ChecksumError, "Checksum did not validate. Try again."),
    ("buffer", IncompleteReadError, "A full buffer was not returned. Try again."),
    ("notfound", SensorNotFoundError, "DHT sensor not found, check wiring"),
    ("implausible", ImplausibleReadingError, "Received unplausible data. Try again."),
    # the library's own check: humidity over 100 % is "unplausible"
    ("ok:21.0,100.5", ImplausibleReadingError, "Received unplausible data. Try again."),
])
def test_every_adafruit_message_becomes_its_driver_error(fake_hardware, outcome, cls, text):
    fake_hardware.script(pin=4, outcomes=[outcome])
    with DHT22Driver(4) as driver, pytest.raises(DriverError) as info:
        driver.read()
    error = info.value
    assert type(error) is cls
    assert str(error) == text
    assert isinstance(error, RuntimeError)  # `except RuntimeError` (adafruit style) still works
    assert isinstance(error.__cause__, RuntimeError)
    assert not isinstance(error.__cause__, DriverError)  # it came from the library
    assert [kind for _, _, kind in fake_hardware.measures] == [outcome.partition(":")[0]]


@pytest.mark.parametrize("cls", [TransientReadError, ChecksumError, IncompleteReadError,
                                 SensorNotFoundError, ImplausibleReadingError,
                                 PulseInStuckError])
def test_read_errors_are_runtime_errors(cls):
    assert issubclass(cls, DriverError)
    assert issubclass(cls, RuntimeError)


def test_a_timeout_is_not_a_runtime_error():
    # a retry loop written for adafruit_dht (`except RuntimeError: retry`) must not
    # swallow a hang
    assert issubclass(ReadTimeoutError, DriverError)
    assert issubclass(ReadTimeoutError, TimeoutError)
    assert not issubclass(ReadTimeoutError, RuntimeError)
    assert issubclass(HardwareUnavailableError, ImportError)
    assert issubclass(BadPinError, ValueError)


def test_an_unknown_runtime_error_is_a_plain_transient_error():
    error = translate_runtime_error(RuntimeError("something new in Blinka"))
    assert type(error) is TransientReadError
    assert str(error) == "something new in Blinka"
    assert translate_runtime_error(RuntimeError()).args == ("RuntimeError",)


# -- DHT: values -------------------------------------------------------------------

@pytest.mark.parametrize(("outcome", "expected"), [
    ("ok:0.0,50.0", (0.0, 50.0)),  # 0.0 °C is a reading, not "no value"
    ("ok:-12.3,0.0", (-12.3, 0.0)),  # so is 0 %RH
    ("ok:21.46,40.04", (21.5, 40.0)),  # DHT22: 0.1 resolution
])
def test_dht22_values_come_through_exactly(fake_hardware, outcome, expected):
    fake_hardware.script(pin=4, outcomes=[outcome])
    with DHT22Driver(4) as driver:
        sample = driver.read()
    assert (sample.temperature, sample.humidity) == expected
    assert isinstance(sample.temperature, float)
    assert isinstance(sample.humidity, float)


def test_dht11_reads_whole_percent_humidity_as_float(fake_hardware):
    fake_hardware.script(pin=17, outcomes=["ok:0.0,40.6"])
    with DHT11Driver(17) as driver:
        sample = driver.read()
    assert sample == Sample(0.0, 41.0)
    assert isinstance(sample.humidity, float)
    assert fake_hardware.devices[0]._dht11 is True


def test_one_read_is_one_measurement(fake_hardware):
    # temperature and humidity are two properties; both must come from one measurement
    fake_hardware.script(pin=4, outcomes=["ok:20.0,40.0", "ok:25.0,50.0"])
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(20.0, 40.0)
    assert fake_hardware.sensor(4).measures == 1


def test_the_fake_library_caches_for_two_seconds_like_the_real_one(fake_hardware):
    # adafruit_dht measures only if its last attempt (good or failed) is over 2 s old,
    # and otherwise returns its last good values (None before the first)
    import adafruit_dht
    import board

    clock = Clock()
    fake_hardware.clock = clock
    fake_hardware.script(pin=4, outcomes=["ok:20.0,40.0", "checksum", "ok:25.0,50.0"])
    device = adafruit_dht.DHT22(board.D4)
    assert (device.temperature, device.humidity) == (20.0, 40.0)
    clock.now += 1.99
    assert device.temperature == 20.0  # cached: the sensor was not asked
    assert fake_hardware.sensor(4).measures == 1
    clock.now += 0.02
    with pytest.raises(RuntimeError, match="Checksum"):
        device.temperature  # noqa: B018 - the property measures
    clock.now += 1.0
    assert device.humidity == 40.0  # the old values, looking fresh
    clock.now += 1.01
    assert device.humidity == 50.0
    assert fake_hardware.sensor(4).measures == 3
    device.exit()


def test_every_read_is_a_new_measurement(fake_hardware, monkeypatch):
    # inside the library's window the driver would get the last good values again,
    # even after a failure: it waits the window out instead (scaled down to 0.2 s here)
    assert DHT22Driver.library_cache_seconds == fake_hardware.cache_seconds == 2.0
    fake_hardware.cache_seconds = 0.2
    monkeypatch.setattr(DHT22Driver, "library_cache_seconds", 0.2)
    fake_hardware.script(pin=4, outcomes=["ok:20.0,40.0", "checksum", "ok:25.0,50.0"])
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(20.0, 40.0)
        with pytest.raises(ChecksumError):
            driver.read()
        assert driver.read() == Sample(25.0, 50.0)
    times = [t for t, _, _ in fake_hardware.measures]
    assert len(times) == 3
    assert all(b - a > 0.2 for a, b in itertools.pairwise(times))


def test_nothing_cached_yet_is_an_incomplete_read(fake_hardware, monkeypatch):
    # the library returns None until a measurement succeeds: never a reading of None
    fake_hardware.clock = Clock()  # frozen: every later read hits the library's cache
    monkeypatch.setattr(DHT22Driver, "library_cache_seconds", 0.0)
    fake_hardware.script(pin=4, outcomes=["checksum", "ok:20.0,40.0"])
    with DHT22Driver(4) as driver:
        with pytest.raises(ChecksumError):
            driver.read()
        with pytest.raises(IncompleteReadError, match="not produced a value yet"):
            driver.read()
    assert fake_hardware.sensor(4).measures == 1


def test_a_hanging_read_blocks_for_real_then_fails(fake_hardware):
    fake_hardware.script(pin=4, outcomes=["hang:0.3"])
    with DHT22Driver(4) as driver:
        started = time.monotonic()
        with pytest.raises(IncompleteReadError):
            driver.read()
        assert time.monotonic() - started >= 0.3


# -- DHT: opening ------------------------------------------------------------------

def test_missing_library_is_hardware_unavailable_with_a_hint(no_hardware):
    with pytest.raises(HardwareUnavailableError) as info:
        DHT22Driver(4)
    assert isinstance(info.value, ImportError)
    assert "pip install 'sensorhub[pi]'" in str(info.value)
    assert "adafruit_dht" in str(info.value)
    with pytest.raises(HardwareUnavailableError, match=r"sensorhub\[pi\]"):
        open_driver("am2302", 4, {})


def test_a_machine_blinka_cannot_identify_is_hardware_unavailable(fake_hardware):
    fake_hardware.board = None  # adafruit_platformdetect found no known board
    with pytest.raises(HardwareUnavailableError, match="does not know this machine") as info:
        DHT22Driver(4)
    assert "unable to identify the board" in str(info.value)
    assert "driver: mock" in str(info.value)
    assert isinstance(info.value.__cause__, NotImplementedError)
    assert fake_hardware.devices == []


def test_an_unidentified_board_via_the_environment(fake_hardware, monkeypatch):
    monkeypatch.setenv("FAKE_BOARD_UNSUPPORTED", "1")
    fake_hardware.reset()
    with pytest.raises(HardwareUnavailableError, match="does not know this machine"):
        DHT11Driver(4)


@pytest.mark.parametrize("pin", [40, 28, -1, None])
def test_a_pin_the_board_lacks_is_a_bad_pin(fake_hardware, pin):
    with pytest.raises(BadPinError) as info:
        DHT22Driver(pin)
    assert isinstance(info.value, ValueError)
    assert fake_hardware.devices == []


def test_the_highest_gpio_is_fine(fake_hardware):
    fake_hardware.script(pin=27, outcomes=["ok:19.0,60.0"])
    with DHT22Driver(27) as driver:
        assert driver.read() == Sample(19.0, 60.0)


def test_close_calls_exit_once(fake_hardware):
    driver = DHT22Driver(4)
    driver.close()
    driver.close()
    assert fake_hardware.exit_count(4) == 1
    with DHT22Driver(4):
        pass
    assert fake_hardware.exit_count(4) == 2


def test_close_frees_the_line_for_the_next_driver(fake_hardware):
    first = DHT22Driver(4)
    with pytest.raises(PulseInStuckError):
        DHT22Driver(4)  # the first one's pulse-in helper still holds GPIO 4
    first.close()
    with DHT22Driver(4) as second:
        assert second.read() == Sample(21.0, 45.0)


def test_registry_opens_the_dht_driver(fake_hardware):
    fake_hardware.script(pin=4, outcomes=["ok:23.0,51.0"])
    driver = open_driver("dht22", 4, {"use_pulseio": False})
    try:
        assert isinstance(driver, DHT22Driver)
        assert driver.read() == Sample(23.0, 51.0)
        assert fake_hardware.devices[0]._use_pulseio is False
    finally:
        driver.close()


# -- DHT: the pulse-in helper ------------------------------------------------------

def test_a_leftover_pulsein_helper_fails_the_open_with_the_hint(fake_hardware, capfd):
    fake_hardware.hold_pulsein(4)
    with pytest.raises(PulseInStuckError) as info:
        DHT22Driver(4)
    # the helper's complaint goes to stderr only; Python sees the constructor's timeout
    assert "Unable to set line 4 to input" in capfd.readouterr().err
    assert "Unable to set line" not in str(info.value)
    assert PULSEIN_HINT in str(info.value)
    assert "Timed out waiting for PulseIn message" in str(info.value)
    assert isinstance(info.value, RuntimeError)
    # the hint's advice works: without the helper (bit-banging) the sensor reads
    with DHT22Driver(4, use_pulseio=False) as driver:
        assert driver.read() == Sample(21.0, 45.0)
    fake_hardware.release_pulsein(4)  # pkill libgpiod_pulsein
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(21.0, 45.0)


def test_an_unrelated_oserror_is_transient(fake_hardware, monkeypatch):
    driver = DHT22Driver(4)

    def broken() -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(driver._reader._device, "measure", broken)
    with pytest.raises(TransientReadError, match="GPIO error") as info:
        driver.read()
    assert type(info.value) is TransientReadError
    driver.close()


# -- DHT: a hung sensor and its power ----------------------------------------------

def test_a_stuck_sensor_revives_only_after_a_power_cycle(fake_hardware):
    fake_hardware.stick(pin=4, power_pin=17, min_off=0.05)
    fake_hardware.script(pin=4, then="ok:22.0,44.0")
    power = PowerSwitch(RPiGpioBackend(), 17, off_seconds=0.1)
    driver = DHT22Driver(4)
    with pytest.raises(SensorNotFoundError):
        driver.read()
    driver.close()
    driver = DHT22Driver(4)  # reopening alone does not help
    with pytest.raises(SensorNotFoundError):
        driver.read()
    driver.close()
    power.cycle()
    with DHT22Driver(4) as driver:
        assert driver.read() == Sample(22.0, 44.0)
    assert fake_hardware.sensor(4).revivals == 1


def test_too_short_a_power_cut_does_not_revive(fake_hardware):
    fake_hardware.stick(pin=4, power_pin=17, min_off=1.0)
    PowerSwitch(RPiGpioBackend(), 17, off_seconds=0.05).cycle()
    with DHT22Driver(4) as driver, pytest.raises(SensorNotFoundError):
        driver.read()
    assert fake_hardware.sensor(4).power_cycles == 1
    assert fake_hardware.sensor(4).revivals == 0


def test_an_unpowered_sensor_is_not_found(fake_hardware):
    fake_hardware.script(pin=4, outcomes=["ok:20.0,40.0"])
    fake_hardware.sensor(4).power_pin = 17
    backend = RPiGpioBackend()
    backend.setup_output(17, False)
    with DHT22Driver(4) as driver, pytest.raises(SensorNotFoundError):
        driver.read()


# -- GPIO --------------------------------------------------------------------------

def test_rpigpio_backend_drives_and_releases_only_its_pins(fake_hardware):
    backend = RPiGpioBackend()
    import RPi.GPIO as GPIO

    assert GPIO.getmode() == GPIO.BCM
    GPIO.setup(22, GPIO.OUT, initial=GPIO.HIGH)  # another part of the program
    backend.setup_output(17, True)
    backend.setup_output(27, False)
    backend.write(17, False)
    backend.write(27, True)
    assert fake_hardware.states(17) == [True, False]
    assert fake_hardware.states(27) == [False, True]
    assert [e.how for e in fake_hardware.events(17)] == ["setup", "output"]
    backend.cleanup()
    assert fake_hardware.cleaned == [17, 27]
    assert fake_hardware.function(22) == "out"  # not ours: left alone
    backend.cleanup()  # nothing left to release
    assert fake_hardware.cleaned == [17, 27]


def test_rpigpio_backend_tolerates_a_line_left_as_output(fake_hardware):
    # a crashed earlier run left GPIO 17 as an output: RPi.GPIO warns about it unless
    # warnings are off (and warnings are errors in this test suite)
    fake_hardware.preset_output(17, False)
    import RPi.GPIO as GPIO

    GPIO.setmode(GPIO.BCM)
    with pytest.warns(RuntimeWarning, match="already in use"):
        GPIO.setup(17, GPIO.OUT)
    GPIO.cleanup()
    fake_hardware.preset_output(17, False)
    backend = RPiGpioBackend()
    backend.setup_output(17, True)
    assert fake_hardware.states(17) == [True]
    backend.cleanup()


def test_rpigpio_backend_rejects_a_pin_the_board_lacks(fake_hardware):
    backend = RPiGpioBackend()
    with pytest.raises(BadPinError, match="GPIO 40"):
        backend.setup_output(40, True)
    backend.cleanup()
    assert fake_hardware.cleaned == []


def test_rpigpio_off_a_pi_is_hardware_unavailable(fake_hardware):
    fake_hardware.not_a_pi = True
    with pytest.raises(HardwareUnavailableError,
                       match="This module can only be run on a Raspberry Pi!") as info:
        RPiGpioBackend()
    assert isinstance(info.value.__cause__, RuntimeError)


def test_rpigpio_off_a_pi_via_the_environment(fake_hardware, monkeypatch):
    monkeypatch.setenv("FAKE_GPIO_NOT_A_PI", "1")
    with pytest.raises(HardwareUnavailableError, match="Raspberry Pi"):
        open_backend("rpigpio")


def test_rpigpio_missing_is_hardware_unavailable(no_hardware):
    with pytest.raises(HardwareUnavailableError, match=r"install RPi\.GPIO"):
        RPiGpioBackend()


def test_power_switch_cycles_low_then_high_over_rpigpio(fake_hardware):
    power = PowerSwitch(RPiGpioBackend(), 17, off_seconds=0.15)
    power.cycle()
    events = fake_hardware.events(17)
    assert [(e.level, e.how) for e in events] == [(True, "setup"), (False, "output"),
                                                  (True, "output")]
    assert events[2].t - events[1].t >= 0.15


def test_power_switch_over_the_mock_backend():
    backend = MockGpioBackend()
    power = PowerSwitch(backend, 5, off_seconds=0.1)
    power.cycle()
    assert backend.states(5) == [True, False, True]
    (_, _, _), (t_off, _, _), (t_on, _, _) = backend.history
    assert t_on - t_off >= 0.1
    assert backend.levels == {5: True}


# -- a subprocess configured through the environment ---------------------------------

CHILD = """
import json
from drivers.dht import DHT22Driver
from drivers.errors import DriverError, HardwareUnavailableError
from drivers.gpio import open_backend
out = []
DHT22Driver.library_cache_seconds = 0.05  # the script shortens the library's window
driver = DHT22Driver(4)
for _ in range(3):
    try:
        out.append(list(driver.read()))
    except DriverError as error:
        out.append(error.kind)
driver.close()
try:
    open_backend("rpigpio")
except HardwareUnavailableError as error:
    out.append(str(error))
print(json.dumps(out))
"""


def test_a_subprocess_takes_its_script_from_the_environment(tmp_path):
    script = tmp_path / "hw.json"
    script.write_text(json.dumps({
        "cache_seconds": 0.05,
        "sensors": {"4": {"outcomes": ["checksum", "ok:19.5,55.0"], "then": "notfound"}},
    }))
    log = tmp_path / "hw.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FAKES), str(ROOT)]),
           "FAKEHW_SCRIPT": str(script), "FAKEHW_LOG": str(log), "FAKE_GPIO_NOT_A_PI": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=30, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out[:3] == ["checksum", [19.5, 55.0, None, None], "not_found"]
    assert "only be run on a Raspberry Pi" in out[3]
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    events = [(e["event"], e.get("outcome")) for e in logged]
    assert events == [("measure", "checksum"), ("measure", "ok"), ("measure", "notfound"),
                      ("exit", None)]
