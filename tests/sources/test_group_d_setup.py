"""The set-up guides of this group's kinds, as the admin page and the API show them: the push
URL filled in, snippets as text, severity tables listed."""

from __future__ import annotations

import html

import pytest

from oncall.sources import source_kind
from tests.factories import AlertSourceFactory, api_as, staff_user

pytestmark = pytest.mark.django_db

KINDS = [
    "n9e",
    "zabbix",
    "uptime_kuma",
    "skywalking",
    "open_falcon",
    "graylog",
    "opmanager",
    "influxdb",
    "elastalert2",
    "keep",
    "monit",
    "rum",
]


@pytest.mark.parametrize("kind", KINDS)
def test_the_admin_page_shows_the_guide_with_the_push_url(kind, admin_client, channel):
    source = AlertSourceFactory(channel=channel, kind=kind)
    guide = source_kind(kind).setup_guide(source.push_url)

    page = admin_client.get(f"/admin/oncall/alertsource/{source.pk}/change/")

    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert str(guide.steps[0]) in text
    token = source.push_url.rstrip("/").rpartition("/")[2]
    assert token in "".join(str(step) for step in guide.steps) + "".join(
        snippet.text for snippet in guide.snippets
    )


def test_the_api_returns_every_guide_as_json(channel):
    client = api_as(staff_user("ada", "oncall.view_alertsource"))
    for kind in KINDS:
        source = AlertSourceFactory(channel=channel, kind=kind)

        response = client.get(f"/api/v1/alert-sources/{source.public_id}/")

        assert response.status_code == 200, kind
        setup = response.json()["setup"]
        assert setup["steps"], kind
        assert all(isinstance(step, str) for step in setup["steps"]), kind
        assert all(isinstance(s["title"], str) and s["text"] for s in setup["snippets"]), kind
