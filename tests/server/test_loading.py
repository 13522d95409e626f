"""The loader: files, folders, manifests, and the errors it gives for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aimock.fixtures.loading import LoadError, Problem, load_paths, load_text
from tests.server.conftest import ClientFactory, answer, chat, state_of

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def fixture_json(*pairs: tuple[str, str]) -> str:
    return json.dumps(
        {"fixtures": [{"match": {"userMessage": m}, "response": {"content": c}} for m, c in pairs]}
    )


def contents(paths: list[Path]) -> list[str | None]:
    loaded = load_paths(paths)
    return [item.fixture.response.content for item in loaded.fixtures if item.fixture.response]


def problems_of(text: str, source: str = "bad.yaml") -> list[Problem]:
    with pytest.raises(LoadError) as caught:
        load_text(text, source)
    return caught.value.problems


# --- files ---------------------------------------------------------------------------------


def test_yaml_and_json_files_load_the_same_fixture(tmp_path: Path) -> None:
    yaml_file = write(
        tmp_path / "a.yaml",
        """
        fixtures:
          - match: {userMessage: hi}
            response: {content: hello}
        """,
    )
    json_file = write(tmp_path / "b.json", fixture_json(("hi", "hello")))
    from_yaml = load_paths([yaml_file]).fixtures[0].fixture
    from_json = load_paths([json_file]).fixtures[0].fixture
    assert from_yaml == from_json
    assert from_yaml.match.user_message is not None
    assert from_yaml.match.user_message.contains == "hi"


def test_a_bare_list_is_a_fixture_file(tmp_path: Path) -> None:
    file = write(
        tmp_path / "list.yaml",
        """
        - match: {userMessage: one}
          response: {content: "1"}
        - match: {userMessage: two}
          response: {content: "2"}
        """,
    )
    assert contents([file]) == ["1", "2"]
    assert load_paths([file]).fixtures[1].source.endswith("list.yaml#[1]")


def test_several_paths_concatenate_in_the_order_given(tmp_path: Path) -> None:
    first = write(tmp_path / "z.json", fixture_json(("a", "from z")))
    second = write(tmp_path / "a.json", fixture_json(("a", "from a")))
    assert contents([first, second]) == ["from z", "from a"]


# --- folders -------------------------------------------------------------------------------


def test_a_folder_loads_files_sorted_then_subfolders_recursively(tmp_path: Path) -> None:
    write(tmp_path / "b.json", fixture_json(("x", "b")))
    write(tmp_path / "a.yaml", "fixtures: [{match: {userMessage: x}, response: {content: a}}]")
    write(tmp_path / "aa" / "z.json", fixture_json(("x", "aa/z")))
    write(tmp_path / "aa" / "deep" / "a.json", fixture_json(("x", "aa/deep/a")))
    write(tmp_path / "ab" / "a.yml", "[{match: {userMessage: x}, response: {content: ab/a}}]")
    write(tmp_path / "c.json", fixture_json(("x", "c")))
    write(tmp_path / "notes.txt", "not a fixture file")
    assert contents([tmp_path]) == ["a", "b", "c", "aa/z", "aa/deep/a", "ab/a"]


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.json", fixture_json(("x", "hidden")))
    write(tmp_path / ".git" / "x.json", fixture_json(("x", "git")))
    write(tmp_path / "shown.json", fixture_json(("x", "shown")))
    assert contents([tmp_path]) == ["shown"]


def test_a_gitops_folder_skips_its_kustomization(tmp_path: Path) -> None:
    """kustomize's own file sits beside the manifests of a GitOps folder (examples/gitops)."""
    kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    write(tmp_path / "kustomization.yaml", kustomization + "resources: [shown.json]\n")
    write(tmp_path / "shown.json", fixture_json(("x", "shown")))
    assert contents([tmp_path]) == ["shown"]


def test_a_kubernetes_configmap_mount_loads_each_file_once(tmp_path: Path) -> None:
    # A mounted ConfigMap: real files live in a timestamped hidden folder, `..data` points
    # at it, and each key is a symlink through `..data`.
    mount = tmp_path / "mount"
    versioned = mount / "..2026_01_02_03_04_05.123456789"
    write(versioned / "fixtures.yaml", "[{match: {userMessage: k}, response: {content: k8s}}]")
    write(versioned / "more.json", fixture_json(("k", "more")))
    (mount / "..data").symlink_to(versioned.name)
    (mount / "fixtures.yaml").symlink_to("..data/fixtures.yaml")
    (mount / "more.json").symlink_to("..data/more.json")
    assert contents([mount]) == ["k8s", "more"]
    assert [p.name for p in load_paths([mount]).files] == ["fixtures.yaml", "more.json"]


