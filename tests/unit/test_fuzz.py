"""Property-based fuzzing of the two parsers that take outside input.

``parse_history`` (socket payloads and query strings) returns a sane HistoryQuery or
raises BadRequestError, nothing else; ``parse_config`` returns a Config or raises a
ConfigError whose every problem names the file and a line, nothing else.
SENSORHUB_FUZZ_EXAMPLES sets the examples per property (CI: 300).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensorhub.config import Config, ConfigError, parse_config
from sensorhub.readings import Reading
from sensorhub.storage.store import Store
from sensorhub.web.queries import MAX_POINTS, MAX_SPAN, BadRequestError, HistoryQuery, parse_history

EXAMPLES = int(os.environ.get("SENSORHUB_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
NOW = 1_795_544_311.25

# JSON as a socket payload can carry it (python-socketio decodes with json)
scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.integers(min_value=-(10**400), max_value=10**400)
           | st.text(max_size=80) | st.sampled_from(["1e400", "-inf", "nan", "1_000", " 5 ",
                                                     "0x10", "' OR 1=1 --", "../../etc"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)
history_keys = st.sampled_from(["sensor", "since", "until", "max_points", "extra"])
history_payloads = (st.dictionaries(history_keys, json_values, max_size=5)
                    | st.fixed_dictionaries({"sensor": st.text(min_size=1, max_size=70),
                                             "since": scalars}, optional={
                                                 "until": scalars, "max_points": scalars})
                    | json_values)
# what an HTTP query string gives: every value is a string
query_strings = st.dictionaries(history_keys, st.text(max_size=40), max_size=5)


def check_history(data: Any) -> None:
    try:
        query = parse_history(data, NOW)
    except BadRequestError as error:
        assert str(error)
        return
    assert isinstance(query, HistoryQuery)
    assert isinstance(query.sensor, str) and 0 < len(query.sensor) <= 64
    assert math.isfinite(query.since) and math.isfinite(query.until)
    assert query.since <= query.until and query.until - query.since <= MAX_SPAN
    assert isinstance(query.max_points, int) and 2 <= query.max_points <= MAX_POINTS


@FUZZ
@given(history_payloads)
def test_parse_history_socket_payloads(data: Any) -> None:
    check_history(data)


@FUZZ
@given(query_strings)
def test_parse_history_query_strings(data: dict[str, str]) -> None:
    check_history(data)


def test_parse_history_known_hostile_values() -> None:
    for value in [10**400, -(10**400), "1e400", float("inf"), float("nan"), True, [], {}]:
        check_history({"sensor": "a1", "since": value})
        check_history({"sensor": "a1", "since": 0, "until": value})
        check_history({"sensor": "a1", "since": 0, "max_points": value})


times = (st.floats(allow_nan=False) | st.integers(min_value=-(10**20), max_value=10**20)
         | st.sampled_from(["1e308", "-1e308", "1e16", "253402300799", "-0", "1e-300"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A small store with readings of a1, the sensor every query below asks for."""
    made = Store(tmp_path_factory.mktemp("fuzz") / "db.sqlite")
    for i in range(20):
        made.add(Reading("a1", "a", NOW - 100 + 5 * i, i, 20.0, 50.0))
    made.flush()
    yield made
    made.close()


@FUZZ
@given(since=times, until=times | st.none(), max_points=st.integers(-5, 10**6) | st.none())
def test_every_query_that_parses_runs(store: Store, since: Any, until: Any,
                                      max_points: Any) -> None:
    """Found by hand (issue 13): until=1e308 parsed, then overflowed SQLite (a 500)."""
    data = {"sensor": "a1", "since": since, "until": until, "max_points": max_points}
    try:
        query = parse_history(data, NOW)
    except BadRequestError:
        return
    answer = store.history("a1", query.since, query.until, query.max_points)
    assert len(answer["points"]) <= query.max_points
    for row in store.export_rows("a1", query.since, query.until):
        assert query.since - 0.001 <= row[0] <= query.until + 0.001


# -- config ----------------------------------------------------------------------------
VALID: dict[str, Any] = {
    "server": {"host": "127.0.0.1", "port": 5000, "async_mode": "threading"},
    "storage": {"path": "data/x.db", "retention_days": 30, "flush_interval": 5},
    "rooms": [{"id": "a", "name": "A"}, {"id": "b", "name": "B", "public": True}],
    "sensors": [{"id": "s1", "room": "a", "driver": "mock", "interval": 2,
                 "options": {"seed": 1, "fault_rate": 0.1}},
                {"id": "s2", "room": "b", "driver": "dht22", "interval": 5, "pin": 4,
                 "power_pin": 17, "offsets": {"temperature": -0.5}}],
}
config_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["eventlet", "mock", "dht22", "a", "s1", "0.0.0.0", 1e308, -1, 0]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "room", "driver", "interval", "pin", "options", "seed",
                         "port", "path", "name", "x"]), inner, max_size=3),
    max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_configs(draw: st.DrawFn) -> str:
    """The valid config with a few values swapped for random ones, as YAML text."""
    import copy

    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(config_values)
    return yaml.safe_dump(data, sort_keys=False)


def check_config(text: str, path: Path) -> None:
    try:
        config = parse_config(text, path)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.file == str(path) and problem.line >= 1, problem
            assert problem.message and problem.field
            assert str(problem).startswith(f"{path}:{problem.line}: ")
        return
    assert isinstance(config, Config)


@FUZZ
@given(mutated_configs())
def test_parse_config_mutations(text: str) -> None:
    check_config(text, Path("/etc/sensorhub/config.yaml"))


@FUZZ
@given(st.text(max_size=300))
def test_parse_config_arbitrary_text(text: str) -> None:
    check_config(text, Path("/etc/sensorhub/config.yaml"))


@FUZZ
@given(st.lists(st.sampled_from(["server:", "  port: 5000", "  port: x", "rooms:", "- id: a",
                                 "  - {id: a, name: A}", "sensors: []", "sensors:",
                                 "  - id: s1", "    room: a", "    driver: mock",
                                 "    interval: 0", "&a [*a]", "? [1]\n: 2", "!!python/none",
                                 "storage: {path: /dev/null}", "\t", "%TAG ! x", "---",
                                 "...", "key: *undefined", "<<: {}"]), max_size=12))
def test_parse_config_yaml_fragments(lines: list[str]) -> None:
    check_config("\n".join(lines), Path("/etc/sensorhub/config.yaml"))


def test_shipped_config_still_parses() -> None:
    assert parse_config(yaml.safe_dump(VALID), Path("/tmp/config.yaml")).sensors
