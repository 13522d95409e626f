"""mock-llm configs (dwmkerr/mock-llm, npm `@dwmkerr/mock-llm`): `mock-llm.yaml`.

The file holds `rules` and `streaming` (and `oauth` for its MCP server). A rule has `path` (a
regex searched in the request path), `method`, `match` (a JMESPath expression over
`{body, headers, method, path, query}`), `sequence` (the n-th request to that path) and
`response: {status, content}`, `content` being JSON text with `{{jmes request ...}}` and
`{{timestamp}}` templates. **The last matching rule wins**, so the fixtures are written in
the reverse order.

`match` expressions are read where they say what a fixture can: `@` (anything),
`contains(body.messages[-1].content, 'x')`, `body.messages[-1].content == 'x'`,
`contains(body.model, 'x')`, `body.model == 'x'`, `headers."x" == 'y'`, and `&&` of these.
Any other expression drops its rule (noted), since a fixture without it would answer
requests mock-llm refuses. A content that echoes the request (`{{jmes request ...}}` inside
the answer text) has no fixture equivalent and drops its rule too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aimock.convert import bodies
from aimock.convert.writer import (
    TEMPLATE_MARK,
    Conversion,
    ConvertError,
    first_document,
    templated_answer,
)

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_SENTINEL = TEMPLATE_MARK
_LITERAL = r"(?:'(?P<q{n}>(?:[^'\\]|\\.)*)'|`\"(?P<b{n}>[^\"`]*)\"`)"
_LAST_CONTENT = r"body\.messages\[-1\]\.content"
_TERMS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(rf"^contains\({_LAST_CONTENT},\s*{_LITERAL.format(n=0)}\)$"),
        "userMessage",
        "contains",
    ),
    (re.compile(rf"^{_LAST_CONTENT}\s*==\s*{_LITERAL.format(n=0)}$"), "userMessage", "equals"),
    (re.compile(rf"^contains\(body\.model,\s*{_LITERAL.format(n=0)}\)$"), "model", "contains"),
    (re.compile(rf"^body\.model\s*==\s*{_LITERAL.format(n=0)}$"), "model", "equals"),
]
_HEADER = re.compile(
    rf"^headers\.(?:\"(?P<quoted>[^\"]+)\"|(?P<bare>[A-Za-z_][\w]*))\s*==\s*{_LITERAL.format(n=0)}$"
)


def looks_like(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("rules"), list)


def convert(path: Path) -> list[Conversion]:
    file = str(path)
    if path.is_dir():
        candidates = [path / "mock-llm.yaml", path / "mock-llm.yml"]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise ConvertError(file, "", "no mock-llm.yaml in this folder")
        path, file = found[0], str(found[0])
    data = first_document(path)
    if not isinstance(data, dict):
        raise ConvertError(file, "", "expected a mock-llm config (a mapping with `rules`)")
    conversion = Conversion("mockllm", file)
    rules = data.get("rules")
    if rules is None:
        conversion.note(
            file,
            "$.rules",
            "no rules: mock-llm serves its default echo rule, which no fixture can say",
        )
        rules = []
    if not isinstance(rules, list):
        raise ConvertError(file, "rules", "expected a list of rules")
    chunk_size = _streaming(data.get("streaming"), file, conversion)
    for key in data:
        if key not in ("rules", "streaming"):
            conversion.note(
                file,
                f"$.{key}",
                "not converted (mock-llm's MCP/OAuth emulation has no aimock counterpart)",
            )
    # Last match wins in mock-llm, first in aimock.
    for index in reversed(range(len(rules))):
        fixtures = _rule(rules[index], file, f"$.rules[{index}]", conversion)
        for fixture in fixtures:
            if chunk_size is not None:
                fixture["chunkSize"] = chunk_size
            conversion.add(fixture, file, f"$.rules[{index}]")
    return [conversion]


def _streaming(streaming: Any, file: str, conversion: Conversion) -> int | None:
    if streaming is None:
        return None
    if not isinstance(streaming, dict):
        conversion.note(file, "$.streaming", "not a mapping")
        return None
    size = streaming.get("chunkSize")
    if "chunkIntervalMs" in streaming:
        conversion.note(
            file,
            "$.streaming.chunkIntervalMs",
            "not carried: aimock streams at once unless a fixture sets latency or streamingProfile",
            "approximated",
        )
    if isinstance(size, int) and not isinstance(size, bool) and size >= 1:
        return size
    if size is not None:
        conversion.note(file, "$.streaming.chunkSize", f"not a positive integer: {size!r}")
    return None


def _rule(rule: Any, file: str, where: str, conversion: Conversion) -> list[dict[str, Any]]:
    if not isinstance(rule, dict):
        conversion.note(file, where, "not a rule (a mapping)")
        return []
    path = rule.get("path")
    if not isinstance(path, str):
        conversion.note(file, f"{where}.path", "missing: mock-llm requires it")
        return []
    method = str(rule.get("method") or "POST").upper()
    if method != "POST":
        conversion.note(
            file,
            f"{where}.method",
            f"a {method} rule: aimock answers the routes "
            "it serves itself (model lists need no "
            "fixture)",
        )
        return []
    surfaces = bodies.surfaces_for_pattern(path, search=True)
    if surfaces is None:
        conversion.note(file, f"{where}.path", f"not a regex aimock can read: {path!r}")
        return []
    if not surfaces:
        conversion.note(file, f"{where}.path", f"{path!r} is no AI surface aimock serves")
        return []
    match = _match(rule.get("match"), file, f"{where}.match", conversion)
    if match is None:
        return []
    sequence = rule.get("sequence")
    if sequence is not None:
        if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
            conversion.note(file, f"{where}.sequence", f"not a request number: {sequence!r}")
            return []
        match["sequenceIndex"] = sequence
        conversion.note(
            file,
            f"{where}.sequence",
            "carried as sequenceIndex: counted per fixture group and X-Test-Id, not per path",
            "approximated",
        )
    answer = _answer(rule.get("response"), file, f"{where}.response", conversion)
    if answer is None:
        return []
    scoped, reason = bodies.scoped(surfaces, answer)
    if reason is not None:
        conversion.note(file, f"{where}.path", reason, "approximated" if scoped else "dropped")
    return [
        {"match": {**({"surface": surface} if surface else {}), **match}, "response": answer}
        for surface in scoped
    ]


def _match(expression: Any, file: str, where: str, conversion: Conversion) -> dict[str, Any] | None:
    if expression is None:
        return {}
    if not isinstance(expression, str):
        conversion.note(file, where, "not a JMESPath expression")
        return None
    text = expression.strip()
    if text in ("@", ""):
        return {}
    match: dict[str, Any] = {}
    for term in (t.strip() for t in text.split("&&")):
        if not _term(term, match):
            conversion.note(
                file,
                where,
                f"JMESPath {term!r} is not one aimock can read; the "
                "rule is not converted (its fixture would answer "
                "requests mock-llm refuses)",
            )
            return None
    if "userMessage" in match:
        conversion.note(
            file,
            where,
            "messages[-1] is read as the last user message (they differ after a tool result)",
            "approximated",
        )
    return match


def _unquote(found: re.Match[str]) -> str:
    if found["q0"] is not None:
        return re.sub(r"\\(.)", r"\1", found["q0"])
    return str(found["b0"])


def _term(term: str, match: dict[str, Any]) -> bool:
    while term.startswith("(") and term.endswith(")"):
        term = term[1:-1].strip()
    for pattern, key, operator in _TERMS:
        found = pattern.match(term)
        if found:
            if key in match:
                return False
            match[key] = {operator: _unquote(found)}
            return True
    found = _HEADER.match(term)
    if found:
        name = (found["quoted"] or found["bare"]).lower()
        match.setdefault("headers", {})[name] = {"equals": _unquote(found)}
        return True
    return False


def _answer(response: Any, file: str, where: str, conversion: Conversion) -> dict[str, Any] | None:
    if not isinstance(response, dict):
        conversion.note(file, where, "missing")
        return None
    status = response.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        conversion.note(file, f"{where}.status", f"not an HTTP status: {status!r}")
        return None
    content = response.get("content")
    if isinstance(content, dict | list):  # a YAML mapping instead of JSON text
        import orjson

        content = orjson.dumps(content).decode()
    if not isinstance(content, str):
        conversion.note(file, f"{where}.content", "missing: mock-llm answers with JSON text")
        return None
    # Templates inside JSON strings stand for text only the request knows: mark them, read
    # the JSON, then see where they landed.
    templated = _TEMPLATE.sub(
        lambda m: _SENTINEL + m.group(1).replace('"', "'") + _SENTINEL, content
    )
    body = bodies.parse_body(templated)
    if body is None:
        # A template outside a string (`"message": {{jmes request body.messages[0]}}`).
        conversion.note(file, f"{where}.content", "not JSON once its templates are set aside")
        return None
    return templated_answer(
        conversion,
        file,
        f"{where}.content",
        bodies.decode(body, status),
        f"echoes the request ({_templates(content)})",
    )


def _templates(content: str) -> str:
    return ", ".join(sorted({"{{" + m.group(1) + "}}" for m in _TEMPLATE.finditer(content)}))
