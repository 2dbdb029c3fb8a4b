"""The OpenAPI document is complete and sound, and a bounded schemathesis run over it against
the real app (WSGI, real database) finds no 5xx and no response outside the document."""

from __future__ import annotations

import re
from typing import Any

import pytest
import responses
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from orderdesk.miniapp_api.openapi import document
from tests.api_support import ApiClient
from tests.api_world import World, build

BASE = "http://wecom.test/cgi-bin"
# Examples per operation: random path values (mostly 404s: crash hunting) and real objects.
RANDOM_EXAMPLES = 3
REAL_EXAMPLES = 5


@pytest.fixture
def world(session: Session) -> World:
    return build(session)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_document_covers_every_route_and_is_sound(app: Flask, client: FlaskClient) -> None:
    res = client.get("/api/v1/openapi.json")
    assert res.status_code == 200
    doc = res.get_json()
    assert doc == document() and doc["openapi"] == "3.1.0"
    routes = {
        (re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, m.upper()) for path, item in doc["paths"].items() for m in item}
    assert routes == documented
    assert len(documented) >= 25
    components = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in components
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op["summary"] and op["operationId"], where
            statuses = set(op["responses"])
            assert any(s.startswith("2") for s in statuses), where
            if op["security"]:
                assert "401" in statuses, where
            if "{" in path:
                assert "404" in statuses, where
            if "requestBody" in op:
                assert {"413", "415", "422"} <= statuses, where
            for status, response in op["responses"].items():
                assert response["description"], where
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, where
            for param in op.get("parameters", []):
                Draft202012Validator.check_schema(param["schema"])


def test_every_error_answer_has_the_error_shape(app: Flask, client: FlaskClient) -> None:
    api = ApiClient(app, client)
    for res in (
        api.get("/me", token=False),
        api.get("/orders/SO-1", token="garbage"),
        api.post("/auth/dev", json={"nope": 1}, token=False),
    ):
        error = res.get_json()["error"]
        assert set(error) == {"code", "message", "fields"}
        assert re.search(r"[\u4e00-\u9fff]", error["message"])


@responses.activate
def test_schemathesis_finds_no_server_errors_or_schema_violations(
    app: Flask, client: FlaskClient, world: World
) -> None:
    # Login codes sent by the fuzzer are refused by (mocked) WeCom like any stale code.
    responses.get(f"{BASE}/gettoken", json={"errcode": 0, "access_token": "AT", "expires_in": 7200})
    responses.get(f"{BASE}/miniprogram/jscode2session", json={"errcode": 40029, "errmsg": "x"})
    responses.get(f"{BASE}/auth/getuserinfo", json={"errcode": 40029, "errmsg": "x"})
    api = ApiClient(app, client)
    token = api.login("gm")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    real = {
        "no": world.o1.number,
        "code": world.project.code,
        "customer_id": world.c1.id,
    }
    ran = 0
    seen: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation in the document must load
        operation = result.ok()
        if operation.path == "/auth/logout":
            continue  # would end the fuzzer's own session; covered in test_api_auth
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in real.items() if k in names}
        strategies = [(operation.as_strategy(), RANDOM_EXAMPLES if fixed else REAL_EXAMPLES)]
        if fixed:
            strategies.append((operation.as_strategy(path_parameters=fixed), REAL_EXAMPLES))
        for strategy, examples in strategies:

            @given(case=strategy)
            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                response = case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"}, checks=checks
                )
                seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

            run()
            ran += 1
    assert ran >= 25
    # The run reached real objects, not only 404s and 422s.
    for key in (
        "GET /orders/{no}",
        "GET /projects/{code}",
        "GET /customers/{customer_id}",
        "GET /orders",
        "GET /me",
        "GET /orders/{no}/payments",
    ):
        assert 200 in seen.get(key, set()), (key, sorted(seen.items()))
