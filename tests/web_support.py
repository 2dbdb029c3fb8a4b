"""Helpers for the H5 page tests: log in through the real login form, read CSRF tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def web_login(client: FlaskClient, userid: str, next_url: str = "/m/") -> TestResponse:
    """The sandbox dev login, the way a browser does it: GET the form, POST it."""
    form = client.get("/m/login")
    assert form.status_code == 200, form.status_code
    res = client.post(
        "/m/login/dev",
        data={"userid": userid, "csrf": csrf_of(form.text), "next": next_url},
    )
    assert res.status_code == 302, res.text
    return res


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    res = client.get(path)
    assert res.status_code == status, (path, res.status_code, res.text[:500])
    return res.text
