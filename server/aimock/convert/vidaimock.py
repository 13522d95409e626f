"""VidaiMock configs (vidaiUK/VidaiMock): a config folder of `providers/*.yaml` and
`templates/**`, beside an optional `mock-server.toml`.

A provider is `name`, `matcher` (a regex searched in the request path), `priority` (higher
first), `response_template` (a Tera template under `templates/`) or `response_body` (inline),
`status_code` ("200", or a Tera expression), `error_template` (rendered for a status >= 400),
`stream` and `request_mapping`. Each provider becomes fixtures for the surfaces its matcher
reaches, answering what its template renders:

- a template that is one `{% if %}...{% elif %}...{% else %}...{% endif %}` chain becomes one
  fixture per branch, in order, when the branch's condition reads as match fields:
  `has_tool_result(...)` -> `hasToolResult`, a test on the model, the last message
  `is containing("x")` -> `userMessage`; `has_tools` (the request offers tools) becomes the
  `toolName` of the branch's own tool call;
- `{{ ... }}` in ids, clocks and usage is left to aimock; in the answer's text (an echo of
  the request) it drops the branch, and so does a condition that cannot be read. Each is
  noted with its file and branch.

Not carried: the stream lifecycle templates (aimock streams every answer in the provider's
own events), `mock-server.toml` (port, latency modes, tenancy), VidaiMock's bundled
providers and templates (only what the folder holds is converted).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
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

_SENTINEL = TEMPLATE_MARK
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_TAG = re.compile(r"\{%-?\s*(.*?)\s*-?%\}", re.S)
_EXPR = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_CONTAINING = re.compile(
    r"^(?P<lhs>.*?)\s+is\s+containing\(\s*(?:'(?P<q>[^']*)'|\"(?P<d>[^\"]*)\")\s*\)$"
)
_MODEL = re.compile(r"^(?:json\.)?model\s*==\s*(?:'(?P<q>[^']*)'|\"(?P<d>[^\"]*)\")$")
PROVIDER_KEYS = {
    "name",
    "matcher",
    "request_mapping",
    "response_template",
    "response_body",
    "stream",
    "status_code",
    "error_template",
    "priority",
}


def looks_like(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("matcher"), str)
        and bool({"response_template", "response_body"} & set(data))
    )


def is_config_dir(path: Path) -> bool:
    return path.is_dir() and (path / "providers").is_dir()


@dataclass
class _Provider:
    file: str
    data: dict[str, Any]
    priority: int
    order: int


def convert(path: Path) -> list[Conversion]:
    if path.is_dir():
        root = path
        files = sorted((path / "providers").glob("*.yaml")) + sorted(
            (path / "providers").glob("*.yml")
        )
        if not files:
            raise ConvertError(str(path), "providers", "no provider YAML files in this folder")
    else:
        root, files = path.parent.parent, [path]
    conversion = Conversion("vidaimock", str(path))
    _settings(root, conversion)
    providers: list[_Provider] = []
    for order, file in enumerate(files):
        data = first_document(file)
        if not isinstance(data, dict):
            raise ConvertError(str(file), "", "expected a VidaiMock provider (a mapping)")
        priority = data.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool):
            conversion.note(
                str(file), "$.priority", f"not an integer: {priority!r}; 0 is used", "approximated"
            )
            priority = 0
        providers.append(_Provider(str(file), data, priority, order))
    # Higher priority first; a stable sort keeps the load order among equals.
    providers.sort(key=lambda p: -p.priority)
    for provider in providers:
        _provider(provider, root, conversion)
    conversion.note(
        str(path),
        "$",
        "VidaiMock's bundled providers (served beside these unless "
        "--isolated) are not converted: aimock answers only these "
        "fixtures",
        "approximated",
    )
    return [conversion]


def _settings(root: Path, conversion: Conversion) -> None:
    toml = root / "mock-server.toml"
    if not toml.is_file():
        toml = root.parent / "mock-server.toml"
    if toml.is_file():
        try:
            settings = tomllib.loads(toml.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            conversion.note(str(toml), "$", f"cannot read: {exc}")
            return
        for key in settings:
            conversion.note(
                str(toml),
                f"$.{key}",
                "a server setting VidaiMock's own: not carried (aimock's are `aimock serve` flags)",
            )
    if (root / "tenants").is_dir():
        conversion.note(
            str(root / "tenants"),
            "$",
            "tenants are not converted: scope fixtures with match.headers or X-AIMock-Context",
        )


def _provider(provider: _Provider, root: Path, conversion: Conversion) -> None:
    data, file = provider.data, provider.file
    for key in data:
        if key not in PROVIDER_KEYS:
            conversion.note(file, f"$.{key}", "not a VidaiMock provider field: ignored")
    matcher = data.get("matcher")
    if not isinstance(matcher, str):
        conversion.note(file, "$.matcher", "missing: VidaiMock requires it")
        return
    surfaces = bodies.surfaces_for_pattern(matcher, search=True)
    if surfaces is None:
        conversion.note(file, "$.matcher", f"not a regex aimock can read: {matcher!r}")
        return
    if not surfaces:
        conversion.note(file, "$.matcher", f"{matcher!r} is no AI surface aimock serves")
        return
    status = _status(data.get("status_code"), file, conversion)
    if status is None:
        return
    error = "error_template" if status >= 400 and "error_template" in data else None
    template, note_file, where = _template(data, error, root, file, conversion)
    if template is None:
        return
    stream = data.get("stream")
    if isinstance(stream, dict) and stream.get("enabled"):
        conversion.note(
            file,
            "$.stream",
            "its lifecycle templates are not carried: aimock "
            "streams each answer in the provider's own events",
            "approximated",
        )
    if data.get("request_mapping"):
        conversion.note(
            file, "$.request_mapping", "feeds its templates only: not carried", "approximated"
        )
    dropped_before = False
    for index, (condition, body) in enumerate(_branches(template)):
        at = (f"{where}{{% if %}} branch {index}" if condition is not None else where).strip()
        match = _condition(condition, note_file, at, conversion)
        answer = None if match is None else _answer(body, status, note_file, at, conversion)
        if match is None or answer is None:
            dropped_before = True
            continue
        if match.pop("__tools__", False):
            names = [c.get("name") for c in answer.get("toolCalls", [])]
            if not names and match.get("hasToolResult") is True:
                conversion.note(
                    note_file,
                    at,
                    "`has_tools` is not matched: a request holding a "
                    "tool result is taken to offer tools",
                    "approximated",
                )
            elif not names or not isinstance(names[0], str):
                conversion.note(
                    note_file,
                    at,
                    "`has_tools` (the request offers tools) has no "
                    "match field, and the branch names no tool: "
                    "not converted",
                )
                dropped_before = True
                continue
            else:
                match["toolName"] = names[0]
                conversion.note(
                    note_file,
                    at,
                    f"`has_tools` read as: the request offers {names[0]}",
                    "approximated",
                )
        if dropped_before:
            conversion.note(
                note_file,
                at,
                "an earlier branch was not converted: this one also answers its requests",
                "approximated",
            )
        scoped, reason = bodies.scoped(surfaces, answer)
        if reason is not None:
            conversion.note(file, "$.matcher", reason, "approximated" if scoped else "dropped")
        for surface in scoped:
            scope = {"surface": surface} if surface else {}
            conversion.add({"match": {**scope, **match}, "response": answer}, note_file, at)


def _status(raw: Any, file: str, conversion: Conversion) -> int | None:
    if raw is None:
        return 200
    text = str(raw).strip()
    if text.isdigit() and 100 <= int(text) <= 599:
        return int(text)
    conversion.note(
        file,
        "$.status_code",
        f"a status decided per request ({text!r}) is not carried: the provider is not converted",
    )
    return None


def _template(
    data: dict[str, Any], key: str | None, root: Path, file: str, conversion: Conversion
) -> tuple[str | None, str, str]:
    """The template's text, the file notes on it name, and where in that file it is."""
    if key is None and isinstance(data.get("response_body"), str):
        return data["response_body"], file, "$.response_body "  # then the branch
    key = key or "response_template"
    name = data.get(key)
    if not isinstance(name, str):
        conversion.note(file, f"$.{key}", "missing: no answer to convert")
        return None, file, ""
    relative = name.removeprefix("config/templates/")
    target = root / "templates" / relative
    try:
        resolved = target.resolve()
        if not resolved.is_relative_to((root / "templates").resolve()):
            raise OSError("outside templates/")
        return resolved.read_text("utf-8"), str(target), "$ "
    except (OSError, UnicodeDecodeError, ValueError):
        conversion.note(
            file,
            f"$.{key}",
            f"{name} is not in this folder (a VidaiMock bundled "
            "template?): its answers are not converted",
        )
        return None, file, ""


