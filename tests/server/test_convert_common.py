"""`aimock convert` as a command: detection, errors, outputs, manifests, and fuzzing.

Each tool's own round trip (its sample config converted, served by a real aimock process and
asked what the source tool would be asked) is in tests/server/test_convert_<tool>.py; the
samples, in each tool's documented format, are in tests/server/convert_samples/.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock import convert
from aimock.convert import ConvertError
from aimock.fixtures.loading import load_paths, load_text
from aimock_operator import validation
from tests.conftest import ROOT, serving

SAMPLES = Path(__file__).resolve().parent / "convert_samples"
INPUTS = {
    "aimock": SAMPLES / "aimock" / "aimock.json",
    "vidaimock": SAMPLES / "vidaimock" / "config",
    "mockllm": SAMPLES / "mockllm" / "mock-llm.yaml",
    "wiremock": SAMPLES / "wiremock",
}
VALIDATORS = {
    "MockStack": validation.validate_mockstack,
    "Fixture": validation.validate_fixture,
}


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aimock", "convert", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("tool", sorted(INPUTS))
def test_the_tool_is_told_from_the_input(tool: str) -> None:
    assert convert.detect(INPUTS[tool]) == tool


def test_a_folder_of_aimock_fixtures_is_told_too() -> None:
    assert convert.detect(SAMPLES / "aimock" / "fixtures") == "aimock"
    assert convert.detect(SAMPLES / "wiremock" / "mappings") == "wiremock"
    assert convert.detect(SAMPLES / "vidaimock" / "config" / "providers" / "openai.yaml") == (
        "vidaimock"
    )


@pytest.mark.parametrize("tool", sorted(INPUTS))
def test_every_sample_converts_and_the_files_load(tool: str, tmp_path: Path) -> None:
    done = run(INPUTS[tool], "--from", tool, "-o", tmp_path)
    assert done.returncode == 0, done.stderr
    assert "converted " in done.stderr.splitlines()[-1]
    loaded = load_paths([tmp_path])
    assert loaded.fixtures, done.stderr
    # What did not carry is on stderr and at the top of the files, the same lines.
    noted = [
        line
        for line in done.stderr.splitlines()
        if line.startswith(("dropped: ", "approximated: "))
    ]
    assert noted
    report = (tmp_path / "conversion-report.txt").read_text().splitlines()
    assert report[-1] == done.stderr.splitlines()[-1]
    headers = "".join(p.read_text() for p in tmp_path.glob("*.yaml"))
    for line in noted:
        assert line in report
        # A fixture file also says, at its top, what of its input did not carry.
        if "aimock.json" not in line and "mock-server.toml" not in line:
            assert line in headers, line


@pytest.mark.parametrize("tool", sorted(INPUTS))
def test_manifests_load_and_the_operator_accepts_them(tool: str, tmp_path: Path) -> None:
    done = run(
        INPUTS[tool], "--manifests", "--name", f"from-{tool}", "-n", "team-a", "-o", tmp_path
    )
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.glob("*.yaml")
    text = written.read_text()
    loaded = load_text(text, str(written))  # what `aimock serve -f` would serve
    assert loaded.stack is not None and loaded.fixtures
    kinds = []
    for document in yaml.safe_load_all(text):
        kinds.append(document["kind"])
        assert document["metadata"]["namespace"] == "team-a"
        assert VALIDATORS[document["kind"]](document) == [], document["metadata"]
    assert kinds[0] == "MockStack" and set(kinds[1:]) == {"Fixture"}
    documents = list(yaml.safe_load_all(text))
    selector = documents[0]["spec"]["fixtureSelector"]["matchLabels"]
    for fixture in documents[1:]:
        assert selector.items() <= fixture["metadata"]["labels"].items()


def test_the_stack_settings_of_a_config_go_into_stack_yaml(tmp_path: Path) -> None:
    assert run(INPUTS["aimock"], "-o", tmp_path).returncode == 0
    stack = yaml.safe_load((tmp_path / "stack.yaml").read_text())
    assert stack["kind"] == "MockStack"
    assert stack["spec"]["strict"] is True and stack["spec"]["chunkSize"] == 8
    assert stack["spec"]["mcp"]["servers"][0]["tools"][0]["name"] == "search"
    assert load_paths([tmp_path]).stack is not None


def test_without_out_the_yaml_goes_to_stdout() -> None:
    done = run(INPUTS["mockllm"])
    assert done.returncode == 0
    loaded = load_text(done.stdout, "stdout.yaml")
    assert len(loaded.fixtures) == 5
    assert "dropped: " in done.stderr and "converted 5 fixture(s)" in done.stderr


@pytest.mark.parametrize(
    ("content", "suffix", "field"),
    [
        ('{"fixtures": [', ".json", ""),
        ("rules: [", ".yaml", ""),
        ('{"rules": 3}', ".json", "rules"),
        ('{"fixtures": 3}', ".json", "fixtures"),
        ('{"request": 1, "response": 2}', ".json", ""),
    ],
)
def test_unreadable_input_exits_1_naming_file_and_field(
    tmp_path: Path, content: str, suffix: str, field: str
) -> None:
    source = tmp_path / f"input{suffix}"
    source.write_text(content)
    done = run(
        source,
        *(["--from", "mockllm"] if field == "rules" else []),
        *(["--from", "aimock"] if field == "fixtures" else []),
    )
    assert done.returncode == 1, done.stdout
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {source}"), line
    assert field in line
    assert "Traceback" not in done.stderr


def test_a_missing_input_exits_1(tmp_path: Path) -> None:
    done = run(tmp_path / "nope.json")
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.json'}: no such file or folder"


def test_an_input_no_tool_wrote_asks_for_from(tmp_path: Path) -> None:
    source = tmp_path / "other.json"
    source.write_text('{"hello": "world"}')
    done = run(source)
    assert done.returncode == 1
    assert "give --from" in done.stderr


def test_the_cli_help_lists_convert() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aimock", "--help"], capture_output=True, text=True, check=False
    )
    assert "convert" in done.stdout


# --- fuzzing: garbage never tracebacks, it reports --------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "request",
                    "response",
                    "mappings",
                    "fixtures",
                    "rules",
                    "match",
                    "path",
                    "method",
                    "content",
                    "status",
                    "matcher",
                    "response_body",
                    "bodyPatterns",
                    "jsonBody",
                    "body",
                    "urlPath",
                    "url",
                    "urlPattern",
                    "choices",
                    "message",
                    "userMessage",
                    "sequence",
                    "priority",
                    "scenarioName",
                    "requiredScenarioState",
                    "newScenarioState",
                    "equalToJson",
                    "matchesJsonPath",
                    "contains",
                    "headers",
                    "llm",
                    "error",
                    "toolCalls",
                    "status_code",
                    "error_template",
                    "stream",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)
# Shapes each tool would recognise, filled with garbage, to get past the first checks.
SHAPED = st.one_of(
    st.builds(
        lambda m: {"mappings": m},
        st.lists(
            st.builds(
                lambda r, s: {"request": r, "response": s},
                st.dictionaries(
                    st.sampled_from(
                        ["method", "urlPath", "url", "urlPattern", "bodyPatterns", "headers"]
                    ),
                    JSON,
                ),
                st.dictionaries(
                    st.sampled_from(
                        ["status", "jsonBody", "body", "fault", "base64Body", "bodyFileName"]
                    ),
                    JSON,
                ),
            ),
            max_size=3,
        ),
    ),
    st.builds(
        lambda r: {"rules": r},
        st.lists(
            st.dictionaries(
                st.sampled_from(["path", "method", "match", "sequence", "response"]), JSON
            ),
            max_size=3,
        ),
    ),
    st.builds(lambda f: {"fixtures": f}, st.lists(JSON, max_size=3)),
    st.builds(
        lambda b: {"name": "x", "matcher": "^/v1/chat/completions$", "response_body": b},
        st.text(max_size=200)
        | st.sampled_from(
            [
                '{% if has_tool_result(messages=json.messages) %}{"choices": []}{% else %}'
                '{"choices":[{"message":{"content":"{{ x }}"}}]}{% endif %}',
                '{"choices":[{"message":{"content":"hi"}}], "created": {{ timestamp() }}}',
                "{% if %}{% endif %}{{",
            ]
        ),
    ),
)


def _convert_quietly(path: Path, tool: str | None) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = convert.run(
        [path], tool, None, manifests=True, name="fuzz", namespace=None, stdout=out, stderr=err
    )
    assert code in (0, 1)
    if code == 0:
        load_text(out.getvalue(), "fuzz.yaml")  # whatever is written loads
    else:
        assert err.getvalue().startswith("error: ")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(JSON, SHAPED),
    tool=st.sampled_from([None, *convert.TOOLS]),
    as_yaml=st.booleans(),
)
def test_garbage_is_reported_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, data: Any, tool: str | None, as_yaml: bool
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / ("input.yaml" if as_yaml else "input.json")
    path.write_text(yaml.safe_dump(data) if as_yaml else json.dumps(data))
    _convert_quietly(path, tool)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300), tool=st.sampled_from(convert.TOOLS))
def test_bytes_are_reported_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes, tool: str
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "input.json"
    path.write_bytes(raw)
    _convert_quietly(path, tool)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(template=st.text(alphabet='{}%#"ifelsndt _(),:[]0123456789abc', max_size=120))
def test_vidaimock_templates_are_reported_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, template: str
) -> None:
    root = tmp_path_factory.mktemp("vidai")
    (root / "providers").mkdir()
    (root / "templates").mkdir()
    (root / "templates" / "t.j2").write_text(template)
    (root / "providers" / "p.yaml").write_text(
        'name: p\nmatcher: "/v1/chat/completions"\nresponse_template: "t.j2"\n'
    )
    _convert_quietly(root, "vidaimock")


def test_convert_error_names_its_parts() -> None:
    error = ConvertError("a.json", "rules", "expected a list")
    assert str(error) == "a.json: rules: expected a list"


def test_served_manifests_answer_as_the_files_do(tmp_path: Path) -> None:
    assert run(INPUTS["wiremock"], "--manifests", "--name", "shop", "-o", tmp_path).returncode == 0
    with (
        serving("-f", str(tmp_path / "shop.yaml")) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as client,
    ):
        answer = client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
    assert answer.choices[0].message.content == "The capital of France is Paris."
