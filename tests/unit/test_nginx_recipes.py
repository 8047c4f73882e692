"""The documented nginx recipes log no query strings (issue 12 item 12).

An older kiosk link carries its token in the query (``/?token=...``), and nginx's
default ``combined`` format writes ``$request`` (path and query) and the referrer to
access.log. Every nginx block in docs/ must define a format without them and use it.
When nginx is installed, the recipes must also pass ``nginx -t``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
LEAKY = ("$request ", "$request\"", "$request'", "$request_uri", "$args", "$query_string",
         "$is_args", "$arg_", "$http_referer", "$request_body")


def recipes() -> list[tuple[str, str]]:
    found = []
    for doc in sorted(DOCS.glob("*.md")):
        for block in re.findall(r"```nginx\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            found.append((doc.name, block))
    return found


def test_there_are_recipes_to_check() -> None:
    assert {name for name, _ in recipes()} >= {"deploy.md", "multinode.md"}


@pytest.mark.parametrize(("doc", "block"), recipes())
def test_every_recipe_logs_without_query_strings(doc: str, block: str) -> None:
    formats = dict(re.findall(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", block))
    assert formats, f"{doc}: the recipe keeps nginx's default log format (with queries)"
    for name, text in formats.items():
        assert not [v for v in LEAKY if v in text], f"{doc}: log_format {name}: {text}"
        assert "$uri" in text, f"{doc}: log_format {name} logs no path at all"
    logs = re.findall(r"access_log\s+([^;]+);", block)
    assert logs, f"{doc}: no access_log: nginx would use its default format"
    for line in logs:
        parts = line.split()
        assert parts == ["off"] or (len(parts) >= 2 and parts[1] in formats), (doc, line)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
@pytest.mark.parametrize(("doc", "block"), recipes())
def test_every_recipe_passes_nginx_t(doc: str, block: str, tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    temp = "".join(f"{kind}_temp_path {tmp_path}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
                    f"events {{}}\nhttp {{\n{temp}"
                    f"{block.replace('/var/log/nginx', str(tmp_path))}\n}}\n")
    result = subprocess.run(["nginx", "-t", "-c", str(conf)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
