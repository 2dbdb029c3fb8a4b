"""Helpers for the mini-app API tests: seed people, log in, and a client that checks every
response against the OpenAPI document the API publishes."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from orderdesk.miniapp_api.openapi import document
from orderdesk.miniapp_api.registry import REGISTRY
from orderdesk.models import Department, Staff


def add_staff(
    session: Session,
    userid: str,
    *roles: str,
    name: str | None = None,
    department: Department | None = None,
    manager: Staff | None = None,
    active: bool = True,
) -> Staff:
    staff = Staff(
        userid=userid,
        name=name or userid,
        department=department,
        manager=manager,
        active=active,
    )
    for role in roles:
        staff.add_role(role)
    session.add(staff)
    session.flush()
    return staff


class ApiClient:
    """Calls /api/v1 and asserts each answer is one the document promises (status + schema)."""

    _logins = 0

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self.doc = document()
        self.by_name = {op.name: op for op in REGISTRY}
        self.token: str | None = None

    def login(self, userid: str) -> str:
        # Each test login comes from its own loopback address (dev login answers only loopback)
        # so the per-IP login limit stays out of the way.
        ApiClient._logins += 1
        n = ApiClient._logins
        res = self.call(
            "POST",
            "/auth/dev",
            json={"userid": userid},
            token=False,
            environ_base={"REMOTE_ADDR": f"127.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"},
        )
        assert res.status_code == 200, res.get_json()
        token: str = res.get_json()["token"]
        self.token = token
        return token

    def as_(self, token: str | None) -> ApiClient:
        other = ApiClient.__new__(ApiClient)
        other.__dict__.update(self.__dict__)
        other.token = token
        return other

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | bool | None = True,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        all_headers = dict(headers or {})
        bearer = self.token if token is True else token
        if bearer:
            all_headers.setdefault("Authorization", f"Bearer {bearer}")
        res = self.client.open(f"/api/v1{path}", method=method, headers=all_headers, **kwargs)
        self.check(method, path, res)
        return res

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, **kwargs)

    def check(self, method: str, path: str, res: TestResponse) -> None:
        adapter = self.app.url_map.bind("localhost")
        endpoint, _ = adapter.match(f"/api/v1{path.split('?')[0]}", method=method)
        op = self.by_name[endpoint.split(".", 1)[1]]
        spec = self.doc["paths"][op.openapi_path][method.lower()]
        status = str(res.status_code)
        assert status in spec["responses"], f"{method} {path}: undocumented status {status}"
        content = spec["responses"][status].get("content")
        if content is None:
            assert not res.data, f"{method} {path}: {status} should have no body"
            return
        if res.mimetype != "application/json":
            # A file download: its media type must be one the document lists.
            assert res.mimetype in content, f"{method} {path}: undocumented {res.mimetype}"
            return
        schema = content["application/json"]["schema"]
        validator = Draft202012Validator({**schema, "components": self.doc["components"]})
        errors = [e.message for e in validator.iter_errors(res.get_json())]
        assert not errors, f"{method} {path} {status}: {errors[:3]} in {res.get_json()}"
