"""The CRDs in crds/ and the chart are generated from the models, structural, and complete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from aimock.models.stack import StackSpec
from aimock_operator.crd import generate, schema
from aimock_operator.crd.v1alpha1 import CATEGORY, GROUP, KINDS, VERSION

ROOT = Path(__file__).resolve().parents[2]
PRESERVE = "x-kubernetes-preserve-unknown-fields"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def _crds() -> dict[str, dict[str, Any]]:
    return {kind.kind: generate.crd(kind) for kind in KINDS}


def _version(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = crd["spec"]["versions"]
    return version


def _root_schema(kind: str) -> dict[str, Any]:
    root: dict[str, Any] = _version(_crds()[kind])["schema"]["openAPIV3Schema"]
    return root


def _nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with a readable path."""
    yield path or "<root>", node
    for name, child in node.get("properties", {}).items():
        yield from _nodes(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _nodes(node["additionalProperties"], f"{path}.*")
    if "items" in node:
        yield from _nodes(node["items"], f"{path}[]")


# --- the files are what the generator makes ------------------------------------------------------


def test_committed_files_match_the_models() -> None:
    assert generate.drift(ROOT) == [], (
        "run `make generate` (python -m aimock_operator.crd.generate)"
    )


def test_check_mode_fails_on_missing_changed_and_stale_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    assert "crds/fixtures.aimock.dev.yaml: missing" in capsys.readouterr().err

    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.main(["--check", "--root", str(tmp_path)]) == 0

    edited = tmp_path / "charts/aimock/templates/crds/mockstacks.aimock.dev.yaml"
    edited.write_text(edited.read_text().replace("shortNames:", "shortNamez:"))
    (tmp_path / "crds/widgets.aimock.dev.yaml").write_text("kind: CustomResourceDefinition\n")
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "charts/aimock/templates/crds/mockstacks.aimock.dev.yaml: differs" in err
    assert "+    shortNames:" in err
    assert "crds/widgets.aimock.dev.yaml: stale" in err


def test_output_is_deterministic() -> None:
    assert generate.rendered() == generate.rendered()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_files_carry_the_header_and_the_chart_copy_is_kept_on_uninstall(kind: Any) -> None:
    name = f"{kind.plural}.{GROUP}.yaml"
    plain = (ROOT / "crds" / name).read_text(encoding="utf-8")
    chart = (ROOT / "charts/aimock/templates/crds" / name).read_text(encoding="utf-8")
    assert plain.startswith(generate.HEADER)
    assert chart.startswith(generate.HEADER)
    assert "{{" not in plain.replace("{{", "")  # nothing for Helm to trip on
    chart_doc = yaml.safe_load(chart)
    assert chart_doc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    assert {**chart_doc, "metadata": {"name": chart_doc["metadata"]["name"]}} == yaml.safe_load(
        plain
    )


def test_chart_copy_escapes_template_braces() -> None:
    text = generate.chart_copy({"metadata": {"name": "x"}, "description": "a {{ b }} c"})
    assert '{{ "{{" }} b }}' in text
    assert "{{ b" not in text


# --- names, columns, subresources ----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_names_scope_and_version(kind: Any) -> None:
    crd = _crds()[kind.kind]
    assert crd["metadata"]["name"] == f"{kind.plural}.aimock.dev"
    spec = crd["spec"]
    assert spec["group"] == GROUP == "aimock.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": kind.kind,
        "listKind": f"{kind.kind}List",
        "plural": kind.plural,
        "singular": kind.singular,
        "shortNames": list(kind.short_names),
        "categories": [CATEGORY],
    }
    version = _version(crd)
    assert (version["name"], version["served"], version["storage"]) == (VERSION, True, True)
    assert version["subresources"]["status"] == {}


def test_short_names_and_category() -> None:
    names = {kind: crd["spec"]["names"] for kind, crd in _crds().items()}
    assert names["MockStack"]["shortNames"] == ["ms", "mock"]
    assert names["Fixture"]["shortNames"] == ["fx"]
    assert names["ChaosPolicy"]["shortNames"] == ["chaos"]
    assert all(n["categories"] == ["aimock"] for n in names.values())


