"""WireMock stub mappings (`mappings/*.json`) that stand in for AI providers.

A file holds one stub (`{"request": ..., "response": ...}`), `{"mappings": [...]}` or a
list of stubs; a folder is read as WireMock's root (its `mappings/` and `__files/`) or as the
mappings folder itself. Stubs are ordered as WireMock picks them: the lowest `priority`
first (unset is 5), and among equal priorities the one added last first.

Request criteria become `match` fields: the URL (`url`, `urlPath`, `urlPattern`,
`urlPathPattern`, `urlPathTemplate`) the surface; `headers` (`equalTo`, `contains`,
`matches`) header matches; `bodyPatterns` the model, the last user message, a tool
name, where they can be read (`equalToJson`, `matchesJsonPath` with an expression and a
matcher or a filter, `contains`). A body criterion that cannot be read drops its stub (the
fixture would answer requests WireMock refuses); a header, query or cookie criterion that
cannot be read is left out and noted (the fixture matches more widely).

The response (`jsonBody`, `body`, `base64Body`, `bodyFileName`) is read as the provider's
answer (see `bodies`); `status` >= 400 is an error fixture; `fixedDelayMilliseconds` the
fixture's latency; `fault` a chaos rate of 1. Scenarios whose stubs form one chain from
`Started` become one fixture with a `sequence`.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimock.convert import bodies
from aimock.convert.writer import Conversion, ConvertError, first_document

DEFAULT_PRIORITY = 5
FAULTS = {
    "CONNECTION_RESET_BY_PEER": "disconnectRate",
    "EMPTY_RESPONSE": "disconnectRate",
    "MALFORMED_RESPONSE_CHUNK": "malformedRate",
    "RANDOM_DATA_THEN_CLOSE": "malformedRate",
}
URL_KEYS = ("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate")
# Body fields of a request that say how to answer, not what is asked: a fixture answers both.
ANSWER_SHAPE = {
    "stream",
    "stream_options",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "n",
    "seed",
    "user",
    "metadata",
}


def is_stub(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("request"), dict) and ("response" in data)


def looks_like(data: Any) -> bool:
    if isinstance(data, dict) and isinstance(data.get("mappings"), list):
        return True
    if isinstance(data, list) and data and all(is_stub(item) for item in data):
        return True
    return is_stub(data)


@dataclass
class _Stub:
    file: str
    where: str
    priority: int
    order: int
    match: dict[str, Any]
    surfaces: list[str]
    answer: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)  # latency, chaos
    scenario: tuple[str, str, str | None] | None = None  # name, required, new state


def convert(path: Path) -> list[Conversion]:
    if path.is_dir():
        mappings = path / "mappings" if (path / "mappings").is_dir() else path
        files = sorted(
            f
            for f in mappings.rglob("*.json")
            if f.is_file() and not any(p.startswith(".") for p in f.relative_to(mappings).parts)
        )
        files_dir = mappings.parent / "__files"
    else:
        files, files_dir = [path], path.parent.parent / "__files"
    conversion = Conversion("wiremock", str(path))
    stubs: list[_Stub] = []
    for file in files:
        for index, (where, stub) in enumerate(_stubs_of(file)):
            read = _stub(
                stub,
                str(file),
                where,
                len(stubs) + index,
                files_dir=files_dir,
                conversion=conversion,
            )
            if read is not None:
                stubs.append(read)
    # WireMock: the lowest priority number wins; among equals, the stub added last.
    stubs.sort(key=lambda s: (s.priority, -s.order))
    _emit(stubs, conversion)
    return [conversion]


def _stubs_of(file: Path) -> list[tuple[str, Any]]:
    data = first_document(file)
    if isinstance(data, dict) and isinstance(data.get("mappings"), list):
        return [(f"$.mappings[{i}]", s) for i, s in enumerate(data["mappings"])]
    if isinstance(data, list):
        return [(f"$[{i}]", s) for i, s in enumerate(data)]
    if is_stub(data):
        return [("$", data)]
    raise ConvertError(
        str(file), "request", "not a WireMock stub mapping (no request and response)"
    )


def _stub(
    stub: Any, file: str, where: str, order: int, *, files_dir: Path, conversion: Conversion
) -> _Stub | None:
    if not is_stub(stub):
        conversion.note(file, where, "not a stub mapping (no request and response)")
        return None
    request, response = stub["request"], stub["response"]
    name = stub.get("name") if isinstance(stub.get("name"), str) else None
    match: dict[str, Any] = {}
    surfaces = _surfaces(request, file, f"{where}.request", conversion, match)
    if not surfaces:
        return None
    if not _body(
        request.get("bodyPatterns"), match, file, f"{where}.request.bodyPatterns", conversion
    ):
        return None
    _headers(request, match, file, f"{where}.request", conversion)
    if not isinstance(response, dict):
        conversion.note(file, f"{where}.response", "not an object")
        return None
    answer, extras = _response(response, file, f"{where}.response", files_dir, conversion)
    if answer is None:
        return None
    if name:
        extras["name"] = name
    priority = stub.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool):
        priority = DEFAULT_PRIORITY
    scenario = None
    if isinstance(stub.get("scenarioName"), str):
        required = stub.get("requiredScenarioState")
        new = stub.get("newScenarioState")
        scenario = (
            stub["scenarioName"],
            str(required) if required else "Started",
            str(new) if isinstance(new, str) else None,
        )
    return _Stub(file, where, priority, order, match, surfaces, answer, extras, scenario)


def _surfaces(
    request: dict[str, Any], file: str, where: str, conversion: Conversion, match: dict[str, Any]
) -> list[str]:
    method = str(request.get("method", "ANY")).upper()
    if method not in ("POST", "ANY"):
        conversion.note(
            file,
            f"{where}.method",
            f"a {method} stub: aimock answers the AI "
            "surfaces it serves itself (model lists and "
            "the like need no fixture)",
        )
        return []
    keys = [k for k in URL_KEYS if isinstance(request.get(k), str)]
    if not keys:
        conversion.note(
            file,
            where,
            "no URL criterion: a fixture is for an AI surface; "
            "a stub for every path is not converted",
        )
        return []
    key, url = keys[0], request[keys[0]]
    if key in ("url", "urlPath"):
        found = bodies.surfaces_for_path(url)
        model = bodies.model_in_path(url)
        if model is not None:
            match["model"] = {"equals": model}
        if key == "url" and "?" in url:
            conversion.note(file, f"{where}.url", "the query string is not matched", "approximated")
    elif key == "urlPathTemplate":
        found = bodies.surfaces_for_path(re.sub(r"\{[^}]+\}", "sample", url))
    else:
        pattern = url.split("\\?", 1)[0] if key == "urlPattern" else url
        maybe = bodies.surfaces_for_pattern(pattern, search=False)
        if maybe is None:
            conversion.note(file, f"{where}.{key}", f"not a regex aimock can read: {url!r}")
            return []
        found = maybe
    if not found:
        conversion.note(file, f"{where}.{key}", f"{url!r} is no AI surface aimock serves")
    if "queryParameters" in request:
        conversion.note(
            file,
            f"{where}.queryParameters",
            "query parameters are not matched: the fixture matches more widely",
            "approximated",
        )
    for key in (
        "cookies",
        "basicAuthCredentials",
        "multipartPatterns",
        "formParameters",
        "customMatcher",
    ):
        if key in request:
            conversion.note(
                file,
                f"{where}.{key}",
                "not matched: the fixture matches more widely",
                "approximated",
            )
    return found


def _text_match(pattern: Any) -> dict[str, Any] | None:
    """A WireMock string matcher as one of ours, or None."""
    if not isinstance(pattern, dict):
        return None
    flags = {"ignoreCase": True} if pattern.get("caseInsensitive") is True else {}
    for theirs, ours in (("equalTo", "equals"), ("contains", "contains"), ("matches", "regex")):
        value = pattern.get(theirs)
        if isinstance(value, str):
            if theirs == "matches":  # Java's matches(): the whole value
                value = f"^(?:{value})$"
            return {ours: value, **flags}
    return None


def _headers(
    request: dict[str, Any], match: dict[str, Any], file: str, where: str, conversion: Conversion
) -> None:
    headers = request.get("headers")
    if not isinstance(headers, dict):
        return
    for name, pattern in headers.items():
        ours = _text_match(pattern)
        if ours is None:
            conversion.note(
                file,
                f"{where}.headers.{name}",
                f"matcher {pattern!r} is not carried: the fixture matches more widely",
                "approximated",
            )
            continue
        match.setdefault("headers", {})[str(name).lower()] = ours


# --- request bodies -------------------------------------------------------------------------

_FILTER = re.compile(
    r"^\$\.(?P<field>messages|tools)\[\?\(@\.(?P<key>[\w.]+)\s*(?P<op>==|=~)\s*"
    r"(?:'(?P<quoted>[^']*)'|\"(?P<dquoted>[^\"]*)\"|/(?P<regex>.*)/(?P<flags>i?))\s*\)\]$"
)
_ROOT_FILTER = re.compile(
    r"^\$\[\?\(@\.(?P<key>model|stream)\s*==\s*(?:'(?P<quoted>[^']*)'|\"(?P<dquoted>[^\"]*)\""
    r"|(?P<bare>true|false))\s*\)\]$"
)


def _body(
    patterns: Any, match: dict[str, Any], file: str, where: str, conversion: Conversion
) -> bool:
    """Read every body pattern into `match`; False (noted) when one cannot be read."""
    if patterns is None:
        return True
    if not isinstance(patterns, list):
        conversion.note(file, where, "not a list of body patterns")
        return False
    for index, pattern in enumerate(patterns):
        at = f"{where}[{index}]"
        reason = _one_body_pattern(pattern, match, file, at, conversion)
        if reason is not None:
            conversion.note(
                file,
                at,
                f"{reason}; the stub is not converted (its fixture "
                "would answer requests WireMock refuses)",
            )
            return False
    return True


def _one_body_pattern(
    pattern: Any, match: dict[str, Any], file: str, where: str, conversion: Conversion
) -> str | None:
    if not isinstance(pattern, dict):
        return "not a matcher object"
    if "equalToJson" in pattern:
        expected = pattern["equalToJson"]
        if isinstance(expected, str):
            parsed = bodies.parse_body(expected)
            expected = parsed if isinstance(parsed, dict) and "__stream__" not in parsed else None
        if not isinstance(expected, dict):
            return "equalToJson is not a JSON object"
        return _expected_request(
            expected,
            match,
            file,
            f"{where}.equalToJson",
            conversion,
            exact=pattern.get("ignoreExtraElements") is not True,
        )
    if "matchesJsonPath" in pattern:
        reason = _json_path(pattern["matchesJsonPath"], match)
        if (
            reason is None
            and isinstance(pattern["matchesJsonPath"], str)
            and "messages[?" in (pattern["matchesJsonPath"])
        ):
            conversion.note(
                file,
                f"{where}.matchesJsonPath",
                "a test on any message is read as one on the last user message",
                "approximated",
            )
        return reason
    if "contains" in pattern and isinstance(pattern["contains"], str):
        match["userMessage"] = {"contains": pattern["contains"]}
        conversion.note(
            file,
            f"{where}.contains",
            "a body that contains the text is read as the last user message containing it",
            "approximated",
        )
        return None
    if "equalTo" in pattern and isinstance(pattern["equalTo"], str):
        parsed = bodies.parse_body(pattern["equalTo"])
        if isinstance(parsed, dict) and "__stream__" not in parsed:
            return _expected_request(
                parsed, match, file, f"{where}.equalTo", conversion, exact=True
            )
    return f"body matcher {sorted(pattern)} is not one aimock can read"


def _set(match: dict[str, Any], key: str, value: Any) -> str | None:
    if key in match and match[key] != value:
        return f"{key} is asked twice, differently"
    match[key] = value
    return None


def _json_path(spec: Any, match: dict[str, Any]) -> str | None:
    if isinstance(spec, dict):
        expression = spec.get("expression")
        ours = _text_match(spec)
        if not isinstance(expression, str) or ours is None:
            return f"matchesJsonPath {spec!r} is not one aimock can read"
        expression = expression.replace(" ", "")
        if expression == "$.model":
            return _set(match, "model", ours)
        if expression in (
            "$.messages[-1].content",
            "$.messages[-1:].content",
            "$.messages[(@.length-1)].content",
        ):
            return _set(match, "userMessage", ours)
        if expression in ("$.input", "$.prompt"):
            return _set(match, "inputText" if expression == "$.input" else "userMessage", ours)
        if expression == "$.tools[*].function.name" and "equals" in ours:
            return _set(match, "toolName", ours["equals"])
        if expression == "$.system":
            return _set(match, "systemMessage", ours)
        return f"matchesJsonPath expression {expression!r} is not one aimock can read"
    if not isinstance(spec, str):
        return "matchesJsonPath is neither a string nor an object"
    text = spec.strip()
    if text in ("$.messages", "$.model", "$.tools", "$.input"):
        return None  # present in every such request
    found = _ROOT_FILTER.match(text)
    if found:
        value = found["quoted"] if found["quoted"] is not None else found["dquoted"]
        if found["key"] == "stream":
            return None  # a fixture answers streamed and whole requests alike
        return _set(match, "model", {"equals": value})
    found = _FILTER.match(text)
    if found is None:
        return f"matchesJsonPath {text!r} is not one aimock can read"
    value = found["quoted"] if found["quoted"] is not None else found["dquoted"]
    regex = found["regex"]
    if found["field"] == "tools":
        if found["key"] in ("function.name", "name") and value is not None:
            return _set(match, "toolName", value)
        return f"matchesJsonPath {text!r} is not one aimock can read"
    if found["key"] != "content":
        return f"matchesJsonPath {text!r} is not one aimock can read"
    if regex is not None:
        pattern: dict[str, Any] = {"regex": regex.replace(r"\/", "/")}
        if found["flags"]:
            pattern["ignoreCase"] = True
        return _set(match, "userMessage", pattern)
    return _set(match, "userMessage", {"equals": value})


def _expected_request(
    expected: dict[str, Any],
    match: dict[str, Any],
    file: str,
    where: str,
    conversion: Conversion,
    *,
    exact: bool,
) -> str | None:
    for key, value in expected.items():
        at = f"{where}.{key}"
        if _wildcard(value):  # JSON-unit's ${json-unit.ignore}, ${json-unit.any-string}...
            continue
        if key == "model" and isinstance(value, str):
            problem = _set(match, "model", {"equals": value})
        elif key == "messages" and isinstance(value, list):
            problem = _messages(value, match)
            if exact and problem is None:
                conversion.note(
                    file,
                    at,
                    "the whole conversation is not compared: the last "
                    "user message and system text are",
                    "approximated",
                )
        elif key == "input" and isinstance(value, str | list):
            text = value if isinstance(value, str) else " ".join(str(v) for v in value)
            problem = _set(match, "inputText", {"equals": text})
        elif key == "tools" and isinstance(value, list):
            names = [
                t.get("function", {}).get("name") or t.get("name")
                for t in value
                if isinstance(t, dict)
            ]
            names = [n for n in names if isinstance(n, str)]
            problem = _set(match, "toolName", names[0]) if names else None
            if len(names) > 1:
                conversion.note(
                    file, at, f"only the first tool ({names[0]}) is matched", "approximated"
                )
        elif key == "system" and isinstance(value, str):
            problem = _set(match, "systemMessage", {"equals": value})
        elif key in ANSWER_SHAPE:
            problem = None
            conversion.note(
                file, at, "not matched: a fixture answers every such request", "approximated"
            )
        else:
            problem = f"request field {key!r} is not one aimock matches"
        if problem is not None:
            return problem
    return None


def _wildcard(value: Any) -> bool:
    """A JSON-unit placeholder WireMock's equalToJson takes for "anything" of a kind."""
    return isinstance(value, str) and value.startswith("${json-unit.")


