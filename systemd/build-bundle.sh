#!/usr/bin/env bash
# Build an offline install bundle: sensorhub and every dependency as wheels for one
# Python version and CPU, plus install.sh, the unit, a starter config and the docs.
#
#   systemd/build-bundle.sh                          # Pi OS Bookworm: aarch64, Python 3.11
#   systemd/build-bundle.sh --python 3.13            # Pi OS Trixie
#   systemd/build-bundle.sh --arch x86_64 -o /tmp    # for testing on a PC
#
# Needs network (PyPI) on the machine that builds it; the Pi that installs it needs none:
#   sudo ./install.sh --offline sensorhub-<version>-cp311-aarch64.tar.gz
# A 64-bit Raspberry Pi OS is required: pyyaml, greenlet and sysv_ipc have no armv7l wheels.
# RPi.GPIO / rpi-lgpio are not bundled: they have no wheels on PyPI, and Raspberry Pi OS
# ships them as Debian packages, which the service's venv (--system-site-packages) uses.
set -euo pipefail
PYVER=3.11
ARCH=aarch64
OUT=dist
HERE=$(cd "$(dirname "$0")/.." && pwd)
PIP=${PIP:-python3 -m pip}
# the Pi extra, less RPi.GPIO (a Debian package): the DHT library, the gpiod module Blinka
# needs on a Pi but does not declare, and smbus2 for the I2C sensors
PI_PACKAGES=(adafruit-circuitpython-dht 'gpiod>=2.2.2,<3' smbus2)
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYVER=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    -o|--out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-bundle.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$ARCH" in
  aarch64|x86_64) ;;
  armv7l|armv6l) echo "build-bundle.sh: --arch $ARCH cannot work (pyyaml, greenlet and sysv_ipc publish no $ARCH wheels): install a 64-bit Raspberry Pi OS and use --arch aarch64" >&2; exit 2 ;;
  *) echo "build-bundle.sh: unsupported --arch $ARCH (aarch64 or x86_64)" >&2; exit 2 ;;
esac
CP=cp${PYVER/./}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$HERE/pyproject.toml" | head -n1)
NAME=sensorhub-$VERSION-$CP-$ARCH
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
DEST=$WORK/$NAME
mkdir -p "$DEST/wheels" "$DEST/docs" "$OUT"

# manylinux tags a Pi OS (glibc 2.36 on Bookworm, 2.41 on Trixie) can run
platforms=()
for tag in manylinux2014 manylinux_2_17 manylinux_2_24 manylinux_2_28 manylinux_2_31 manylinux_2_34 manylinux_2_36; do
  platforms+=(--platform "${tag}_$ARCH")
done
platforms+=(--platform "linux_$ARCH")

$PIP wheel -q --disable-pip-version-check --no-deps -w "$DEST/wheels" "$HERE"
$PIP download -q --disable-pip-version-check --only-binary=:all: "${platforms[@]}" \
  --python-version "$PYVER" --implementation cp --abi "$CP" -d "$DEST/wheels" \
  "$DEST"/wheels/sensorhub-*.whl "${PI_PACKAGES[@]}"

install -m 0755 "$HERE/systemd/install.sh" "$DEST/install.sh"
install -m 0644 "$HERE/systemd/sensorhub.service" "$HERE/systemd/config.pi.yaml" "$DEST/"
install -m 0644 "$HERE"/docs/*.md "$DEST/docs/"
(cd "$DEST" && sha256sum wheels/*.whl install.sh sensorhub.service config.pi.yaml > CONTENTS)
cat > "$DEST/README.txt" <<TXT
sensorhub $VERSION offline bundle for Python $PYVER on $ARCH.
Install (no network needed):  sudo ./install.sh --offline ../$NAME.tar.gz
Or, from inside this folder:  sudo ./install.sh --offline /path/to/$NAME.tar.gz
CONTENTS lists the sha256 of every file; docs/deploy.md explains the rest.
TXT
tar -C "$WORK" -czf "$OUT/$NAME.tar.gz" "$NAME"
echo "$OUT/$NAME.tar.gz ($(ls "$DEST/wheels" | wc -l) wheels)"
