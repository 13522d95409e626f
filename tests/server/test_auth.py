"""The inbound key check (`aimock.auth`) on its own: every place an SDK puts a key admits a
configured one, anything else is refused, and no header value, however odd, breaks it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimock import auth
from aimock.auth import InboundKeys

KEYS = InboundKeys(["key-one", "key-two"])
PLACES = [
    ({"authorization": "Bearer key-one"}, {}),
    ({"authorization": "bearer   key-two  "}, {}),
    ({"authorization": "Key key-one"}, {}),
    (
        {
            "authorization": "AWS4-HMAC-SHA256 Credential=key-one/20261206/us-east-1/bedrock/"
            "aws4_request, SignedHeaders=host, Signature=abc"
        },
        {},
    ),
    ({"x-api-key": "key-one"}, {}),
    ({"x-goog-api-key": "key-two"}, {}),
    ({}, {"key": "key-one"}),
    ({"api-key": "key-one"}, {}),
    ({"xi-api-key": "key-one"}, {}),
    ({"x-chroma-token": "key-two"}, {}),
    ({"sec-websocket-protocol": "realtime, openai-insecure-api-key.key-one"}, {}),
]


@pytest.mark.parametrize(("headers", "query"), PLACES)
def test_a_configured_key_is_admitted_wherever_an_sdk_puts_it(
    headers: dict[str, str], query: dict[str, str]
) -> None:
    assert KEYS.refusal(headers, query) is None
    wrong = {name: value.replace("key-", "nope-") for name, value in headers.items()}
    wrong_query = {name: value.replace("key-", "nope-") for name, value in query.items()}
    assert KEYS.refusal(wrong, wrong_query) is True


def test_no_credential_every_credential_and_other_schemes() -> None:
    assert KEYS.refusal({"content-type": "application/json"}, {}) is False
    # Every credential present must be a key: one right and one wrong is refused.
    assert KEYS.refusal({"x-api-key": "key-one", "authorization": "Bearer other"}, {}) is True
    assert KEYS.refusal({"x-api-key": "key-one", "authorization": "Bearer key-two"}, {}) is None
    assert KEYS.refusal({"authorization": "Basic a2V5LW9uZTo="}, {}) is True


@pytest.mark.parametrize(
    ("keys", "words"),
    [
        ([], "no API key given"),
        ([""], "must not be empty"),
        (["a b"], "blanks or control characters"),
        (["x\x00"], "blanks or control characters"),
        (["same", "same"], "given twice"),
        (["k" * 4097], "at most 4096"),
    ],
)
def test_a_bad_configuration_names_its_fault(keys: list[str], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        InboundKeys(keys, "spec.apiKeys")


def test_the_environment_is_comma_separated_and_trimmed() -> None:
    keys = auth.from_environment(" one , two")
    assert len(keys) == 2 and keys.refusal({"x-api-key": "two"}, {}) is None


header_names = st.sampled_from(
    ["authorization", *auth.KEY_HEADERS, "sec-websocket-protocol", "x-other", "cookie"]
)


@settings(max_examples=400, deadline=None)
@given(
    headers=st.dictionaries(header_names, st.text(max_size=200), max_size=6),
    query=st.dictionaries(st.sampled_from(["key", "alt"]), st.text(max_size=100), max_size=2),
)
def test_any_headers_get_a_verdict(headers: dict[str, str], query: dict[str, str]) -> None:
    verdict = KEYS.refusal(headers, query)
    carried = auth.credentials(headers, query)
    if verdict is None:  # admitted: every credential it carried is a configured key
        assert carried and all(c in ("key-one", "key-two") for c in carried)
    elif verdict is False:
        assert carried == []


def test_a_header_that_is_not_utf8_is_a_wrong_key() -> None:
    """aiohttp hands a non-UTF-8 header over with its bytes escaped (surrogates)."""
    assert KEYS.refusal({"authorization": "Bearer \udcff\udcfe"}, {}) is True
    assert KEYS.refusal({"x-api-key": "key-\udcc3one"}, {}) is True
