"""A person signing in to a console through the sandbox as ``accounts.feishu.cn``: the consent
page's URL (with PKCE or without) and the choice of a person on it."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

# What the sandbox's test app has registered (``sandbox_app``).
REDIRECT_URI = "https://console.example.com/feishu/oauth/callback/"
AUTHORIZE = "/sandbox/feishu/open-apis/authen/v1/authorize"


def authorize_url(app, *, redirect_uri=REDIRECT_URI, state="st-1", challenge=None, **extra):
    query = {"client_id": app.app_id, "redirect_uri": redirect_uri, "state": state, **extra}
    if challenge:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return f"{AUTHORIZE}?{urlencode(query)}"


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_in(client, app, person, **url_options):
    """Choose ``person`` on the consent page; returns the redirect's query parameters."""
    response = client.post(authorize_url(app, **url_options), {"user": person.pk})
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}