# --- manifests -----------------------------------------------------------------------------


def fixture_manifest(name: str, priority: int | None, content: str) -> str:
    spec_priority = f"  priority: {priority}\n" if priority is not None else ""
    return (
        "apiVersion: aimock.dev/v1alpha1\nkind: Fixture\n"
        f"metadata: {{name: {name}}}\nspec:\n{spec_priority}"
        f"  fixtures:\n    - match: {{userMessage: m}}\n      response: {{content: {content}}}\n"
    )


def test_fixture_manifests_order_by_priority_then_name(tmp_path: Path) -> None:
    docs = [
        fixture_manifest("zeta", 0, "zeta"),
        fixture_manifest("alpha", 5, "alpha-5"),
        fixture_manifest("beta", None, "beta"),
        fixture_manifest("first", -1, "first"),
    ]
    text = "---\n".join(docs)
    file = write(tmp_path / "manifests.yaml", text)
    assert contents([file]) == ["first", "beta", "zeta", "alpha-5"]
    # The same documents given as text order the same way.
    in_text = load_text(text, "inline.yaml").fixtures
    assert [f.fixture.response.content for f in in_text if f.fixture.response] == [
        "first",
        "beta",
        "zeta",
        "alpha-5",
    ]
    assert in_text[0].source == "inline.yaml#Fixture/first[0]"


def test_fixture_manifests_across_files_sort_together(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", fixture_manifest("b-late", 10, "late"))
    write(tmp_path / "b.yaml", fixture_manifest("a-early", 1, "early"))
    assert contents([tmp_path]) == ["early", "late"]


MOCKSTACK = """
apiVersion: aimock.dev/v1alpha1
kind: MockStack
metadata: {name: demo}
spec:
  strict: true
  profile: {ttft: 0, tps: 1000}
  latency: 2
  chunkSize: 3
  replicas: 2
  fixtures:
    - match: {userMessage: stack}
      response: {content: from the stack}
"""


def test_a_mockstack_document_configures_the_server() -> None:
    loaded = load_text(MOCKSTACK, "stack.yaml")
    assert loaded.stack is not None
    assert loaded.stack.strict is True
    assert loaded.stack.chunk_size == 3
    assert loaded.stack_source == "stack.yaml#MockStack/demo"
    assert loaded.fixtures[0].source == "stack.yaml#MockStack/demo[0]"


async def test_mockstack_spec_takes_effect_when_serving(make_client: ClientFactory) -> None:
    client = await make_client(MOCKSTACK)
    settings = state_of(client).settings
    assert settings.strict is True
    assert settings.defaults.chunk_size == 3
    assert settings.defaults.latency == 2
    assert state_of(client).index.entries[0].physics.latency == 2
    assert settings.defaults.profile is not None
    assert settings.defaults.profile.tps == 1000
    assert await answer(client, "stack") == "from the stack"
    # strict: a miss is a 503
    status, _ = await chat(client, "nothing matches this")
    assert status == 503
    # chunkSize 3: the content streams in 3-character slices
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "stack"}], "stream": True},
    )
    text = await response.text()
    pieces = [
        json.loads(line[6:])["choices"][0]["delta"].get("content")
        for line in text.splitlines()
        if line.startswith("data: {")
    ]
    assert [p for p in pieces if p] == ["fro", "m t", "he ", "sta", "ck"]


async def test_command_line_options_win_over_the_mockstack(make_client: ClientFactory) -> None:
    client = await make_client(MOCKSTACK, strict=False, chunk_size=50)
    settings = state_of(client).settings
    assert settings.strict is False
    assert settings.defaults.chunk_size == 50


def test_a_named_profile_in_a_mockstack() -> None:
    text = MOCKSTACK.replace("profile: {ttft: 0, tps: 1000}", "profile: reasoning")
    loaded = load_text(text, "stack.yaml")
    assert loaded.stack is not None
    assert loaded.stack.profile == "reasoning"


