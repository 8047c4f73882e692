"""Refresh or verify the vendored browser assets in ``static/vendor/``.

The dashboard must work air-gapped, so every JS file it loads is vendored.
This script is the only supported way to change those files:

    python tools/refresh_vendor.py                  # re-fetch the pinned versions, rebuild
    python tools/refresh_vendor.py --chartjs 4.6.1 --socketio 4.8.4 --zoom 2.2.0
    python tools/refresh_vendor.py --check          # verify MANIFEST (used by CI)

Two kinds of file: copied out of an npm package as published (the Socket.IO client,
the licences), or built by esbuild, tree-shaken and minified: ``chart.bundle.min.js``
is Chart.js with only the parts the dashboard draws with (``tools/chart-bundle.js``),
and ``chart.zoom.min.js`` its zoom plugin with Hammer.js (``tools/chart-zoom.js``),
which the page loads only once its charts are drawn: it is not needed for the first
picture, and is a fifth of the bytes. Same pinned packages, same esbuild, same
entries: the same bytes, on any machine (esbuild-wasm runs on Node, so no platform
binary is involved).

Refreshing needs ``npm`` (only ``npm pack`` is used: no install, no scripts) and
``node``. Checking needs nothing but the Python standard library.
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
COLOR_VERSION = "0.3.4"  # @kurkle/color: Chart.js's one dependency, bundled with it
# esbuild-wasm, not the native esbuild: one package for every platform, identical output
ESBUILD_VERSION = "0.28.2"

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO_ROOT / "static" / "vendor"
MANIFEST_NAME = "MANIFEST"
# No source map, no target lowering (the dashboard's own modules set the browser floor);
# the packages' licence banners are kept, at the end of the file.
ESBUILD_FLAGS = ("--bundle", "--minify", "--format=iife", "--platform=browser",
                 "--legal-comments=eof", "--log-level=warning")

# A MANIFEST entry: sha256, file, package@version, SPDX licence, source path.
ENTRY_RE = re.compile(
    r"^(?P<sha>[0-9a-f]{64})\s+(?P<file>\S+)\s+(?P<pkg>\S+@\S+)\s+"
    r"(?P<spdx>\S+)\s+(?P<src>\S+)\s*$"
)
# A built file's note: what built it from which files of this repo (each sha256 is checked).
BUILT_RE = re.compile(r"^# (?P<file>\S+): built by (?P<tool>\S+@\S+) from (?P<inputs>.+?) with ")
INPUT_RE = re.compile(r"(?P<path>\S+) \(sha256 (?P<sha>[0-9a-f]{64})\)")
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
    """An npm package, the assets vendored from it, and the built file that holds it."""

    name: str
    version: str
    assets: tuple[Asset, ...]
    bundle: str | None = None  # the dest of a Bundle


@dataclass(frozen=True)
class Bundle:
    """One file built by esbuild from an entry in this repo (paths relative to REPO_ROOT).

    ``aliases`` maps an import path to a file of this repo that stands in for it: the
    zoom plugin imports ``chart.js/helpers``, which the Chart.js bundle already holds
    and hands over on its global (``tools/chart-zoom-helpers.js``).
    """

    dest: str
    entry: str
    aliases: tuple[tuple[str, str], ...] = ()

    def inputs(self) -> tuple[str, ...]:
        """The files of this repo the output is built from."""
        return (self.entry, *(path for _name, path in self.aliases))


BUNDLES = (
    Bundle("chart.bundle.min.js", "tools/chart-bundle.js"),
    Bundle("chart.zoom.min.js", "tools/chart-zoom.js",
           (("chart.js/helpers", "tools/chart-zoom-helpers.js"),)),
)


def licence(name: str) -> Asset:
    """A package's licence file, vendored next to what ships its code."""
    flat = name.lstrip("@").replace("/", "-")
    return Asset(f"LICENSE.{flat}.txt", ("LICENSE.md", "LICENSE", "LICENSE.txt"))


