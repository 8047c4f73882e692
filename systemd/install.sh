#!/usr/bin/env bash
# Install, upgrade or remove sensorhub as a systemd service on Raspberry Pi OS
# (Bookworm/Trixie). Idempotent: a second run with the same source changes nothing.
#
#   sudo systemd/install.sh                         # from this source tree (needs network)
#   sudo ./install.sh --offline sensorhub-bundle.tar.gz   # air-gapped Pi: no network at all
#   sudo systemd/install.sh --uninstall [--purge]   # remove the service (--purge: data too)
#
# --prefix DIR lays every file under DIR instead of / and skips the steps that touch the
# running system (user account, apt, systemctl): the test suite uses it.
set -euo pipefail

PREFIX=/
SOURCE=""
BUNDLE=""
ACTION=install
PURGE=0
START=1
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    --offline) BUNDLE=$2; shift 2 ;;
    --uninstall) ACTION=uninstall; shift ;;
    --purge) PURGE=1; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

PREFIX=${PREFIX%/}
SYSTEM=0; [ -z "$PREFIX" ] && SYSTEM=1
OPT=$PREFIX/opt/sensorhub
VENV=$OPT/venv
ETC=$PREFIX/etc/sensorhub
STATE=$PREFIX/var/lib/sensorhub
UNIT=$PREFIX/etc/systemd/system/sensorhub.service
say() { printf 'sensorhub: %s\n' "$*"; }
die() { printf 'sensorhub: error: %s\n' "$*" >&2; exit 1; }
[ "$SYSTEM" = 0 ] || [ "$(id -u)" = 0 ] || die "run as root (sudo $0 ...)"

# copy FILE to DEST with MODE only when the content differs (keeps mtimes on re-runs)
put() {
  local src=$1 dest=$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest"; then return 0; fi
  install -D -m "$mode" "$src" "$dest"
  say "wrote $dest"
  CHANGED=1
}

uninstall() {
  if [ "$SYSTEM" = 1 ] && command -v systemctl >/dev/null; then
    systemctl disable --now sensorhub.service 2>/dev/null || true
  fi
  rm -f "$UNIT"
  [ "$SYSTEM" = 1 ] && command -v systemctl >/dev/null && systemctl daemon-reload
  rm -rf "$OPT"
  if [ "$PURGE" = 1 ]; then
    rm -rf "$STATE" "$ETC"
    [ "$SYSTEM" = 1 ] && getent passwd sensorhub >/dev/null && userdel sensorhub
    say "removed the service, its data ($STATE) and config ($ETC)"
  else
    say "removed the service; kept data in $STATE and config in $ETC (--purge removes them)"
  fi
}

if [ "$ACTION" = uninstall ]; then uninstall; exit 0; fi

PYTHON=${PYTHON:-python3}
# the Pi extra less RPi.GPIO (a Debian package, below): Blinka needs gpiod on a Pi and would
# otherwise offer to pip-install it at run time; smbus2 reads the I2C sensors
PI_PACKAGES=(adafruit-circuitpython-dht 'gpiod>=2.2.2,<3' smbus2)
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "sensorhub needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))"

# Where the package, unit, starter config and docs come from.
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
if [ -n "$BUNDLE" ]; then
  [ -f "$BUNDLE" ] || die "no bundle at $BUNDLE"
  tar -xzf "$BUNDLE" -C "$WORK"
  SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d | head -n1)
  [ -d "$SRC/wheels" ] || die "$BUNDLE is not a sensorhub bundle (no wheels/)"
  STAMP=$(sha256sum "$SRC/CONTENTS" | cut -d' ' -f1)