def test_a_second_mockstack_is_an_error_naming_the_first(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", MOCKSTACK)
    write(tmp_path / "b.yaml", MOCKSTACK.replace("name: demo", "name: other"))
    with pytest.raises(LoadError) as caught:
        load_paths([tmp_path])
    [problem] = caught.value.problems
    assert problem.file.endswith("b.yaml")
    assert problem.field == "kind"
    assert "second MockStack" in problem.reason
    assert "'other'" in problem.reason
    assert "a.yaml#MockStack/demo" in problem.reason


def test_a_chaos_policy_document_is_loaded() -> None:
    text = """
apiVersion: aimock.dev/v1alpha1
kind: ChaosPolicy
metadata: {name: drill}
spec:
  dropRate: 0.5
  seed: 7
  durationSeconds: 60
  match: {surface: openai.chat}
"""
    loaded = load_text(text, "chaos.yaml")
    [policy] = loaded.chaos_policies
    assert policy.metadata.name == "drill"
    assert policy.spec.drop_rate == 0.5
    assert policy.spec.match is not None
    assert policy.spec.match.surface == "openai.chat"
    assert loaded.fixtures == []


def test_manifests_and_a_fixture_file_mix_in_one_folder(tmp_path: Path) -> None:
    write(tmp_path / "a-stack.yaml", MOCKSTACK)
    write(tmp_path / "b-fixture.yaml", fixture_manifest("extra", 0, "extra"))
    write(tmp_path / "c-plain.json", fixture_json(("plain", "plain")))
    loaded = load_paths([tmp_path])
    assert [f.fixture.response.content for f in loaded.fixtures if f.fixture.response] == [
        "from the stack",
        "plain",
        "extra",
    ]


# --- errors --------------------------------------------------------------------------------


def test_broken_yaml_names_the_file_and_line() -> None:
    text = "fixtures:\n  - match: {userMessage: hi\n    response: {content: x}\n"
    [problem] = problems_of(text)
    assert problem.file == "bad.yaml"
    assert problem.line == 3
    assert problem.reason.startswith("invalid YAML")
    assert str(problem).startswith("bad.yaml:3: ")


def test_invalid_json_names_the_file_and_line() -> None:
    [problem] = problems_of('{"fixtures": [\n  {"match": }\n]}', "bad.json")
    assert problem.file == "bad.json"
    assert problem.reason.startswith("invalid JSON")
    assert problem.line == 2


@pytest.mark.parametrize(
    ("text", "field", "reason", "line"),
    [
        (
            "fixtures:\n  - match:\n      userMesage: hi\n    response: {content: x}\n",
            "fixtures[0].match.userMesage",
            "unknown field",
            3,
        ),
        (
            "fixtures:\n  - match:\n      userMessage: {regex: '('}\n    response: {content: x}\n",
            "fixtures[0].match.userMessage",
            "invalid regex",
            3,
        ),
        (
            "fixtures:\n  - match: {}\n    response: {content: x}\n    latency: fast\n",
            "fixtures[0].latency",
            "valid number",
            4,
        ),
        (
            "fixtures:\n  - match: {}\n    response: {content: x}\n"
            "    streamingProfile: {ttft: -1}\n",
            "fixtures[0].streamingProfile.ttft",
            "greater than or equal to 0",
            4,
        ),
        (
            "fixtures:\n  - match: {userMessage: hi}\n",
            "fixtures[0]",
            "response is missing",
            2,
        ),
        (
            "fixtures:\n  - match: {}\n    response: {content: a}\n    sequence: [{content: b}]\n",
            "fixtures[0]",
            "not both",
            2,
        ),
        (
            "fixtures:\n  - match: {}\n    response: {}\n",
            "fixtures[0].response",
            "not a recognized type",
            3,
        ),
        (
            "- match: {userMessage: a}\n  response: {content: x}\n"
            "- match: {userMessage: b}\n  response: {contnt: x}\n",
            "[1].response.contnt",
            "unknown field",
            4,
        ),
        (
            "apiVersion: aimock.dev/v1alpha1\nkind: Widget\nmetadata: {name: a}\n",
            "kind",
            "unknown kind 'Widget'",
            1,
        ),
        (
            "apiVersion: aimock.dev/v2\nkind: Fixture\nmetadata: {name: a}\nspec: {fixtures: []}\n",
            "apiVersion",
            "aimock.dev/v1alpha1",
            1,
        ),
        (
            "apiVersion: aimock.dev/v1alpha1\nkind: Fixture\nmetadata: {name: a}\nspec:\n"
            "  fixtures:\n    - match: {model: 5}\n      response: {content: x}\n",
            "spec.fixtures[0].match.model",
            "expected a string, or an object",
            6,
        ),
        ("just a string\n", "", "expected a mapping", 1),
        ("other: 1\n", "fixtures", "missing", 1),
    ],
)
def test_each_error_names_the_field_the_reason_and_the_line(
    text: str, field: str, reason: str, line: int
) -> None:
    problems = problems_of(text)
    assert any(
        p.file == "bad.yaml" and p.field == field and reason in p.reason and p.line == line
        for p in problems
    ), problems


def test_errors_in_a_json_file_name_the_field(tmp_path: Path) -> None:
    file = write(
        tmp_path / "f.json",
        '{"fixtures": [{"match": {"userMessage": "x"}, "response": {"content": 1}}]}',
    )
    with pytest.raises(LoadError) as caught:
        load_paths([file])
    [problem] = caught.value.problems
    assert problem.file == str(file)
    assert problem.field == "fixtures[0].response.content"
    assert "string" in problem.reason


def test_a_multi_document_error_names_the_document() -> None:
    text = fixture_manifest("ok", 0, "ok") + "---\n" + "fixtures:\n  - match: {bogus: 1}\n"
    [problem] = [p for p in problems_of(text) if "bogus" in p.field]
    assert problem.field == "[document 1] fixtures[0].match.bogus"
    assert problem.line == 11  # 8 lines of the first document, the separator, then `fixtures:`


def test_every_problem_in_every_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "fixtures:\n  - match: {nope: 1}\n    response: {content: x}\n")
    write(tmp_path / "b.json", "{")
    with pytest.raises(LoadError) as caught:
        load_paths([tmp_path])
    files = sorted(Path(p.file).name for p in caught.value.problems)
    assert files == ["a.yaml", "b.json"]


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as caught:
        load_paths([tmp_path / "nope.yaml"])
    [problem] = caught.value.problems
    assert problem.file.endswith("nope.yaml")
    assert problem.reason == "no such file or folder"