def test_printer_columns() -> None:
    columns = {kind: _version(crd)["additionalPrinterColumns"] for kind, crd in _crds().items()}
    assert [c["name"] for c in columns["MockStack"]] == [
        "Ready",
        "Replicas",
        "Served",
        "Fixtures",
        "Endpoint",
        "Drift",
        "Token-Secret",
        "Age",
    ]
    drift, token = columns["MockStack"][5:7]
    assert (drift["jsonPath"], drift["priority"]) == (".status.drift.verdict", 1)  # -o wide
    assert (token["jsonPath"], token["priority"]) == (".status.adminTokenSecret", 1)
    ready = columns["MockStack"][0]
    assert ready["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert [c["name"] for c in columns["Fixture"]] == ["Accepted", "Fixtures", "Priority", "Age"]
    assert [c["name"] for c in columns["ChaosPolicy"]] == ["Phase", "Drop", "Expires", "Age"]
    for kind_columns in columns.values():
        assert kind_columns[-1] == {
            "name": "Age",
            "type": "date",
            "jsonPath": ".metadata.creationTimestamp",
        }


def test_mockstack_scales_through_the_scale_subresource() -> None:
    assert _version(_crds()["MockStack"])["subresources"]["scale"] == {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
    }
    assert "scale" not in _version(_crds()["Fixture"])["subresources"]


def test_spec_is_required_where_the_manifest_requires_it() -> None:
    assert _root_schema("Fixture")["required"] == ["spec"]
    assert _root_schema("ChaosPolicy")["required"] == ["spec"]
    assert "required" not in _root_schema("MockStack")  # every MockStack field has a default
    assert _root_schema("Fixture")["properties"]["spec"]["required"] == ["fixtures"]
    assert _root_schema("Fixture")["properties"]["spec"]["properties"]["fixtures"]["minItems"] == 1


# --- structural schema rules ---------------------------------------------------------------------

_FORBIDDEN_KEYS = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title", "const", "nullable"}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_node_is_structural(kind: Any) -> None:
    for path, node in _nodes(_root_schema(kind.kind)):
        assert not _FORBIDDEN_KEYS & set(node), (path, sorted(_FORBIDDEN_KEYS & set(node)))
        assert node.get("type") or node.get(PRESERVE) is True, f"{path}: no type"
        if "properties" in node:
            assert node["type"] == "object", path
            assert "additionalProperties" not in node, path
        if "additionalProperties" in node:
            assert isinstance(node["additionalProperties"], dict), path
        if node.get("type") == "object" and path != ".metadata":  # metadata: the apiserver's
            assert "properties" in node or "additionalProperties" in node or node.get(PRESERVE), (
                f"{path}: an object that says nothing of its fields would be pruned empty"
            )
        if node.get("type") == "array":
            assert isinstance(node.get("items"), dict), path
        else:
            assert "items" not in node, path
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if key in node:
                assert node[key] is True, f"{path}: {key} must be a boolean in OpenAPI v3.0"
        if "enum" in node:
            assert node["type"] == "string", path


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_defaults_are_scalars_valid_for_their_node(kind: Any) -> None:
    checks = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}
    for path, node in _nodes(_root_schema(kind.kind)):
        if "default" not in node:
            continue
        value = node["default"]
        assert isinstance(value, checks[node["type"]]), path
        assert value in node.get("enum", [value]), path
        assert node.get("minimum", value) <= value <= node.get("maximum", value), path


