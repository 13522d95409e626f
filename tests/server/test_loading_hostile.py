"""The loader against hostile files: alias bombs, deep nesting, oversize files and random
mutations of valid fixture files. Whatever a file holds, the loader answers with the fixtures
or a `LoadError` naming the file: never a traceback, never gigabytes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.fixtures import loading
from aimock.fixtures.loading import LoadError, Problem, load_paths
from aimock.recording import files as recording_files
from aimock.state import ServeOptions, ServerState
from aimock.wire import MAX_JSON_DEPTH
from tests import mutation

ROOT = Path(__file__).resolve().parents[2]
TOO_DEEP = f"nested deeper than {MAX_JSON_DEPTH} levels"


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """A valid-looking fixture file whose tool arguments expand to width**levels strings."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    lines += [
        "fixtures:",
        "  - match: {userMessage: hi}",
        f"    response: {{toolCalls: [{{name: f, arguments: {{x: *l{levels - 1}}}}}]}}",
    ]
    return "\n".join(lines) + "\n"


def nested(depth: int, leaf: str = "1") -> str:
    """A JSON (and YAML flow) value: objects nested `depth` deep."""
    return '{"a": ' * depth + leaf + "}" * depth


def fixture_with_content(content: str) -> str:
    return (
        '{"fixtures": [{"match": {"userMessage": "hi"}, "response": {"content": ' + content + "}}]}"
    )


def refused(path: Path) -> list[Problem]:
    with pytest.raises(LoadError) as caught:
        load_paths([path])
    problems = caught.value.problems
    assert problems and all(p.file == str(path) for p in problems), problems
    return problems


# --- alias bombs -----------------------------------------------------------------------------

