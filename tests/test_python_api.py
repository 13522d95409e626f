"""The Python API and the pytest plugin, used as a user's test suite would."""

from __future__ import annotations

import httpx
import openai
import pytest

from aimock import MockServer

pytest_plugins = ["pytester"]


def test_mock_server_serves_added_fixtures_to_the_sdk() -> None:
    with MockServer() as mock:
        mock.on_message("capital of France", "Paris.")
        client = openai.OpenAI(base_url=mock.base_url, api_key="test", max_retries=0)
        answer = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "What is the capital of France?"}]
        )
        assert answer.choices[0].message.content == "Paris."
        entry = mock.last_request
        assert entry is not None
        assert entry["surface"] == "openai.chat"
        assert entry["model"] == "gpt-4o"
        assert entry["response"]["status"] == 200  # type: ignore[index]
    with pytest.raises(httpx.ConnectError):
        httpx.get(mock.url + "/health")


def test_mock_server_without_fixtures_misses_in_openai_format() -> None:
    with MockServer() as mock:
        client = openai.OpenAI(base_url=mock.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "anything"}]
            )
        assert caught.value.code == "no_fixture_match"


def test_strict_mock_server_answers_503_on_a_miss() -> None:
    with MockServer(strict=True) as mock:
        client = openai.OpenAI(base_url=mock.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "anything"}]
            )
        assert caught.value.status_code == 503


def test_add_fixture_rejects_an_invalid_fixture() -> None:
    with MockServer() as mock, pytest.raises(ValueError, match="toolCalls"):
        mock.add_fixture({"match": {}, "response": {"toolCalls": []}})


def test_reset_drops_added_fixtures_and_the_journal() -> None:
    with MockServer() as mock:
        mock.on_message("ping", "pong")
        httpx.post(
            mock.base_url + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "ping"}]},
        ).raise_for_status()
        assert len(mock.journal) == 1
        mock.reset()
        assert mock.journal == []
        response = httpx.post(
            mock.base_url + "/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "ping"}]},
        )
        assert response.status_code == 404


def test_pytest_plugin_gives_each_test_a_reset_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import openai

        def test_first(aimock):
            aimock.on_message("hello", "first answer")
            client = openai.OpenAI(base_url=aimock.base_url, api_key="t", max_retries=0)
            reply = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "hello"}]
            )
            assert reply.choices[0].message.content == "first answer"

        def test_second_does_not_see_the_first_tests_fixture(aimock):
            client = openai.OpenAI(base_url=aimock.base_url, api_key="t", max_retries=0)
            try:
                client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hello"}]
                )
            except openai.NotFoundError:
                pass
            else:
                raise AssertionError("fixture leaked between tests")
            assert aimock.journal[-1]["response"]["status"] == 404
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_pytest_plugin_loads_fixture_files(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        answers="fixtures:\n  - match: {userMessage: ping}\n    response: {content: pong}\n",
    )
    pytester.makepyfile(
        """
        import httpx

        def test_file_fixture(aimock):
            body = {"model": "m", "messages": [{"role": "user", "content": "ping"}]}
            reply = httpx.post(aimock.base_url + "/chat/completions", json=body).json()
            assert reply["choices"][0]["message"]["content"] == "pong"
        """
    )
    result = pytester.runpytest_subprocess("--aimock-fixtures", "answers.yaml")
    result.assert_outcomes(passed=1)


def test_an_in_process_server_leaves_its_hosts_collector_alone() -> None:
    """The server process spaces out the collector's passes (`app.space_out_collections`);
    a MockServer inside a test run must not change the host's."""
    import gc

    from aimock import app

    before = gc.get_threshold()
    with MockServer() as mock:
        httpx.get(f"{mock.url}/health", timeout=10)
        assert gc.get_threshold() == before
    try:
        app.space_out_collections()
        assert gc.get_threshold() == (10_000, 20, 20)
    finally:
        gc.set_threshold(*before)