def _messages(messages: list[Any], match: dict[str, Any]) -> str | None:
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    systems = [
        m for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")
    ]
    if users and not _wildcard(users[-1].get("content")):
        text = _text(users[-1].get("content"))
        if text is None:
            return "the last user message has no text"
        problem = _set(match, "userMessage", {"equals": text})
        if problem:
            return problem
    if systems and not any(_wildcard(m.get("content")) for m in systems):
        texts = [_text(m.get("content")) for m in systems]
        if all(t is not None for t in texts):
            match["systemMessage"] = {"equals": "\n".join(t for t in texts if t is not None)}
    return None


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p.get("text")
            for p in content
            if isinstance(p, dict) and p.get("type") in ("text", "input_text")
        ]
        texts = [p for p in parts if isinstance(p, str)]
        if parts and len(texts) == len(parts):
            return "".join(texts)
    return None


# --- responses ------------------------------------------------------------------------------


def _response(
    response: dict[str, Any], file: str, where: str, files_dir: Path, conversion: Conversion
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    extras: dict[str, Any] = {}
    if "proxyBaseUrl" in response:
        conversion.note(
            file,
            f"{where}.proxyBaseUrl",
            "a proxy stub is not converted: `aimock serve --record` proxies and records",
        )
        return None, extras
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        conversion.note(file, f"{where}.status", f"not an HTTP status: {status!r}")
        return None, extras
    fault = response.get("fault")
    if fault is not None:
        rate = FAULTS.get(str(fault))
        if rate is None:
            conversion.note(file, f"{where}.fault", f"fault {fault!r} is not one aimock has")
            return None, extras
        extras["chaos"] = {rate: 1.0}
        conversion.note(file, f"{where}.fault", f"carried as chaos {rate}: 1", "approximated")
        return {"error": {"message": f"WireMock fault {fault}"}, "status": 500}, extras
    if response.get("transformers"):
        conversion.note(
            file,
            f"{where}.transformers",
            "response templates are not run: the body is read as it is written",
            "approximated",
        )
    text = _body_text(response, file, where, files_dir, conversion)
    if text is None:
        return None, extras
    body = bodies.parse_body(text)
    answer, notes = bodies.decode(body, status)
    for path, reason in notes:
        conversion.note(
            file,
            f"{where}.body{path.removeprefix('$')}",
            reason,
            "dropped" if answer is None else "approximated",
        )
    if answer is None:
        return None, extras
    if "{{" in text and response.get("transformers"):
        conversion.note(
            file,
            f"{where}.body",
            "the body has {{...}} templates: their text is answered as it is",
            "approximated",
        )
    delay = response.get("fixedDelayMilliseconds")
    if isinstance(delay, int | float) and not isinstance(delay, bool) and delay > 0:
        extras["latency"] = float(delay)
        conversion.note(
            file,
            f"{where}.fixedDelayMilliseconds",
            "carried as latency: before a whole body, and before each streamed event",
            "approximated",
        )
    for key in ("delayDistribution", "chunkedDribbleDelay"):
        if key in response:
            conversion.note(file, f"{where}.{key}", "no aimock equivalent: not carried")
    headers = response.get("headers")
    if isinstance(headers, dict):
        retry = {str(k).lower(): v for k, v in headers.items()}.get("retry-after")
        if status == 429 and isinstance(retry, str | int) and str(retry).isdigit():
            answer["retryAfter"] = float(retry)
            headers = {k: v for k, v in headers.items() if str(k).lower() != "retry-after"}
        kept = [h for h in headers if str(h).lower() not in ("content-type", "content-length")]
        if kept:
            conversion.note(
                file,
                f"{where}.headers",
                f"response headers {kept} are not sent: aimock sends the provider's own",
            )
    return answer, extras


def _body_text(
    response: dict[str, Any], file: str, where: str, files_dir: Path, conversion: Conversion
) -> str | None:
    import orjson

    if "jsonBody" in response:
        return orjson.dumps(response["jsonBody"]).decode()
    if isinstance(response.get("body"), str):
        return str(response["body"])
    if isinstance(response.get("base64Body"), str):
        try:
            return base64.b64decode(response["base64Body"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            conversion.note(file, f"{where}.base64Body", "not base64 of UTF-8 text")
            return None
    if isinstance(response.get("bodyFileName"), str):
        target = (files_dir / response["bodyFileName"]).resolve()
        try:
            if not target.is_relative_to(files_dir.resolve()):
                raise OSError("outside __files")
            text: str = target.read_text("utf-8")
            return text
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            conversion.note(file, f"{where}.bodyFileName", f"cannot read {target}: {exc}")
            return None
    conversion.note(file, where, "no body: nothing a provider's client could read")
    return None


# --- fixtures -------------------------------------------------------------------------------


def _emit(stubs: list[_Stub], conversion: Conversion) -> None:
    done: set[str] = set()
    for stub in stubs:
        if stub.scenario is None:
            for surface in _scoped(stub, stub.answer, conversion):
                _add(conversion, stub, surface, {"response": stub.answer})
            continue
        name = stub.scenario[0]
        if name in done:
            continue
        done.add(name)
        chain = _chain([s for s in stubs if s.scenario and s.scenario[0] == name], conversion)
        if chain is None:
            continue
        answers, exhausted = chain
        chain_first = next(s for s in stubs if s.scenario and s.scenario[0] == name)
        kinds = [a for a in answers if "error" not in a] or answers
        for surface in _scoped(chain_first, kinds[0], conversion):
            _add(conversion, chain_first, surface, {"sequence": answers, "onExhausted": exhausted})
        conversion.note(
            chain_first.file,
            chain_first.where,
            f"scenario {name!r} carried as a sequence, counted per X-Test-Id",
            "approximated",
        )


def _chain(stubs: list[_Stub], conversion: Conversion) -> tuple[list[Any], str] | None:
    """A scenario's stubs as answers in turn, when they form one chain from Started."""
    by_state = {}
    for stub in stubs:
        assert stub.scenario is not None
        if stub.scenario[1] in by_state or stub.match != stubs[0].match:
            conversion.note(
                stub.file,
                stub.where,
                f"scenario {stub.scenario[0]!r} is not one "
                "chain of the same request: not converted",
            )
            return None
        by_state[stub.scenario[1]] = stub
    answers, state, seen = [], "Started", set()
    exhausted = "repeat-last"
    while state in by_state and state not in seen:
        seen.add(state)
        stub = by_state[state]
        answers.append(stub.answer)
        assert stub.scenario is not None
        new = stub.scenario[2]
        if new is None or new == state:
            break
        if new == "Started":
            exhausted = "cycle"
            break
        state = new
        if state not in by_state:
            exhausted = "fallthrough"
    if len(seen) != len(by_state):
        first = stubs[0]
        conversion.note(
            first.file, first.where, "scenario states not reachable from Started: not converted"
        )
        return None
    return answers, exhausted


def _scoped(stub: _Stub, answer: dict[str, Any], conversion: Conversion) -> list[str | None]:
    surfaces, reason = bodies.scoped(stub.surfaces, answer)
    if reason is not None:
        conversion.note(
            stub.file, f"{stub.where}.request", reason, "approximated" if surfaces else "dropped"
        )
    return surfaces


def _add(conversion: Conversion, stub: _Stub, surface: str | None, answer: dict[str, Any]) -> None:
    fixture: dict[str, Any] = {}
    if "name" in stub.extras:
        fixture["name"] = stub.extras["name"]
    fixture["match"] = {**({"surface": surface} if surface else {}), **stub.match}
    fixture.update(answer)
    for key in ("latency", "chaos"):
        if key in stub.extras:
            fixture[key] = stub.extras[key]
    conversion.add(fixture, stub.file, stub.where)
