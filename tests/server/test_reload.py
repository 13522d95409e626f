"""Hot reload with a real `aimock serve --watch` process."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

WAIT_SECONDS = 20  # a ceiling for the watcher to notice, never an expectation of speed


def fixture_text(message: str, content: str) -> str:
    return (
        f"fixtures:\n  - match: {{userMessage: {message}}}\n    response: {{content: {content}}}\n"
    )


def ask(server: Any, text: str) -> str | int:
    """The answer's text, or the status code when there is none."""
    response = httpx.post(
        server.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": text}]},
        timeout=10,
    )
    if response.status_code != 200:
        return response.status_code
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def eventually(check: Callable[[], bool], what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what() if callable(what) else what}")


def log_of(server: Any) -> str:
    return "".join(server.output)


def test_an_edit_is_served(server_factory: Any, tmp_path: Path) -> None:
    file = tmp_path / "f.yaml"
    file.write_text(fixture_text("weather", "sunny"))
    server = server_factory.start("-f", str(tmp_path), "--watch")
    assert ask(server, "weather") == "sunny"
    file.write_text(fixture_text("weather", "rainy"))
    eventually(lambda: ask(server, "weather") == "rainy", "the edited answer")


def test_a_single_watched_file_reloads_too(server_factory: Any, tmp_path: Path) -> None:
    file = tmp_path / "only.yaml"
    file.write_text(fixture_text("single", "one"))
    server = server_factory.start("-f", str(file), "-w")
    assert ask(server, "single") == "one"
    # Editors save by writing a new file and renaming it over the old one.
    replacement = tmp_path / ".only.yaml.swp"
    replacement.write_text(fixture_text("single", "two"))
    os.replace(replacement, file)
    eventually(lambda: ask(server, "single") == "two", "the renamed-over answer")


def test_a_broken_edit_keeps_the_old_answers_and_logs_why(
    server_factory: Any, tmp_path: Path
) -> None:
    file = tmp_path / "f.yaml"
    file.write_text(fixture_text("weather", "sunny"))
    server = server_factory.start("-f", str(tmp_path), "--watch")
    file.write_text(fixture_text("weather", "rainy").replace("userMessage", "userMesage"))
    expected = f"{file}:2: fixtures[0].match.userMesage: unknown field"
    eventually(lambda: expected in log_of(server), lambda: f"{expected!r} in {log_of(server)}")
    assert "reload failed; still serving the previous 1 fixtures" in log_of(server)
    assert ask(server, "weather") == "sunny"
    # Fixing the file brings the new answer.
    file.write_text(fixture_text("weather", "rainy"))
    eventually(lambda: ask(server, "weather") == "rainy", "the fixed answer")


def test_a_new_file_in_a_watched_folder_is_picked_up(server_factory: Any, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(fixture_text("first", "one"))
    server = server_factory.start("-f", str(tmp_path), "--watch")
    assert ask(server, "second") == 404
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "b.json").write_text(
        '{"fixtures": [{"match": {"userMessage": "second"}, "response": {"content": "two"}}]}'
    )
    eventually(lambda: ask(server, "second") == "two", "the new file's answer")
    assert ask(server, "first") == "one"


def test_a_configmap_update_is_picked_up(server_factory: Any, tmp_path: Path) -> None:
    # Kubernetes updates a mounted ConfigMap by writing a new hidden folder and swapping the
    # `..data` symlink to it in one rename.
    mount = tmp_path / "mount"
    first = mount / "..2026_01_01_00_00_00.000000001"
    first.mkdir(parents=True)
    (first / "fixtures.yaml").write_text(fixture_text("cm", "v1"))
    (mount / "..data").symlink_to(first.name)
    (mount / "fixtures.yaml").symlink_to("..data/fixtures.yaml")
    server = server_factory.start("-f", str(mount), "--watch")
    assert ask(server, "cm") == "v1"

    second = mount / "..2026_01_01_00_01_00.000000002"
    second.mkdir()
    (second / "fixtures.yaml").write_text(fixture_text("cm", "v2"))
    (mount / "..data_tmp").symlink_to(second.name)
    os.replace(mount / "..data_tmp", mount / "..data")
    eventually(lambda: ask(server, "cm") == "v2", "the ConfigMap's new answer")


# --- hostile edits: the watcher outlives any file (issue 12) -------------------------------


def deep_yaml(depth: int = 100_000) -> str:
    return "fixtures: " + "[" * depth + "]" * depth + "\n"


def test_a_deep_file_does_not_stop_the_watcher(server_factory: Any, tmp_path: Path) -> None:
    file = tmp_path / "f.yaml"
    file.write_text(fixture_text("weather", "sunny"))
    server = server_factory.start("-f", str(tmp_path), "--watch")
    file.write_text(deep_yaml())
    expected = f"{file}:1: nested deeper than 128 levels"
    eventually(lambda: expected in log_of(server), lambda: f"{expected!r} in {log_of(server)}")
    assert ask(server, "weather") == "sunny"
    # The watcher is still there: the next good edit is served.
    file.write_text(fixture_text("weather", "rainy"))
    eventually(lambda: ask(server, "weather") == "rainy", "the edit after the deep file")
    assert "Traceback" not in log_of(server)


def test_a_deleted_file_is_a_warning_naming_it(server_factory: Any, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(fixture_text("first", "one"))
    second = tmp_path / "b.yaml"
    second.write_text(fixture_text("second", "two"))
    server = server_factory.start("-f", str(tmp_path), "--watch")
    assert ask(server, "second") == "two"
    second.unlink()
    expected = f"WARNING aimock.reload: 1 fixtures withdrawn: their files are gone: {second} (1)"
    eventually(lambda: expected in log_of(server), lambda: f"{expected!r} in {log_of(server)}")
    assert ask(server, "second") == 404
    assert ask(server, "first") == "one"


def test_a_watched_folder_deleted_and_made_again_is_watched_again(
    server_factory: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "fixtures"
    folder.mkdir()
    (folder / "f.yaml").write_text(fixture_text("weather", "sunny"))
    server = server_factory.start("-f", str(folder), "--watch")
    os.replace(folder, tmp_path / "moved")  # at once: no reload sees the folder half gone
    eventually(lambda: "watching for changes failed" in log_of(server), lambda: log_of(server))
    assert ask(server, "weather") == "sunny"  # the last good set keeps serving
    folder.mkdir()
    (folder / "f.yaml").write_text(fixture_text("weather", "rainy"))
    eventually(lambda: ask(server, "weather") == "rainy", "the answer from the new folder")
    assert "Traceback" not in log_of(server)


def test_reloading_a_bad_file_answers_400_with_the_problems(
    server_factory: Any, tmp_path: Path
) -> None:
    file = tmp_path / "f.yaml"
    file.write_text(fixture_text("weather", "sunny"))
    server = server_factory.start("-f", str(tmp_path))
    file.write_text(deep_yaml())
    with server.control() as client:
        response = client.post("/__aimock/reload", json={})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    [detail] = response.json()["details"]
    assert detail["file"] == str(file) and detail["line"] == 1
    assert "nested deeper than 128 levels" in detail["message"]
    assert ask(server, "weather") == "sunny"
    assert "Traceback" not in log_of(server)
