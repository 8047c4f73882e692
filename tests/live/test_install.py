"""Deployment: the systemd unit, install.sh into a scratch root, the offline bundle."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port, write_config

INSTALL = ROOT / "systemd" / "install.sh"
BUILD = ROOT / "systemd" / "build-bundle.sh"
PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP": f"{sys.executable} -m pip", "PYTHON": sys.executable}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          check=False, timeout=600, **kwargs)  # type: ignore[arg-type]


def tree(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (outside bytecode caches) with its sha256 and mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.is_symlink():
            out[str(path.relative_to(root))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                path.stat().st_mode & 0o7777)
    return out


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze missing: .ci/run must install the systemd package")
        pytest.skip("systemd-analyze not installed")
    text = (ROOT / "systemd" / "sensorhub.service").read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text and "Restart=on-failure" in text
    assert "StateDirectory=sensorhub" in text and "SupplementaryGroups=gpio" in text
    assert "DeviceAllow=char-i2c rw" in text  # the SCD4x / AHT20 on /dev/i2c-*
    assert "/etc/sensorhub/config.yaml" in text and "EVENTLET_NO_GREENDNS=yes" in text
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text  # systemctl reload: SIGHUP
    # verify checks that ExecStart exists; point it at a binary this machine has
    unit = tmp_path / "sensorhub.service"
    unit.write_text(text.replace("/opt/sensorhub/venv/bin/sensorhub", "/bin/true"))
    result = run("systemd-analyze", "verify", unit)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    result = run(BUILD, "--python", PY, "--arch", platform.machine(), "-o", out)
    assert result.returncode == 0, result.stderr
    (path,) = out.glob("sensorhub-*.tar.gz")
    return path


@pytest.mark.slow
def test_install_into_scratch_root_is_idempotent(bundle: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    first = run(INSTALL, "--prefix", root, "--offline", bundle)
    assert first.returncode == 0, first.stderr + first.stdout
    files = tree(root)
    expected = {
        "etc/sensorhub/config.yaml": 0o640,  # may hold secrets (issue 12 item 10)
        "etc/systemd/system/sensorhub.service": 0o644,
        "opt/sensorhub/docs/protocol.md": 0o644,
        "opt/sensorhub/venv/bin/sensorhub": 0o755,
    }
    for name, mode in expected.items():
        assert name in files and files[name][1] == mode, name
    assert (root / "var/lib/sensorhub").is_dir()
    assert (root / "var/lib/sensorhub").stat().st_mode & 0o777 == 0o750
    config = (root / "etc/sensorhub/config.yaml").read_text()
    assert f"path: {root}/var/lib/sensorhub/sensorhub.db" in config
    assert files["etc/systemd/system/sensorhub.service"][0] == hashlib.sha256(
        (ROOT / "systemd/sensorhub.service").read_bytes()).hexdigest()
    assert (root / "opt/sensorhub/venv/pyvenv.cfg").read_text().count(
        "include-system-site-packages = true") == 1

    second = run(INSTALL, "--prefix", root, "--offline", bundle)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert tree(root) == files

    # an edited config survives an upgrade (made private if an older release left it
    # readable by all); uninstall keeps data unless --purge
    (root / "etc/sensorhub/config.yaml").write_text(config.replace("port: 5000", "port: 5050"))
    (root / "etc/sensorhub/config.yaml").chmod(0o644)
    (root / "var/lib/sensorhub/sensorhub.db").write_text("data")
    assert run(INSTALL, "--prefix", root, "--offline", bundle).returncode == 0
    assert "port: 5050" in (root / "etc/sensorhub/config.yaml").read_text()
    assert (root / "etc/sensorhub/config.yaml").stat().st_mode & 0o777 == 0o640
    removed = run(INSTALL, "--prefix", root, "--uninstall")
    assert removed.returncode == 0 and not (root / "opt/sensorhub").exists()
    assert not (root / "etc/systemd/system/sensorhub.service").exists()
    assert (root / "var/lib/sensorhub/sensorhub.db").exists()
    assert run(INSTALL, "--prefix", root, "--uninstall", "--purge").returncode == 0
    assert not (root / "var/lib/sensorhub").exists() and not (root / "etc/sensorhub").exists()


@pytest.mark.slow
def test_offline_bundle_installs_and_serves_readings(bundle: Path, tmp_path: Path) -> None:
    listing = run("tar", "-tzf", bundle).stdout.split()
    wheels = [n for n in listing if n.endswith(".whl")]
    assert any("/sensorhub-" in w for w in wheels) and any("adafruit_circuitpython_dht" in w
                                                           for w in wheels)
    # what the Pi needs besides: Blinka's undeclared gpiod, and smbus2 for I2C sensors
    assert any("/gpiod-2." in w for w in wheels) and any("/smbus2-" in w for w in wheels)
    assert not any("RPi" in w for w in wheels)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    assert run("tar", "-xzf", bundle, "-C", unpacked).returncode == 0
    (folder,) = unpacked.iterdir()
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    installed = run(venv / "bin/pip", "install", "--no-index", "--find-links", folder / "wheels",
                    "sensorhub", "adafruit-circuitpython-dht")
    assert installed.returncode == 0, installed.stderr
    port = free_port()
    workdir = tmp_path / "svc"
    workdir.mkdir()
    config = write_config(workdir, port=port, async_mode="eventlet",
                          sensors=[{"id": "a1", "room": "a", "driver": "mock", "interval": 0.2}])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    added = subprocess.run([venv / "bin/sensorhub", "user", "add", "kiosk", "--rooms", "a",
                            "--password-stdin", "-c", config], input="long-enough-pw\n",
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert added.returncode == 0, added.stderr
    token = subprocess.run([venv / "bin/sensorhub", "token", "create", "kiosk", "-c", config],
                           capture_output=True, text=True, env=env, cwd=tmp_path,
                           check=True).stdout.strip()
    proc = subprocess.Popen([venv / "bin/sensorhub", "run", "-c", config], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        latest = None
        while time.monotonic() < deadline and latest is None:
            time.sleep(0.3)
            try:
                body = requests.get(f"http://127.0.0.1:{port}/api/sensors", timeout=2,
                                    headers={"Authorization": f"Bearer {token}"}).json()
            except requests.ConnectionError:
                continue
            latest = body["sensors"][0]["latest"]
        assert latest is not None and latest["temperature"] is not None
        page = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert page.status_code == 200 and "csrf_token" in page.text  # templates installed
        for module in sorted((ROOT / "static" / "js").glob("*.js")):  # the dashboard's modules
            served = requests.get(f"http://127.0.0.1:{port}/static/js/{module.name}", timeout=5)
            # the installed module as served: its imports carry ?v=<version> (assets.py)
            unversioned = re.sub(rb"(\.js)\?v=[0-9a-f]+(['\"])", rb"\1\2", served.content)
            assert served.status_code == 200 and unversioned == module.read_bytes(), module
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, output


@pytest.mark.slow
@pytest.mark.parametrize("python", ["3.11", "3.13"])
def test_every_dependency_has_an_aarch64_wheel(tmp_path: Path, python: str) -> None:
    """Raspberry Pi OS Bookworm (3.11) and Trixie (3.13) on a 64-bit Pi."""
    result = run(BUILD, "--python", python, "--arch", "aarch64", "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    listing = run("tar", "-tzf", next(tmp_path.glob("*.tar.gz"))).stdout
    assert "greenlet-" in listing and "aarch64" in listing
    assert "gpiod-2." in listing and f"cp{python.replace('.', '')}" in listing


@pytest.mark.parametrize("arch", ["armv7l", "armv6l"])
def test_a_32_bit_bundle_is_refused_in_one_line(tmp_path: Path, arch: str) -> None:
    result = run(BUILD, "--arch", arch, "-o", tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert f"--arch {arch} cannot work" in result.stderr and "64-bit" in result.stderr
    assert not list(tmp_path.iterdir())  # refused before building anything