def _branches(template: str) -> list[tuple[str | None, str]]:
    """The template as (condition, body) branches: one when it is no single if-chain."""
    text = _COMMENT.sub("", template)
    text = _TAG.sub(lambda m: "" if m.group(1).startswith("set ") else m.group(0), text).strip()
    tags = list(_TAG.finditer(text))
    if not tags or not tags[0].group(1).startswith("if ") or tags[0].start() != 0:
        return [(None, text)]
    branches: list[tuple[str | None, str]] = []
    depth, condition, start = 0, None, 0
    for tag in tags:
        words = tag.group(1)
        if words.startswith("if "):
            depth += 1
            if depth == 1:
                condition, start = words[3:].strip(), tag.end()
                continue
        elif words == "endif":
            depth -= 1
            if depth == 0:
                branches.append((condition, text[start : tag.start()]))
                if text[tag.end() :].strip():
                    return [(None, text)]
                return branches
        elif depth == 1 and (words.startswith("elif ") or words == "else"):
            branches.append((condition, text[start : tag.start()]))
            condition = words[5:].strip() if words.startswith("elif ") else ""
            start = tag.end()
    return [(None, text)]


def _condition(
    condition: str | None, file: str, where: str, conversion: Conversion
) -> dict[str, Any] | None:
    """A branch condition as match fields (`""` is else); None (noted) when unreadable."""
    match: dict[str, Any] = {}
    if not condition:
        return match
    for raw in re.split(r"\s+and\s+", condition.strip()):
        term = _unwrap(raw.strip())
        negated = term.startswith("not ")
        core = term[4:].strip() if negated else term
        if core.startswith("has_tool_result("):
            match["hasToolResult"] = not negated
        elif core in ("has_tools", "json.tools", "json.tools is defined") and not negated:
            match["__tools__"] = True
        elif not negated and (found := _MODEL.match(core)):
            match["model"] = {"equals": found["q"] if found["q"] is not None else found["d"]}
        elif (
            not negated
            and (found := _CONTAINING.match(core))
            and ("message" in found["lhs"] or "content" in found["lhs"] or "prompt" in found["lhs"])
        ):
            text = found["q"] if found["q"] is not None else found["d"]
            spec: dict[str, Any] = {"contains": text}
            if "lower" in found["lhs"] or "upper" in found["lhs"]:
                spec["ignoreCase"] = True
            match["userMessage"] = spec
        else:
            conversion.note(
                file,
                where,
                f"condition {term!r} is not one aimock can read: the branch is not converted",
            )
            return None
    return match


