"""Link integrations on the incident page, in the API and on the card: URL templates over the
incident's fields and labels, values URL-encoded, a missing value left empty so that the link
still opens (the knowledge base's Link integration)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.feishu import war_rooms
from integrations.feishu.cards.render import incident_card
from oncall import offers
from oncall.custom_actions.templates import from_go, render_link
from oncall.models import Incident, LinkIntegration
from tests.factories import AlertFactory, IncidentFactory

pytestmark = pytest.mark.django_db

GRAFANA = "https://grafana.example.com/d/svc?var-service={{ Labels.service }}&n={{ Num }}"


@pytest.fixture
def incident(channel) -> Incident:
    incident = IncidentFactory(channel=channel, title="Checkout 5xx")
    AlertFactory(incident=incident, channel=channel, labels={"service": "check out&x=1"})
    return incident


def add_link(channel, template: str = GRAFANA, name: str = "Grafana") -> LinkIntegration:
    link = LinkIntegration(channel=channel, name=name, url_template=template)
    link.full_clean()
    link.save()
    return link


def test_values_are_filled_in_url_encoded(incident, channel):
    add_link(channel)

    [link] = offers.incident_links(incident)

    assert link.label == "Grafana"
    assert link.url == (
        f"https://grafana.example.com/d/svc?var-service=check%20out%26x%3D1&n={incident.number}"
    )


def test_a_missing_value_leaves_a_link_that_still_opens(channel):
    add_link(channel)
    bare = IncidentFactory(channel=channel)  # no alert, so no labels

    [link] = offers.incident_links(bare)

    assert link.url == f"https://grafana.example.com/d/svc?var-service=&n={bare.number}"


def test_the_knowledge_bases_go_spelling_is_read(incident, channel):
    assert from_go("https://x.example.com/{{.Labels.service}}?t={{ .Title }}") == (
        "https://x.example.com/{{ Labels.service }}?t={{ Title }}"
    )
    assert render_link("https://x.example.com/{{.Labels.service}}", incident) == (
        "https://x.example.com/check%20out%26x%3D1"
    )


def test_the_page_the_api_and_the_card_show_the_links(signed_in, responder, incident, channel):
    add_link(channel)
    add_link(channel, "https://runbooks.example.com/{{ Labels.service }}", "Runbook")
    expected = (
        f"https://grafana.example.com/d/svc?var-service=check%20out%26x%3D1&n={incident.number}"
    )

    page = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert f'href="{expected.replace("&", "&amp;")}"' in page
    assert ">Runbook</a>" in page

    api = APIClient()
    api.force_authenticate(responder)
    links = api.get(f"/api/v1/incidents/{incident.public_id}/").json()["links"]
    assert [(link["label"], link["url"]) for link in links] == [
        ("Grafana", expected),
        ("Runbook", "https://runbooks.example.com/check%20out%26x%3D1"),
    ]

    assert f"({expected})" in json.dumps(incident_card(incident))


def test_links_follow_their_position(incident, channel):
    second = add_link(channel, "https://b.example.com/", "B")
    first = add_link(channel, "https://a.example.com/", "A")
    first.position, second.position = 0, 1
    first.save()
    second.save()

    assert [link.label for link in offers.incident_links(incident)] == ["A", "B"]


def test_a_fourth_link_is_refused_even_past_the_form(channel):
    for n in range(3):
        add_link(channel, f"https://{n}.example.com/", f"L{n}")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        LinkIntegration(channel=channel, name="4", url_template="https://4.example.com/").save()
    assert "at most 3" in str(refused.value)
    assert LinkIntegration.objects.filter(channel=channel).count() == 3


def test_the_console_offers_them_by_default():
    import oncall.settings

    assert "oncall.custom_actions.offers.ChannelOffers" in oncall.settings.INCIDENT_OFFERS


def test_a_channels_offers_cost_one_query_each_however_many(
    incident, channel, django_assert_num_queries
):
    from oncall.models import CustomAction

    for n in range(3):
        add_link(channel, f"https://{n}.example.com/{{{{ Labels.service }}}}", f"L{n}")
        action = CustomAction.objects.create(name=f"A{n}", url="https://hooks.example.com/")
        action.channels.add(channel)
    war_rooms.apps_in_use()  # the count of apps with war rooms, read once and kept
    dingtalk_war_rooms.apps_in_use()  # and DingTalk's (apps with a group template)

    with django_assert_num_queries(1):
        assert len(offers.incident_actions(incident)) == 3
    # The links' query, and the first alert whose labels the templates read (once).
    with django_assert_num_queries(2):
        assert len(offers.incident_links(incident)) == 3