else
  SRC=${SOURCE:-$(cd "$HERE/.." && pwd)}
  [ -f "$SRC/pyproject.toml" ] || die "no sensorhub source at $SRC"
  STAMP=$(cd "$SRC" && find pyproject.toml sensorhub drivers templates static systemd \
            -type f ! -path '*__pycache__*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
fi
UNIT_SRC=$SRC/systemd/sensorhub.service; [ -f "$UNIT_SRC" ] || UNIT_SRC=$SRC/sensorhub.service
CONF_SRC=$SRC/systemd/config.pi.yaml;    [ -f "$CONF_SRC" ] || CONF_SRC=$SRC/config.pi.yaml
CHANGED=0

# 1. The service account, in the gpio and i2c groups (/dev/gpiochip*, /dev/i2c-*).
if [ "$SYSTEM" = 1 ]; then
  if ! getent passwd sensorhub >/dev/null; then
    useradd --system --home-dir /var/lib/sensorhub --no-create-home \
            --shell /usr/sbin/nologin sensorhub
    say "created system user sensorhub"
  fi
  getent group gpio >/dev/null && usermod -a -G gpio sensorhub
  getent group i2c >/dev/null && usermod -a -G i2c sensorhub  # /dev/i2c-* (SCD4x, AHT20)
fi

# 2. GPIO library: Raspberry Pi OS ships it as a Debian package (RPi.GPIO has no wheels
#    on PyPI; on a Pi 5 only rpi-lgpio works). The venv sees it via --system-site-packages.
if [ "$SYSTEM" = 1 ] && ! "$PYTHON" -c 'import RPi.GPIO' >/dev/null 2>&1; then
  model=$(tr -d '\0' < /proc/device-tree/model 2>/dev/null || true)
  case "$model" in
    *"Raspberry Pi 5"*) pkg=python3-rpi-lgpio ;;
    *"Raspberry Pi"*) pkg=python3-rpi.gpio ;;
    *) pkg="" ;;
  esac
  if [ -n "$pkg" ] && [ -z "$BUNDLE" ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq "$pkg" >/dev/null && say "installed $pkg"
  elif [ -n "$pkg" ]; then
    say "warning: $pkg is missing; DHT sensors need it (apt install $pkg)"
  fi
fi

# 3. The virtualenv and the package (skipped when this exact source is already in).
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv --system-site-packages "$VENV"
  say "created $VENV"
fi
if [ "$(cat "$VENV/.sensorhub-stamp" 2>/dev/null)" != "$STAMP" ]; then
  if [ -n "$BUNDLE" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-index \
      --find-links "$SRC/wheels" sensorhub "${PI_PACKAGES[@]}"
  else
    "$VENV/bin/pip" install -q --disable-pip-version-check "$SRC" "${PI_PACKAGES[@]}"
  fi
  echo "$STAMP" > "$VENV/.sensorhub-stamp"
  say "installed sensorhub $("$VENV/bin/python" -c 'import sensorhub; print(sensorhub.__version__)') into $VENV"
  CHANGED=1
fi
for doc in "$SRC"/docs/*.md; do
  [ -f "$doc" ] && put "$doc" "$OPT/docs/$(basename "$doc")" 0644
done

# 4. Config (kept across upgrades) and the state directory. The config may hold the
#    MQTT password and the metrics token: root owns it, the service's group reads it,
#    nobody else (an older install's 0644 is tightened; chmod keeps the mtime).
if [ ! -f "$ETC/config.yaml" ]; then
  put "$CONF_SRC" "$ETC/config.yaml" 0640
  [ "$SYSTEM" = 1 ] || sed -i "s#/var/lib/sensorhub#$STATE#" "$ETC/config.yaml"
fi
chmod 0640 "$ETC/config.yaml"
[ "$SYSTEM" = 1 ] && chown root:sensorhub "$ETC/config.yaml"
"$VENV/bin/sensorhub" check-config --config "$ETC/config.yaml" >/dev/null \
  || die "$ETC/config.yaml has problems (above); fix them and run again"
if [ ! -d "$STATE" ]; then
  install -d -m 0750 "$STATE"
  CHANGED=1
fi
[ "$SYSTEM" = 1 ] && chown sensorhub:sensorhub "$STATE"

# 5. The unit.
put "$UNIT_SRC" "$UNIT" 0644

if [ "$SYSTEM" = 0 ] || [ "$START" = 0 ] || ! command -v systemctl >/dev/null; then
  [ "$CHANGED" = 0 ] && say "already up to date; nothing changed"
  say "files are in place under ${PREFIX:-/}; not starting the service"
  exit 0
fi

systemctl daemon-reload
systemctl enable sensorhub.service >/dev/null 2>&1
if [ "$CHANGED" = 1 ] || ! systemctl is-active --quiet sensorhub.service; then
  systemctl restart sensorhub.service   # Type=notify: returns once it listens
fi
port=$(awk '/^ *port:/ {print $2; exit}' "$ETC/config.yaml"); port=${port:-5000}
ip=$(hostname -I 2>/dev/null | awk '{print $1}')
say "running: http://${ip:-localhost}:$port/   (logs: journalctl -u sensorhub -f)"
if [ -f "$STATE/initial-admin-password" ]; then
  say "first login: admin / $(cat "$STATE/initial-admin-password")"
  say "change it: sudo -u sensorhub $VENV/bin/sensorhub user passwd admin --config $ETC/config.yaml"
fi
