"""Refresh or verify the vendored browser assets in ``static/vendor/``.

The dashboard must work air-gapped, so every JS file it loads is vendored.
This script is the only supported way to change those files:

    python tools/refresh_vendor.py                  # re-fetch the pinned versions
    python tools/refresh_vendor.py --chartjs 4.6.1 --socketio 4.8.4 --zoom 2.2.0
    python tools/refresh_vendor.py --check          # verify MANIFEST (used by CI)

Refreshing needs ``npm`` (only ``npm pack`` is used: no install, no scripts).
Checking needs nothing but the Python standard library.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Pinned versions. Bump these (and re-run the script) to upgrade.
CHARTJS_VERSION = "4.6.1"
SOCKETIO_VERSION = "4.8.4"
ZOOM_VERSION = "2.2.0"  # chartjs-plugin-zoom: wheel, pinch and box zoom, pan
HAMMER_VERSION = "2.0.8"  # hammerjs: the touch gestures (pinch, pan) the zoom plugin uses

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "static" / "vendor"
MANIFEST_NAME = "MANIFEST"

# A MANIFEST entry: sha256, file, package@version, SPDX licence, source path.
ENTRY_RE = re.compile(
    r"^(?P<sha>[0-9a-f]{64})\s+(?P<file>\S+)\s+(?P<pkg>\S+@\S+)\s+"
    r"(?P<spdx>\S+)\s+(?P<src>\S+)\s*$"
)
# Trailing source-map comment(s) emitted by bundlers, e.g.
# "//# sourceMappingURL=chart.umd.min.js.map" (also the legacy "//@" form).
SOURCEMAP_TAIL_RE = re.compile(r"(?:\r?\n)?[ \t]*//[#@][ \t]*sourceMappingURL=[^\r\n]*(?:\r?\n)?\Z")
SOURCEMAP_ANY_RE = re.compile(rb"[#@][ \t]*sourceMappingURL=")


@dataclass(frozen=True)
class Asset:
    """One file to copy out of an npm package."""

    dest: str  # file name inside static/vendor/
    sources: tuple[str, ...]  # candidate paths inside the package, first wins
    strip_sourcemap: bool = False


@dataclass(frozen=True)
class Package:
    """An npm package and the assets vendored from it."""

    name: str
    version: str
    assets: tuple[Asset, ...]


def packages(chartjs: str, socketio: str, zoom: str = ZOOM_VERSION,
             hammer: str = HAMMER_VERSION) -> list[Package]:
    """Return the vendoring plan for the given versions."""
    return [
        Package(
            "chart.js",
            chartjs,
            (
                # The UMD build exposes the global `Chart`. Older 4.x releases
                # ship only the (already minified) chart.umd.js.
                Asset(
                    "chart.umd.min.js",
                    ("dist/chart.umd.min.js", "dist/chart.umd.js"),
                    strip_sourcemap=True,
                ),
                Asset("LICENSE.chart.js.txt", ("LICENSE.md", "LICENSE")),
            ),
        ),
        Package(
            "socket.io-client",
            socketio,
            (
                # Browser bundle exposing the global `io`.
                Asset(
                    "socket.io.min.js",
                    ("dist/socket.io.min.js",),
                    strip_sourcemap=True,
                ),
                Asset("LICENSE.socket.io-client.txt", ("LICENSE", "LICENSE.md")),
            ),
        ),
        Package(
            "hammerjs",
            hammer,
            (
                # UMD: the global `Hammer`, which the zoom plugin picks up when loaded first.
                Asset("hammer.min.js", ("hammer.min.js",), strip_sourcemap=True),
                Asset("LICENSE.hammerjs.txt", ("LICENSE.md", "LICENSE")),
            ),
        ),
        Package(
            "chartjs-plugin-zoom",
            zoom,
            (
                # UMD: the global `ChartZoom` (static/js/charts.js registers it with Chart).
                Asset(
                    "chartjs-plugin-zoom.min.js",
                    ("dist/chartjs-plugin-zoom.min.js",),
                    strip_sourcemap=True,
                ),
                Asset("LICENSE.chartjs-plugin-zoom.txt", ("LICENSE.md", "LICENSE")),
            ),
        ),
    ]


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def strip_sourcemap(data: bytes) -> bytes:
    """Remove a trailing ``//# sourceMappingURL=`` comment line, keeping a final newline."""
    text = data.decode("utf-8")
    stripped = SOURCEMAP_TAIL_RE.sub("", text)
    if stripped and not stripped.endswith("\n"):
        stripped += "\n"
    if SOURCEMAP_ANY_RE.search(stripped.encode("utf-8")):
        raise SystemExit("error: sourceMappingURL still present after stripping")
    return stripped.encode("utf-8")


def npm_pack(name: str, version: str, workdir: Path) -> tuple[Path, str]:
    """Download ``name@version`` with ``npm pack``; return (package dir, integrity)."""
    spec = f"{name}@{version}"
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("error: npm not found on PATH (needed to refresh, not to --check)")
    result = subprocess.run(
        [npm, "pack", "--json", "--ignore-scripts", spec],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"error: npm pack {spec} failed:\n{result.stderr.strip()}")
    info = json.loads(result.stdout)[0]
    if info["version"] != version:
        raise SystemExit(f"error: asked for {spec}, npm returned {info['version']}")
    tarball = workdir / info["filename"]
    dest = workdir / f"{name}-{version}"
    with tarfile.open(tarball, "r:gz") as tar:
        tar.extractall(dest, filter="data")
    pkg_dir = dest / "package"
    meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
    if meta.get("name") != name or meta.get("version") != version:
        raise SystemExit(f"error: {tarball.name} does not contain {spec}")
    return pkg_dir, str(info.get("integrity", ""))


