"""What an incident offers beyond its lifecycle (``oncall.offers``): the same links and actions
on the page, in the API and on the Feishu card, each action run through ``offers.run_action``
(members only, keys the incident offers only)."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
from django.contrib.messages import get_messages
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from oncall import offers
from oncall.models import ActionSource, Incident
from oncall.platforms import PlatformBase
from oncall.timeline import Actor
from tests.factories import ChannelFactory, IncidentFactory
from tests.offers_provider import RunbookOffers

pytestmark = pytest.mark.django_db

PROVIDER = "tests.offers_provider.RunbookOffers"


@pytest.fixture(autouse=True)
def provided(settings):
    settings.INCIDENT_OFFERS = [PROVIDER]


@pytest.fixture
def incident(channel) -> Incident:
    return IncidentFactory(channel=channel, title="Replication lag")


@pytest.fixture
def api(responder) -> APIClient:
    client = APIClient()
    client.force_authenticate(responder)
    return client


def notes(incident: Incident) -> list[str]:
    return list(incident.notes.values_list("body", flat=True))


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def action_url(incident: Incident, key: str) -> str:
    return f"/incidents/{incident.public_id}/actions/{key}/"


# --- The gathering --------------------------------------------------------------------------


def test_links_keep_only_web_addresses_and_colours_only_hex(incident):
    assert [link.key for link in offers.incident_links(incident)] == ["runbook"]
    colours = {action.key: action.colour for action in offers.incident_actions(incident)}
    assert colours["test:fail"] == ""


def test_a_channel_without_offers_shows_none(db):
    quiet = IncidentFactory(channel=ChannelFactory(name="Quiet"))
    assert offers.incident_links(quiet) == []
    assert offers.incident_actions(quiet) == []


def test_a_non_member_may_not_run_an_action(incident, outsider):
    with pytest.raises(offers.PermissionDenied):
        offers.run_action(incident, "test:note", Actor(outsider, ActionSource.API))
    assert notes(incident) == []


def test_a_key_the_incident_does_not_offer_is_refused(incident, responder):
    with pytest.raises(offers.UnknownAction):
        offers.run_action(incident, "test:unknown", Actor(responder, ActionSource.API))


def test_the_system_may_not_run_an_action(incident):
    with pytest.raises(offers.PermissionDenied):
        offers.run_action(incident, "test:note", Actor.system())


def test_a_provider_that_is_not_one_is_refused(settings, incident):
    settings.INCIDENT_OFFERS = ["oncall.offers.UnknownAction"]
    with pytest.raises(TypeError, match="does not fulfil"):
        offers.incident_links(incident)


# --- The page -------------------------------------------------------------------------------


def test_the_page_shows_the_links_and_actions(signed_in, incident):
    body = signed_in.get(f"/incidents/{incident.public_id}/").content.decode()
    assert 'href="https://runbooks.example/' in body
    assert "javascript:" not in body
    assert f'action="{action_url(incident, "test:note")}"' in body
    # One that asks first is a link to its question, not a form that runs it.
    assert f'href="{action_url(incident, "test:ask")}"' in body
    assert "url(x)" not in body


def test_the_page_runs_an_action_once_and_says_what_it_did(signed_in, incident):
    response = signed_in.post(action_url(incident, "test:note"))
    assert response.status_code == 302
    assert said(response) == ["Noted."]
    assert notes(incident) == ["ran by web"]


def test_an_action_that_asks_first_shows_its_question(signed_in, incident):
    response = signed_in.get(action_url(incident, "test:ask"))
    assert response.status_code == 200
    assert "Roll back v2?" in response.content.decode()
    assert notes(incident) == []
    signed_in.post(action_url(incident, "test:ask"))
    assert notes(incident) == ["rolled back"]


def test_a_failed_action_is_said_as_an_error(signed_in, incident):
    response = signed_in.post(action_url(incident, "test:fail"))
    assert said(response) == ["Status page answered 500."]
    message = next(iter(get_messages(response.wsgi_request)))
    assert message.level_tag == "error"


def test_the_page_refuses_an_unknown_action_and_outsiders(signed_in, incident, client, outsider):
    assert signed_in.post(action_url(incident, "test:unknown")).status_code == 404
    client.force_login(outsider)
    assert client.post(action_url(incident, "test:note")).status_code == 404
    assert notes(incident) == []


def test_the_page_needs_csrf(responder, incident):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)
    assert client.post(action_url(incident, "test:note")).status_code == 403
    assert notes(incident) == []


# --- The API --------------------------------------------------------------------------------


def test_the_api_lists_the_links_and_actions(api, incident):
    body = api.get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert body["links"] == [
        {"key": "runbook", "label": "Runbook", "url": f"https://runbooks.example/{incident.number}"}
    ]
    assert [a["key"] for a in body["actions"]] == ["test:note", "test:ask", "test:fail"]
    assert body["actions"][1]["confirm"] == "Roll back v2?"


def test_the_api_runs_an_action(api, incident):
    response = api.post(f"/api/v1/incidents/{incident.public_id}/actions/test:ask/")
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["message"], body["url"]) == (
        True,
        "Rolled back.",
        "https://deploy.example/1",
    )
    assert body["incident"]["id"] == str(incident.public_id)
    assert notes(incident) == ["rolled back"]


def test_the_api_answers_404_for_an_unknown_action_or_incident(api, incident, outsider):
    response = api.post(f"/api/v1/incidents/{incident.public_id}/actions/nope/")
    assert response.status_code == 404
    assert "nope" in str(response.json())
    api.force_authenticate(outsider)
    response = api.post(f"/api/v1/incidents/{incident.public_id}/actions/test:note/")
    assert response.status_code == 404
    assert notes(incident) == []


def test_options_reach_the_provider_that_offers_the_action(settings, incident, responder):
    settings.INCIDENT_OFFERS = [PROVIDER, "tests.offers_provider.PeopleOffers"]
    actor = Actor(responder, ActionSource.API)
    result = offers.run_action(incident, "test:people", actor, {"people": [responder]})
    assert result.message == "Invited alice."
    assert offers.run_action(incident, "test:people", actor).message == "Invited nobody."


# --- What holds for every provider ------------------------------------------------------------


def merged(incident: Incident) -> Incident:
    target = IncidentFactory(channel=incident.channel, title="The main one")
    Incident.objects.filter(pk=incident.pk).update(merged_into=target, status="closed")
    return Incident.objects.get(pk=incident.pk)


def test_a_merged_incident_offers_nothing_on_any_surface(signed_in, api, incident, responder):
    gone = merged(incident)
    assert offers.incident_links(gone) == []
    assert offers.incident_actions(gone) == []
    with pytest.raises(offers.UnknownAction):
        offers.run_action(gone, "test:note", Actor(responder, ActionSource.API))
    body = signed_in.get(f"/incidents/{gone.public_id}/").content.decode()
    assert "runbooks.example" not in body
    assert action_url(gone, "test:note") not in body
    detail = api.get(f"/api/v1/incidents/{gone.public_id}/").json()
    assert (detail["links"], detail["actions"]) == ([], [])
    assert notes(gone) == []


@pytest.fixture
def people_offered(settings):
    settings.INCIDENT_OFFERS = [PROVIDER, "tests.offers_provider.PeopleOffers"]


def test_the_people_an_action_takes_are_the_channels_active_members(
    people_offered, incident, responder, outsider
):
    from tests.factories import UserFactory

    bob = UserFactory(username="bob")
    gone = UserFactory(username="carol", is_active=False)
    incident.channel.members.add(bob, gone)
    actor = Actor(responder, ActionSource.API)
    assert list(offers.eligible_people(incident).order_by("username")) == [responder, bob]
    # Users or their ids, once each.
    result = offers.run_action(incident, "test:people", actor, {"people": [bob.pk, bob, responder]})
    assert result.message == "Invited alice, bob."
    for refused in ([outsider], [gone.pk], [987654]):
        with pytest.raises(offers.InvalidOptions) as invalid:
            offers.run_action(incident, "test:people", actor, {"people": [bob, *refused]})
        assert invalid.value.field == "people"
        assert "Not active members of the incident's channel" in invalid.value.message
    with pytest.raises(offers.InvalidOptions, match="must be a list"):
        offers.run_action(incident, "test:people", actor, {"people": "bob"})


def test_an_action_that_takes_no_people_refuses_them(incident, responder):
    actor = Actor(responder, ActionSource.API)
    with pytest.raises(offers.InvalidOptions, match="takes no people"):
        offers.run_action(incident, "test:note", actor, {"people": [responder]})
    assert notes(incident) == []
    assert offers.run_action(incident, "test:note", actor, {"people": []}).message == "Noted."


def test_the_api_refuses_an_outsider_with_a_reason(people_offered, api, incident, outsider):
    url = f"/api/v1/incidents/{incident.public_id}/actions/test:people/"
    response = api.post(url, {"people": [outsider.pk]}, format="json")
    assert response.status_code == 400
    reasons = response.json()["error"]["fields"]["people"]
    assert reasons == ["Not active members of the incident's channel: mallory."]
    response = api.post(
        f"/api/v1/incidents/{incident.public_id}/actions/test:note/",
        {"people": [outsider.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert notes(incident) == []


def test_the_page_lists_the_members_and_says_why_it_refuses_someone(
    people_offered, signed_in, incident, outsider
):
    question = signed_in.get(action_url(incident, "test:people")).content.decode()
    assert 'name="people"' in question
    assert "mallory" not in question
    response = signed_in.post(action_url(incident, "test:people"), {"people": [outsider.pk]})
    assert said(response) == ["Not active members of the incident's channel: mallory."]
    signed_in.get(response["Location"])  # the message shown, and so taken
    response = signed_in.post(action_url(incident, "test:people"), {"people": ["x"]})
    assert said(response) == ["People must be a list of user ids."]


class OfferingPlatform(PlatformBase):
    """A chat platform whose only contribution is an offer provider."""

    name = "offering"

    def offer_providers(self):
        from tests.offers_provider import PeopleOffers

        return [PeopleOffers()]


def test_a_platforms_providers_come_after_the_settings_ones(settings, incident):
    settings.CHAT_PLATFORMS = ["tests.test_offers.OfferingPlatform"]
    keys = [action.key for action in offers.incident_actions(incident)]
    assert keys == ["test:note", "test:ask", "test:fail", "test:people"]


def test_a_providers_own_refusal_of_options_is_said_on_the_api_and_the_page(
    settings, api, signed_in, incident
):
    settings.INCIDENT_OFFERS = ["tests.offers_provider.PickyOffers"]
    response = api.post(f"/api/v1/incidents/{incident.public_id}/actions/test:picky/")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["people"] == ["Name someone to page."]
    response = signed_in.post(action_url(incident, "test:picky"))
    assert said(response) == ["Name someone to page."]


class CountedOffers(RunbookOffers):
    """``RunbookOffers``, counting what it is asked."""

    asked: ClassVar[list[str]] = []

    def links(self, incident: Incident) -> list[offers.OfferedLink]:
        CountedOffers.asked.append("links")
        return super().links(incident)

    def actions(self, incident: Incident) -> list[offers.OfferedAction]:
        CountedOffers.asked.append("actions")
        return super().actions(incident)


@pytest.fixture
def counted(settings) -> list[str]:
    settings.INCIDENT_OFFERS = ["tests.test_offers.CountedOffers"]
    CountedOffers.asked.clear()
    return CountedOffers.asked


@pytest.mark.parametrize(
    "card",
    [
        "integrations.feishu.cards.render.incident_card",
        "integrations.dingtalk.cards.render.incident_card",
    ],
)
def test_a_card_asks_for_the_offers_once_for_its_links_and_its_buttons(counted, incident, card):
    rendered = json.dumps(import_string(card)(incident), ensure_ascii=False)
    assert counted == ["links", "actions"]
    assert "https://runbooks.example/" in rendered
    assert "Write a note" in rendered


def test_the_offers_at_once_are_the_links_and_the_actions(incident, counted):
    both = offers.incident_offers(incident)
    assert both.links == offers.incident_links(incident)
    assert both.actions == offers.incident_actions(incident)
    assert offers.incident_offers(merged(incident)) == offers.Offers([], [])