# --- aimock validate -------------------------------------------------------------------------


def run_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    args = [arg for path in paths for arg in ("-f", str(path))]
    return subprocess.run(
        [sys.executable, "-m", "aimock", "validate", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_validate_accepts_good_files(tmp_path: Path) -> None:
    write(tmp_path / "stack.yaml", MOCKSTACK)
    write(tmp_path / "f.json", fixture_json(("a", "b")))
    result = run_validate(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 2 fixtures from 2 file")
    assert "1 MockStack" in result.stdout
    assert result.stderr == ""


def test_validate_rejects_bad_files_with_messages_on_stderr(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml", "fixtures:\n  - match:\n      userMesage: hi\n    response: {}\n"
    )
    result = run_validate(bad)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"{bad}:3: fixtures[0].match.userMesage: unknown field" in result.stderr
    assert "problem(s) found" in result.stderr


def test_validate_takes_several_paths_after_one_flag(tmp_path: Path) -> None:
    one = write(tmp_path / "one.json", fixture_json(("a", "A")))
    two = write(tmp_path / "two.json", fixture_json(("b", "B"), ("c", "C")))
    result = subprocess.run(
        [sys.executable, "-m", "aimock", "validate", "-f", str(one), str(two)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: 3 fixtures from 2 files"


def test_validate_warns_of_a_file_without_fixtures(tmp_path: Path) -> None:
    write(tmp_path / "empty.json", '{"fixtures": []}')
    write(tmp_path / "one.json", fixture_json(("a", "A")))
    result = run_validate(tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == "ok: 1 fixture from 2 files"
    assert result.stderr.strip() == f"warning: {tmp_path / 'empty.json'}: no fixtures in it"


def test_every_command_describes_itself_in_its_help() -> None:
    for command in ("serve", "validate", "drift", "journal", "recordings"):
        result = subprocess.run(
            [sys.executable, "-m", "aimock", command, "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0
        description = result.stdout.split("\n\n")[1]
        assert not description.startswith(("options:", "positional")), (command, result.stdout)