def _unwrap(term: str) -> str:
    """`(x)` -> `x`, when the outer parentheses enclose the whole term."""
    while term.startswith("(") and term.endswith(")"):
        depth = 0
        for index, char in enumerate(term):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(term) - 1:
                return term
        term = term[1:-1].strip()
    return term


def _answer(
    body: str, status: int, file: str, where: str, conversion: Conversion
) -> dict[str, Any] | None:
    if _TAG.search(body):
        conversion.note(
            file, where, "logic inside the answer ({% ... %}) decides it per request: not converted"
        )
        return None
    marked = _mark(body)
    parsed = bodies.parse_body(marked)
    if parsed is None:
        conversion.note(file, where, "not JSON once its {{ ... }} are set aside")
        return None
    return templated_answer(
        conversion, file, where, bodies.decode(parsed, status), "is rendered from the request"
    )


def _mark(body: str) -> str:
    """Every `{{ ... }}` as a marker JSON can hold: inside a string as text, outside as a
    string of its own."""
    out: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(body):
        if body.startswith("{{", index):
            end = body.find("}}", index + 2)
            if end < 0:
                out.append(body[index:])
                break
            marker = _SENTINEL + body[index + 2 : end].strip().replace('"', "'").replace("\\", "")
            out.append(marker if in_string else f'"{marker}"')
            index = end + 2
            continue
        char = body[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        out.append(char)
        index += 1
    return "".join(out)