def test_conditions_are_a_map_keyed_by_type() -> None:
    for kind in KINDS:
        conditions = _root_schema(kind.kind)["properties"]["status"]["properties"]["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert "type" in conditions["items"]["required"]


def test_numeric_bounds_translate_exclusive_minimums() -> None:
    fixture = _root_schema("Fixture")["properties"]["spec"]["properties"]["fixtures"]["items"]
    assert fixture["properties"]["chunkSize"] == {
        "type": "integer",
        "minimum": 1,
        "description": "Characters per streamed slice.",
    }
    replay = fixture["properties"]["replaySpeed"]
    assert (replay["minimum"], replay["exclusiveMinimum"]) == (0, True)
    rates = _root_schema("ChaosPolicy")["properties"]["spec"]["properties"]["dropRate"]
    assert (rates["minimum"], rates["maximum"], rates["default"]) == (0, 1, 0.0)


def test_string_or_object_fields_are_left_to_the_fixture_model() -> None:
    fixture = _root_schema("Fixture")["properties"]["spec"]["properties"]["fixtures"]["items"]
    match = fixture["properties"]["match"]["properties"]
    for name in ("userMessage", "inputText", "model", "systemMessage"):
        assert match[name][PRESERVE] is True, name
        assert "type" not in match[name], name
    assert "contains, equals, regex, ignoreCase" in match["userMessage"]["description"]
    profile = fixture["properties"]["streamingProfile"]
    assert "type" not in profile
    assert "instant, fast, reasoning, overloaded" in profile["description"]
    response = fixture["properties"]["response"]["properties"]
    assert "type" not in response["content"]
    assert "type" not in response["toolCalls"]["items"]["properties"]["arguments"]
    usage = response["usage"]
    assert (usage["type"], usage[PRESERVE]) == ("object", True)  # prompt_tokens etc. survive


def test_a_new_widening_validator_in_the_model_fails_generation() -> None:
    from pydantic import model_validator

    class Loose(BaseModel):
        value: int = 0

        @model_validator(mode="before")
        @classmethod
        def _number_is_value(cls, data: Any) -> Any:
            return {"value": data} if isinstance(data, int) else data

    class Holder(BaseModel):
        loose: Loose

    with pytest.raises(schema.SchemaError, match="Loose"):
        schema.structural_schema(Holder)
    assert list(schema.widening_validators(Holder)) == [("Loose", None)]


def test_two_models_with_one_name_fail_generation() -> None:
    def make_match(kind: type) -> type[BaseModel]:
        class TextMatch(BaseModel):  # the fixture model has a TextMatch too
            value: kind  # type: ignore[valid-type]

        return TextMatch

    first, second = make_match(str), make_match(int)

    class Holder(BaseModel):
        a: first  # type: ignore[valid-type]
        b: second  # type: ignore[valid-type]

    with pytest.raises(schema.SchemaError, match="two models named TextMatch"):
        schema.structural_schema(Holder)


def test_unsupported_json_schema_keys_fail_generation() -> None:
    class Unique(BaseModel):
        tags: set[str]

    with pytest.raises(schema.SchemaError, match="uniqueItems"):
        schema.structural_schema(Unique)


# --- CEL rules -----------------------------------------------------------------------------------


def test_fixture_items_carry_the_answer_rules() -> None:
    for kind in ("Fixture", "MockStack"):
        fixtures = _root_schema(kind)["properties"]["spec"]["properties"]["fixtures"]
        rules = fixtures["items"]["x-kubernetes-validations"]
        assert {r["rule"] for r in rules} >= {
            "has(self.response) || has(self.sequence)",
            "!(has(self.response) && has(self.sequence))",
        }
        response = fixtures["items"]["properties"]["response"]
        sequence_item = fixtures["items"]["properties"]["sequence"]["items"]
        assert response["x-kubernetes-validations"] == sequence_item["x-kubernetes-validations"]


# --- descriptions (kubectl explain) --------------------------------------------------------------


# Fields of the server's models that have no description yet (aimock/fixtures/model.py).
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_every_spec_and_status_field_is_described(kind: Any) -> None:
    root = _root_schema(kind.kind)
    assert root["description"]
    for part in ("spec", "status"):
        node = root["properties"][part]
        assert node["description"], part
        for name, child in node["properties"].items():
            assert child.get("description"), f"{part}.{name}"


def test_every_nested_field_is_described() -> None:
    undescribed = set()
    for kind in KINDS:
        for path, node in _nodes(_root_schema(kind.kind)):
            if node.get("description") or path.endswith(("[]", ".*")):
                continue
            undescribed.add(path.rsplit(".", 1)[-1])
    assert undescribed == {"metadata"}


# --- the schema accepts what the loader accepts --------------------------------------------------


def _openapi_errors(value: Any, node: dict[str, Any], path: str = "") -> list[str]:
    """A small OpenAPI v3 check of the parts CRD schemas use: type, enum, bounds, required,
    and fields the apiserver would prune (silently lost data is an error here too)."""
    if node.get(PRESERVE) and "type" not in node:
        return []
    kind = node["type"]
    types = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    if not isinstance(value, types[kind]) or (kind in ("integer", "number") and value is True):
        return [f"{path}: expected {kind}, got {value!r}"]
    errors = []
    if "enum" in node and value not in node["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if "minimum" in node and value < node["minimum"]:
        errors.append(f"{path}: below minimum")
    if "maximum" in node and value > node["maximum"]:
        errors.append(f"{path}: above maximum")
    if kind == "array":
        for index, item in enumerate(value):
            errors += _openapi_errors(item, node["items"], f"{path}[{index}]")
    if kind == "object":
        errors += [
            f"{path}.{name}: required" for name in node.get("required", ()) if name not in value
        ]
        properties = node.get("properties", {})
        for name, item in value.items():
            if item is None:
                continue  # pruned as "absent", which is what None means in the models
            if name in properties:
                errors += _openapi_errors(item, properties[name], f"{path}.{name}")
            elif "additionalProperties" in node:
                errors += _openapi_errors(item, node["additionalProperties"], f"{path}.{name}")
            elif not node.get(PRESERVE):
                errors.append(f"{path}.{name}: would be pruned")
    return errors


def _fixture_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every fixture the repository ships, raw as written: (where, fixture)."""
    files = [
        *sorted((ROOT / "examples").rglob("*.yaml")),
        *sorted((ROOT / "examples").rglob("*.json")),
        *sorted((ROOT / "tests/sdk/fixtures").glob("*.yaml")),
        ROOT / "server/aimock/defaults/default.yaml",
    ]
    for file in files:
        text = file.read_text(encoding="utf-8")
        documents = [json.loads(text)] if file.suffix == ".json" else yaml.safe_load_all(text)
        for document in documents:
            if isinstance(document, dict) and "spec" in document:
                fixtures = document["spec"].get("fixtures", [])
            elif isinstance(document, dict):
                fixtures = document.get("fixtures", [])
            else:
                fixtures = document or []
            for index, fixture in enumerate(fixtures):
                yield f"{file.relative_to(ROOT)}[{index}]", fixture


def test_every_shipped_fixture_fits_the_fixture_schema_without_losing_fields() -> None:
    items = _root_schema("Fixture")["properties"]["spec"]["properties"]["fixtures"]["items"]
    checked = 0
    for where, fixture in _fixture_documents():
        assert _openapi_errors(fixture, items) == [], where
        checked += 1
    assert checked > 30


def test_the_example_manifests_fit_their_schemas() -> None:
    documents = list(yaml.safe_load_all((ROOT / "examples/mockstack.yaml").read_text()))
    assert {d["kind"] for d in documents} == {"MockStack", "Fixture", "ChaosPolicy"}
    for document in documents:
        root = _root_schema(document["kind"])
        assert _openapi_errors(document["spec"], root["properties"]["spec"], "spec") == []


def test_the_schema_check_catches_what_pruning_would_drop() -> None:
    spec = _root_schema("MockStack")["properties"]["spec"]
    assert _openapi_errors({"replicas": "two", "bogus": 1}, spec) == [
        ".replicas: expected integer, got 'two'",
        ".bogus: would be pruned",
    ]
    with pytest.raises(ValidationError):
        StackSpec.model_validate({"bogus": 1})  # the model refuses what the schema would prune


def test_the_docs_name_every_spec_field_and_status_field() -> None:
    docs = (ROOT / "docs/crds.md").read_text(encoding="utf-8")
    for kind in KINDS:
        root = _root_schema(kind.kind)
        for part in ("spec", "status"):
            for name in root["properties"][part]["properties"]:
                assert f"`{name}`" in docs, (
                    f"docs/crds.md does not mention {kind.kind}.{part}.{name}"
                )