def packages(chartjs: str, socketio: str, zoom: str = ZOOM_VERSION,
             hammer: str = HAMMER_VERSION, color: str = COLOR_VERSION) -> list[Package]:
    """Return the vendoring plan for the given versions."""
    core, gestures = (b.dest for b in BUNDLES)
    return [
        # Built into a bundle: only their licences are copied.
        Package("chart.js", chartjs, (licence("chart.js"),), bundle=core),
        Package("@kurkle/color", color, (licence("@kurkle/color"),), bundle=core),
        Package("chartjs-plugin-zoom", zoom, (licence("chartjs-plugin-zoom"),), bundle=gestures),
        Package("hammerjs", hammer, (licence("hammerjs"),), bundle=gestures),
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
                licence("socket.io-client"),
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
    dest = workdir / f"{name.lstrip('@').replace('/', '-')}-{version}"
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


def caret_ok(version: str, wanted: str) -> bool:
    """Whether ``version`` satisfies an npm range of the forms the bundle's packages use.

    ``^1.2.3`` (same major, or same minor below 1.0), ``>=1.2.3``, ``1.2.3``; anything
    else is refused, so a new kind of range is looked at by a person, not guessed.
    """
    def parts(text: str) -> tuple[int, ...]:
        if not re.fullmatch(r"\d+\.\d+\.\d+", text):
            raise SystemExit(f"error: cannot compare npm version {text!r}: check it by hand")
        return tuple(int(x) for x in text.split("."))

    have = parts(version)
    if wanted.startswith(">="):
        return have >= parts(wanted[2:].strip())
    if wanted.startswith("^"):
        low = parts(wanted[1:])
        same = have[:2] == low[:2] if low[0] == 0 else have[0] == low[0]
        return same and have >= low
    return have == parts(wanted)


def check_bundle_inputs(dirs: dict[str, Path]) -> None:
    """Every dependency of a bundled package is bundled too, at a version it accepts."""
    versions = {name: json.loads((d / "package.json").read_text(encoding="utf-8"))["version"]
                for name, d in dirs.items()}
    for name, pkg_dir in dirs.items():
        meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
        wanted = {**meta.get("peerDependencies", {}), **meta.get("dependencies", {})}
        for dep, rng in wanted.items():
            if dep.startswith("@types/"):  # TypeScript declarations: nothing that runs
                continue
            if dep not in versions:
                raise SystemExit(f"error: {name} needs {dep} ({rng}), which is not bundled")
            if not caret_ok(versions[dep], rng):
                raise SystemExit(f"error: {name} needs {dep} {rng}, pinned {versions[dep]}")


def esbuild_tool(workdir: Path, esbuild: str) -> tuple[list[str], str]:
    """The esbuild command line (esbuild-wasm on Node) and its tarball's integrity."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("error: node not found on PATH (needed to build the Chart.js bundles)")
    tool_dir, integrity = npm_pack("esbuild-wasm", esbuild, workdir)
    return [node, str(tool_dir / "bin" / "esbuild")], integrity


def build_bundle(bundle: Bundle, dirs: dict[str, Path], workdir: Path,
                 tool: tuple[list[str], str], esbuild: str) -> tuple[bytes, str]:
    """Build one bundle from the unpacked packages; return (bytes, a MANIFEST note)."""
    command, integrity = tool
    build = workdir / f"build-{bundle.dest}"
    for name, pkg_dir in dirs.items():
        shutil.copytree(pkg_dir, build / "node_modules" / name)
    # beside node_modules, where esbuild looks; aliases resolve from here too
    shutil.copyfile(REPO_ROOT / bundle.entry, build / "entry.js")
    aliases = []
    for i, (name, path) in enumerate(bundle.aliases):
        shutil.copyfile(REPO_ROOT / path, build / f"alias{i}.js")
        aliases.append(f"--alias:{name}=./alias{i}.js")
    result = subprocess.run(
        [*command, "entry.js", *ESBUILD_FLAGS, *aliases, "--outfile=out.js"],
        cwd=build, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or result.stderr.strip():  # a warning is a question to answer
        raise SystemExit(f"error: esbuild failed on {bundle.entry}:\n{result.stderr.strip()}")
    data = (build / "out.js").read_bytes()
    if SOURCEMAP_ANY_RE.search(data):
        raise SystemExit(f"error: {bundle.dest} names a source map")
    inputs = ", ".join(f"{path} (sha256 {sha256_of(REPO_ROOT / path)})" for path in bundle.inputs())
    flags = " ".join((*ESBUILD_FLAGS, *(f"--alias:{n}=<{p}>" for n, p in bundle.aliases)))
    note = (f"# {bundle.dest}: built by esbuild-wasm@{esbuild} from {inputs} with {flags}; "
            f"esbuild-wasm tarball {integrity}")
    return data, note


def previously_listed(vendor_dir: Path) -> set[str]:
    """The files the current MANIFEST lists (the ones this script owns)."""
    manifest = vendor_dir / MANIFEST_NAME
    if not manifest.is_file():
        return set()
    lines = manifest.read_text(encoding="utf-8").splitlines()
    return {m["file"] for line in lines if (m := ENTRY_RE.match(line.strip()))}


def refresh(chartjs: str, socketio: str, vendor_dir: Path, zoom: str = ZOOM_VERSION,
            hammer: str = HAMMER_VERSION, color: str = COLOR_VERSION,
            esbuild: str = ESBUILD_VERSION) -> None:
    """Fetch the packages, copy the assets, build the bundle and rewrite MANIFEST."""
    entries: list[str] = []
    notes: list[str] = []
    staged: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="refresh-vendor-") as tmp:
        workdir = Path(tmp)
        bundled: dict[str, Path] = {}
        specs: dict[str, list[str]] = {b.dest: [] for b in BUNDLES}
        licences: dict[str, set[str]] = {b.dest: set() for b in BUNDLES}
        for pkg in packages(chartjs, socketio, zoom, hammer, color):
            pkg_dir, integrity = npm_pack(pkg.name, pkg.version, workdir)
            spdx = spdx_of(pkg_dir)
            notes.append(f"# {pkg.name}@{pkg.version} tarball {integrity}")
            if pkg.bundle is not None:
                bundled[pkg.name] = pkg_dir
                specs[pkg.bundle].append(f"{pkg.name}@{pkg.version}")
                licences[pkg.bundle].add(spdx)
            for asset in pkg.assets:
                src = next((s for s in asset.sources if (pkg_dir / s).is_file()), None)
                if src is None:
                    raise SystemExit(f"error: {pkg.name}@{pkg.version} has none of {asset.sources}")
                if src != asset.sources[0] and asset.strip_sourcemap:
                    print(f"note: {pkg.name}@{pkg.version}: no {asset.sources[0]}, using {src}")
                data = (pkg_dir / src).read_bytes()
                if asset.strip_sourcemap:
                    data = strip_sourcemap(data)
                staged[asset.dest] = data
                digest = hashlib.sha256(data).hexdigest()
                entries.append(f"{digest}  {asset.dest}  {pkg.name}@{pkg.version}  {spdx}  {src}")
        check_bundle_inputs(bundled)  # across bundles: the zoom plugin's chart.js is the core's
        tool = esbuild_tool(workdir, esbuild)
        for i, bundle in enumerate(BUNDLES):
            if len(licences[bundle.dest]) != 1:  # one SPDX token per MANIFEST line
                raise SystemExit(f"error: {bundle.dest}: its packages have different "
                                 f"licences: {licences[bundle.dest]}")
            data, note = build_bundle(bundle, bundled, workdir, tool, esbuild)
            notes.append(note)
            staged[bundle.dest] = data
            entries.insert(i, f"{hashlib.sha256(data).hexdigest()}  {bundle.dest}  "
                              f"{'+'.join(specs[bundle.dest])}  "
                              f"{licences[bundle.dest].pop()}  {bundle.entry}")

    vendor_dir.mkdir(parents=True, exist_ok=True)
    for gone in sorted(previously_listed(vendor_dir) - set(staged)):
        (vendor_dir / gone).unlink(missing_ok=True)  # e.g. the UMD files the bundle replaced
        print(f"removed {gone}")
    for dest, data in staged.items():
        (vendor_dir / dest).write_bytes(data)
    header = [
        "# Vendored browser assets. Generated by tools/refresh_vendor.py: do not edit.",
        "# Verify with: python tools/refresh_vendor.py --check",
        "# JS files have their trailing sourceMappingURL comment removed;",
        "# the sha256 below is of the file as shipped.",
        "# Format: <sha256>  <file>  <npm package>@<version>  <SPDX licence>  <path in package>",
        "# (a built file lists the packages in it, joined by +, and its entry in this repo)",
        *notes,
    ]
    (vendor_dir / MANIFEST_NAME).write_text("\n".join(header + entries) + "\n", encoding="utf-8")
    for line in entries:
        print(line)


def check_built(note: re.Match[str], listed: set[str]) -> list[str]:
    """A built file's inputs must be the ones it was built from."""
    errors = []
    if note["file"] not in listed:
        errors.append(f"{note['file']}: built, but not listed")
    inputs = list(INPUT_RE.finditer(note["inputs"]))
    if not inputs:
        errors.append(f"{note['file']}: its note names no input")
    for item in inputs:
        path = REPO_ROOT / item["path"]
        if not path.is_file():
            errors.append(f"{note['file']}: its input {item['path']} is missing")
        elif sha256_of(path) != item["sha"]:
            errors.append(f"{note['file']}: {item['path']} changed since it was built "
                          "(run tools/refresh_vendor.py)")
    return errors


def check(vendor_dir: Path) -> int:
    """Verify MANIFEST against the files on disk; return a process exit code."""
    manifest = vendor_dir / MANIFEST_NAME
    if not manifest.is_file():
        print(f"FAIL: {manifest} is missing", file=sys.stderr)
        return 1
    errors: list[str] = []
    listed: set[str] = set()
    built: list[re.Match[str]] = []
    for lineno, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if note := BUILT_RE.match(line):
                built.append(note)
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
    for note in built:
        errors.extend(check_built(note, listed))
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
    print(f"OK: {len(listed)} vendored files match {manifest}"
          + (f" ({len(built)} built from an unchanged entry)" if built else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run refresh or check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chartjs", default=CHARTJS_VERSION, help="chart.js version")
    parser.add_argument("--socketio", default=SOCKETIO_VERSION, help="socket.io-client version")
    parser.add_argument("--zoom", default=ZOOM_VERSION, help="chartjs-plugin-zoom version")
    parser.add_argument("--hammer", default=HAMMER_VERSION, help="hammerjs version")
    parser.add_argument("--color", default=COLOR_VERSION, help="@kurkle/color version")
    parser.add_argument("--esbuild", default=ESBUILD_VERSION, help="esbuild-wasm version")
    parser.add_argument("--check", action="store_true", help="verify MANIFEST, change nothing")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        return check(args.vendor_dir)
    refresh(args.chartjs, args.socketio, args.vendor_dir, args.zoom, args.hammer, args.color,
            args.esbuild)
    return 0


if __name__ == "__main__":
    sys.exit(main())