def spdx_of(pkg_dir: Path) -> str:
    """Return the SPDX licence expression from package.json (single token only)."""
    meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
    licence = meta.get("license")
    if not isinstance(licence, str) or not re.fullmatch(r"[A-Za-z0-9.+-]+", licence):
        raise SystemExit(f"error: unexpected licence field in {meta.get('name')}: {licence!r}")
    return licence


def refresh(chartjs: str, socketio: str, vendor_dir: Path, zoom: str = ZOOM_VERSION,
            hammer: str = HAMMER_VERSION) -> None:
    """Fetch the packages, copy the assets and rewrite MANIFEST."""
    entries: list[str] = []
    notes: list[str] = []
    staged: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="refresh-vendor-") as tmp:
        workdir = Path(tmp)
        for pkg in packages(chartjs, socketio, zoom, hammer):
            pkg_dir, integrity = npm_pack(pkg.name, pkg.version, workdir)
            spdx = spdx_of(pkg_dir)
            notes.append(f"# {pkg.name}@{pkg.version} tarball {integrity}")
            for asset in pkg.assets:
                src = next((s for s in asset.sources if (pkg_dir / s).is_file()), None)
                if src is None:
                    raise SystemExit(f"error: {pkg.name}@{pkg.version} has none of {asset.sources}")
                if src != asset.sources[0]:
                    print(f"note: {pkg.name}@{pkg.version}: no {asset.sources[0]}, using {src}")
                data = (pkg_dir / src).read_bytes()
                if asset.strip_sourcemap:
                    data = strip_sourcemap(data)
                staged[asset.dest] = data
                digest = hashlib.sha256(data).hexdigest()
                entries.append(f"{digest}  {asset.dest}  {pkg.name}@{pkg.version}  {spdx}  {src}")

    vendor_dir.mkdir(parents=True, exist_ok=True)
    for dest, data in staged.items():
        (vendor_dir / dest).write_bytes(data)
    header = [
        "# Vendored browser assets. Generated by tools/refresh_vendor.py: do not edit.",
        "# Verify with: python tools/refresh_vendor.py --check",
        "# JS files have their trailing sourceMappingURL comment removed;",
        "# the sha256 below is of the file as shipped.",
        "# Format: <sha256>  <file>  <npm package>@<version>  <SPDX licence>  <path in package>",
        *notes,
    ]
    (vendor_dir / MANIFEST_NAME).write_text("\n".join(header + entries) + "\n", encoding="utf-8")
    for line in entries:
        print(line)


def check(vendor_dir: Path) -> int:
    """Verify MANIFEST against the files on disk; return a process exit code."""
    manifest = vendor_dir / MANIFEST_NAME
    if not manifest.is_file():
        print(f"FAIL: {manifest} is missing", file=sys.stderr)
        return 1
    errors: list[str] = []
    listed: set[str] = set()
    for lineno, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENTRY_RE.match(line)
        if match is None:
            errors.append(f"MANIFEST:{lineno}: malformed entry: {raw!r}")
            continue
        name = match["file"]
        listed.add(name)
        path = vendor_dir / name
        if "/" in name or "\\" in name or name in {".", ".."}:
            errors.append(f"MANIFEST:{lineno}: file name must be flat: {name}")
        elif not path.is_file():
            errors.append(f"{name}: missing")
        elif (actual := sha256_of(path)) != match["sha"]:
            errors.append(f"{name}: sha256 mismatch (MANIFEST {match['sha']}, disk {actual})")
        elif name.endswith(".js") and SOURCEMAP_ANY_RE.search(path.read_bytes()):
            errors.append(f"{name}: contains a sourceMappingURL comment")
    if not listed:
        errors.append("MANIFEST lists no files")
    for path in sorted(vendor_dir.iterdir()):
        if path.name != MANIFEST_NAME and path.name not in listed:
            print(
                f"warning: {path.name} is in {vendor_dir.name}/ but not in MANIFEST",
                file=sys.stderr,
            )
    for err in errors:
        print(f"FAIL: {err}", file=sys.stderr)
    if errors:
        return 1
    print(f"OK: {len(listed)} vendored files match {manifest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run refresh or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chartjs", default=CHARTJS_VERSION, help="chart.js version")
    parser.add_argument("--socketio", default=SOCKETIO_VERSION, help="socket.io-client version")
    parser.add_argument("--zoom", default=ZOOM_VERSION, help="chartjs-plugin-zoom version")
    parser.add_argument("--hammer", default=HAMMER_VERSION, help="hammerjs version")
    parser.add_argument("--check", action="store_true", help="verify MANIFEST, change nothing")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        return check(args.vendor_dir)
    refresh(args.chartjs, args.socketio, args.vendor_dir, args.zoom, args.hammer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
