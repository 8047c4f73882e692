"""tools/refresh_vendor.py --check: the vendored files, and what each bundle was built from."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "refresh_vendor.py"
spec = importlib.util.spec_from_file_location("refresh_vendor", SCRIPT)
assert spec and spec.loader
refresh_vendor = importlib.util.module_from_spec(spec)
sys.modules["refresh_vendor"] = refresh_vendor  # its dataclasses look it up
spec.loader.exec_module(refresh_vendor)


def test_vendored_files_match_their_manifest() -> None:
    assert refresh_vendor.check(refresh_vendor.VENDOR_DIR) == 0


def test_each_bundle_names_every_file_it_was_built_from(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """The zoom bundle's note covers its entry and the helpers' stand-in: a change to
    either, not rebuilt, fails the check."""
    vendor = tmp_path / "vendor"
    shutil.copytree(refresh_vendor.VENDOR_DIR, vendor)
    manifest = vendor / "MANIFEST"
    text = manifest.read_text()
    for bundle in refresh_vendor.BUNDLES:
        for path in bundle.inputs():
            digest = refresh_vendor.sha256_of(ROOT / path)
            assert f"{path} (sha256 {digest})" in text, path
    helpers = "tools/chart-zoom-helpers.js"
    digest = refresh_vendor.sha256_of(ROOT / helpers)
    stale = text.replace(f"{helpers} (sha256 {digest})", f"{helpers} (sha256 {'0' * 64})")
    manifest.write_text(stale)
    assert refresh_vendor.check(vendor) == 1
    assert f"chart.zoom.min.js: {helpers} changed since it was built" in capsys.readouterr().err
