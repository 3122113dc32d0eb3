"""The session cookie is a stranger's input too: a key Django never issues (a NUL from the
cookie's octal escape, which PostgreSQL refuses in a query) starts a new session, not a 500."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cookie",
    [
        'sessionid="\\000aaaaaaaaaaaaaaaa"',
        'sessionid="aaaaaaaaaaaaaaaa\\377"',
        "sessionid=" + "a" * 5000,
        "sessionid=../../../../etc/passwd",
    ],
    ids=["nul", "latin1", "long", "path"],
)
def test_a_session_key_django_never_issues_is_a_fresh_session(client: Client, cookie: str):
    response = client.get("/accounts/login/", HTTP_COOKIE=cookie)
    assert response.status_code == 200


def test_a_real_session_still_works(signed_in: Client):
    assert signed_in.get("/incidents/").status_code == 200