# Run in a child process so its peak memory is its own: the loader imported, then the file.
MEASURE = """
import resource, sys
from aimock.fixtures.loading import LoadError, load_paths
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_paths([sys.argv[1]])
    print("loaded")
except LoadError as exc:
    print(exc)
print("grew_kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_an_alias_bomb_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())  # 10^9 strings when expanded, under 1 KB of text
    assert bomb.stat().st_size < 1024
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,  # a ceiling against a hang, not a measure of speed
        check=True,
    )
    message, grew = run.stdout.rsplit("grew_kib", 1)
    assert f"{bomb}:" in message and "aliases expand to more than" in message, message
    assert int(grew) < 100 * 1024, f"peak memory grew by {grew} KiB"


def test_aimock_validate_reports_the_bomb_with_file_and_line(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb())
    run = subprocess.run(
        [sys.executable, "-m", "aimock", "validate", "-f", str(bomb)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 1
    # Aliases add up to 12,330 nodes on lines 2-4; line 5's, each standing for 11,111, cross
    # the limit of 100,000.
    assert f"error: {bomb}:5: aliases expand to more than" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_an_alias_that_holds_itself_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "loop.yaml"
    file.write_text("fixtures: &loop [*loop]\n")
    [problem] = refused(file)
    assert problem.line == 1 and "the alias *loop refers to a collection" in problem.reason


def test_aliases_within_the_limit_load(tmp_path: Path) -> None:
    file = tmp_path / "shared.yaml"
    file.write_text(
        "x-answer: &answer {content: shared, usage: {input_tokens: 1, output_tokens: 2}}\n"
        "fixtures:\n"
        "  - {match: {userMessage: one}, response: *answer}\n"
        "  - {match: {userMessage: two}, response: {<<: *answer, content: own}}\n"
    )
    loaded = load_paths([file])
    answers = [item.fixture.response for item in loaded.fixtures]
    assert [a.content for a in answers if a] == ["shared", "own"]


# --- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_yaml_is_refused_with_its_line(tmp_path: Path, depth: int) -> None:
    file = tmp_path / "deep.yaml"
    file.write_text("fixtures: " + "[" * depth + "]" * depth + "\n")
    [problem] = refused(file)
    assert TOO_DEEP in problem.reason and problem.line == 1


def test_deep_block_yaml_names_the_line_where_it_gets_too_deep(tmp_path: Path) -> None:
    # Line n opens the mapping at depth n.
    file = tmp_path / "block.yaml"
    file.write_text("".join("  " * level + "k:\n" for level in range(300)))
    [problem] = refused(file)
    assert TOO_DEEP in problem.reason and problem.line == MAX_JSON_DEPTH + 1


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_json_is_refused_with_its_line(tmp_path: Path, depth: int) -> None:
    # One bracket a line: line n opens depth n, whatever JSON parser's own limit says.
    file = tmp_path / "deep.json"
    file.write_text("[\n" * depth + "]\n" * depth)
    [problem] = refused(file)
    assert TOO_DEEP in problem.reason and problem.line == MAX_JSON_DEPTH + 1


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_deep_fixture_content_is_refused(tmp_path: Path, suffix: str) -> None:
    file = tmp_path / f"content{suffix}"
    file.write_text(fixture_with_content(nested(300)))
    [problem] = refused(file)
    assert TOO_DEEP in problem.reason and problem.line == 1


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_nesting_up_to_the_limit_loads(tmp_path: Path, suffix: str) -> None:
    # The document, `fixtures`, the fixture and `response` take four levels.
    at_limit = tmp_path / f"limit{suffix}"
    at_limit.write_text(fixture_with_content(nested(MAX_JSON_DEPTH - 4)))
    assert len(load_paths([at_limit]).fixtures) == 1
    past_limit = tmp_path / f"past{suffix}"
    past_limit.write_text(fixture_with_content(nested(MAX_JSON_DEPTH - 3)))
    [problem] = refused(past_limit)
    assert TOO_DEEP in problem.reason


def test_an_alias_cannot_nest_past_the_limit(tmp_path: Path) -> None:
    file = tmp_path / "alias-deep.yaml"
    file.write_text(f"x: &deep {nested(100)}\nfixtures: [{nested(50, '*deep')}]\n")
    [problem] = refused(file)
    assert problem.line == 2 and "the alias *deep nests deeper than" in problem.reason


# --- size and types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "limit"), [(".json", loading.MAX_JSON_BYTES), (".yaml", loading.MAX_YAML_BYTES)]
)
def test_an_oversize_file_is_refused_unread(tmp_path: Path, suffix: str, limit: int) -> None:
    file = tmp_path / f"huge{suffix}"
    with file.open("wb") as handle:
        handle.truncate(limit + 1)  # sparse: no disk used
    [problem] = refused(file)
    assert "larger than the limit" in problem.reason


def test_yaml_values_that_are_not_json(tmp_path: Path) -> None:
    file = tmp_path / "types.yaml"
    file.write_text(
        "fixtures:\n"
        "  - match: {userMessage: 2024-13-45}\n"  # a timestamp that is no date: its text
        "    response: {content: 2024-01-01}\n"
    )
    [item] = load_paths([file]).fixtures
    assert item.fixture.response is not None and item.fixture.response.content == "2024-01-01"
    file.write_text("fixtures: [{match: {userMessage: a}, response: {content: !!binary AAAA}}]\n")
    [problem] = refused(file)
    assert problem.line == 1 and "!!binary is not a JSON value" in problem.reason


def test_object_keys_that_are_not_strings(tmp_path: Path) -> None:
    file = tmp_path / "keys.yaml"
    file.write_text(
        "fixtures: [{match: {userMessage: a}, response: {toolCalls: [{name: f, arguments: "
        "{1: one}}]}}]\n"
    )
    [problem] = refused(file)
    assert problem.field == "fixtures[0].response.toolCalls[0].arguments"
    assert "not JSON" in problem.reason


def test_the_recorder_will_not_append_to_a_bomb(tmp_path: Path) -> None:
    path = tmp_path / "recorded.yaml"
    path.write_text(alias_bomb())
    with pytest.raises(OSError, match="aliases expand to more than"):
        recording_files.save(path, {"match": {}, "response": {}}, "manifest", "t")


# --- random mutations of valid files ---------------------------------------------------------


def _loads(path: Path) -> bool:
    try:
        load_paths([path])
    except LoadError:
        return False
    return True


SEEDS = sorted(
    path
    for folder in ("examples", "tests/sdk/fixtures")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in loading.SUFFIXES and _loads(path)
)
# What mutations splice in: the characters YAML and JSON give meaning to, and some others.
SPECIALS = [*b"&*!|>%@`#:-?[]{},'\"\\\n\t ", 0, 0xFF, 0xC3]


def assert_loads_or_refuses(text: bytes, suffix: str) -> None:
    """The property: fixtures, or a LoadError naming the file; and what loads can be served."""
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / f"mutated{suffix}"
        file.write_bytes(text)
        try:
            loaded = load_paths([file])
        except LoadError as exc:
            assert all(problem.file == str(file) for problem in exc.problems)
            return
    ServerState(ServeOptions(), loaded)  # the index builds from whatever loaded


@st.composite
def text_mutations(draw: st.DrawFn) -> tuple[bytes, str]:
    seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "line"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "replace" and data:
            data[at] = draw(st.sampled_from(SPECIALS) | st.integers(0, 255))
        elif kind == "insert":
            piece = draw(st.lists(st.sampled_from(SPECIALS), min_size=1, max_size=8))
            data[at:at] = bytes(piece)
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            data = _mutate_lines(draw, data)
    return bytes(data), seed.suffix


def _mutate_lines(draw: st.DrawFn, data: bytearray) -> bytearray:
    lines = bytes(data).split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    other = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(["duplicate", "drop", "swap", "indent", "dedent", "cut"]))
    if action == "duplicate":
        lines.insert(at, lines[at])
    elif action == "drop":
        del lines[at]
    elif action == "swap":
        lines[at], lines[other] = lines[other], lines[at]
    elif action == "indent":
        lines[at] = b"  " + lines[at]
    elif action == "dedent":
        lines[at] = lines[at].lstrip()
    else:
        lines = lines[:at]
    return bytearray(b"\n".join(lines))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text_mutations())
def test_text_mutations_load_or_give_a_load_error(mutation: tuple[bytes, str]) -> None:
    assert_loads_or_refuses(*mutation)


# Values a structural mutation puts in place of a part of a valid file.
HOSTILE_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["(", "[a-", "*", "{{x}}", "\x00", "\ud7ff", "a" * 1000]),
)
HOSTILE_VALUES = st.recursive(
    HOSTILE_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.integers(0, 3), inner, max_size=4)
    ),
    max_leaves=12,
)


OPEN_FIELDS = ("content", "arguments", "metadata", "json", "input", "output", "data")


@st.composite
def structural_mutations(draw: st.DrawFn) -> tuple[bytes, str]:
    seed = draw(st.sampled_from(SEEDS))
    documents = list(yaml.safe_load_all(seed.read_text()))
    index = draw(st.integers(0, len(documents) - 1))
    document = copy.deepcopy(documents[index])
    replacement = draw(
        HOSTILE_VALUES | st.integers(100, 300).map(lambda depth: json.loads(nested(depth)))
    )
    # The same replacement in up to three places: YAML writes the repeats as aliases. Deeper
    # places first, so none is written into a replacement (which would make a cycle).
    places = mutation.places(document)
    # Half the time, only fields that take any JSON value, where a hostile one gets furthest.
    open_places = [place for place in places if place and place[-1] in OPEN_FIELDS]
    if open_places and draw(st.booleans()):
        places = open_places
    chosen = draw(st.lists(st.sampled_from(places), min_size=1, max_size=3))
    for place in sorted(set(chosen), key=len, reverse=True):
        document = mutation.set_at(document, place, replacement)
    documents[index] = document
    as_json = seed.suffix == ".json" or draw(st.booleans())
    if as_json:
        text = json.dumps(documents[0] if len(documents) == 1 else documents, default=str)
        return text.encode(), ".json"
    return yaml.safe_dump_all(documents, allow_unicode=True).encode(), ".yaml"


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(structural_mutations())
def test_structural_mutations_load_or_give_a_load_error(mutation: tuple[bytes, str]) -> None:
    assert_loads_or_refuses(*mutation)


def test_seeds_are_found() -> None:
    # The mutation tests mean little without valid files to mutate.
    assert len(SEEDS) >= 10
    assert {path.suffix for path in SEEDS} >= {".yaml", ".json"}
