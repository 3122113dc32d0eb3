"""Merge and split on every surface that offers them: the incident page (with its merge page),
the REST API and the Feishu chat command; the card of a merged incident."""

from __future__ import annotations

import json
from itertools import count

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import translation

from integrations.feishu.cards.render import incident_card
from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import CardDelivery, LinkedAccount, SentCard
from oncall import lifecycle
from oncall.links import incident_url
from oncall.models import ActionSource, Alert, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import (
    AlertFactory,
    ChannelFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
    api_as,
)

pytestmark = pytest.mark.django_db

Status = Incident.Status
Kind = TimelineEntry.Kind


@pytest.fixture
def target(channel):
    incident = IncidentFactory(channel=channel, title="Database down", severity="warning")
    AlertFactory(incident=incident, title="db-1 down", severity="warning")
    return incident


@pytest.fixture
def source(channel):
    incident = IncidentFactory(channel=channel, title="API <errors>", severity="critical")
    AlertFactory(incident=incident, title="5xx on api-1")
    AlertFactory(incident=incident, title="5xx on api-2")
    return incident


def fresh(incident: Incident) -> Incident:
    return Incident.objects.select_related("channel", "merged_into").get(pk=incident.pk)


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page(incident: Incident) -> str:
    return f"/incidents/{incident.public_id}/"


# --- the incident page -----------------------------------------------------------------------


def test_the_page_offers_merging_and_a_split_per_alert(signed_in, source):
    body = signed_in.get(page(source)).content.decode()
    assert f'href="{page(source)}merge/"' in body
    for alert in source.alerts.all():
        assert f'action="/alerts/{alert.public_id}/split/"' in body


def test_an_incident_with_one_alert_offers_no_split(signed_in, target):
    body = signed_in.get(page(target)).content.decode()
    assert "/split/" not in body


def test_the_merge_page_offers_the_open_incidents_of_the_channel_only(
    signed_in, channel, target, source, responder
):
    closed = IncidentFactory(channel=channel, title="Old closed one")
    lifecycle.close(closed, Actor(responder, ActionSource.WEB))
    elsewhere = ChannelFactory(name="Payments")
    elsewhere.members.add(responder)
    IncidentFactory(channel=elsewhere, title="Another channel's")

    response = signed_in.get(f"{page(target)}merge/")

    body = response.content.decode()
    assert response.status_code == 200
    assert f'value="{source.public_id}"' in body
    assert "API &lt;errors&gt;" in body  # escaped
    assert "Old closed one" not in body
    assert "Another channel&#x27;s" not in body
    assert f'value="{target.public_id}"' not in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert f'action="{page(target)}merge-into/"' in body


def test_merging_chosen_incidents_into_this_one(signed_in, target, source, responder):
    response = signed_in.post(f"{page(target)}merge/", {"incidents": [str(source.public_id)]})

    assert response.status_code == 302
    assert response.url == page(target)
    assert said(response) == [
        f"Merged #{source.number} into #{target.number}: the alerts are in this incident now."
    ]
    source = fresh(source)
    assert source.merged_into_id == target.pk
    entry = source.timeline.get(kind=Kind.MERGED_INTO)
    assert (entry.actor, entry.source) == (responder, "web")
    assert fresh(target).alert_count == 3


def test_an_incident_not_offered_cannot_be_posted_to_the_merge(signed_in, target, responder):
    elsewhere = ChannelFactory(name="Payments")
    elsewhere.members.add(responder)
    stranger = IncidentFactory(channel=elsewhere)

    response = signed_in.post(f"{page(target)}merge/", {"incidents": [str(stranger.public_id)]})

    assert response.status_code == 400
    assert fresh(stranger).merged_into_id is None


def test_merging_nothing_says_what_to_do(signed_in, target, source):
    response = signed_in.post(f"{page(target)}merge/", {})
    assert response.status_code == 400
    assert "Choose at least one incident to merge." in response.content.decode()


def test_merging_this_incident_into_another_by_number(signed_in, target, source):
    response = signed_in.post(f"{page(source)}merge-into/", {"number": target.number})

    assert response.status_code == 302
    assert response.url == page(target)
    assert fresh(source).merged_into_id == target.pk


def test_merging_into_a_number_nobody_can_see_is_a_400(signed_in, source, outsider):
    hidden = IncidentFactory(channel=ChannelFactory(name="Hidden"))
    for number in (hidden.number, 999999):
        response = signed_in.post(f"{page(source)}merge-into/", {"number": number})
        assert response.status_code == 400
        assert f"No incident #{number} that you can see." in response.content.decode()
    assert fresh(source).status == Status.TRIGGERED


def test_merging_into_a_closed_incident_says_why_and_changes_nothing(
    signed_in, target, source, responder
):
    lifecycle.close(target, Actor(responder, ActionSource.WEB))

    response = signed_in.post(f"{page(source)}merge-into/", {"number": target.number})

    assert response.url == page(source)
    assert said(response)[0].startswith(f"Cannot merge into #{target.number}: it was closed by")
    assert fresh(source).status == Status.TRIGGERED


def test_merging_into_an_incident_of_another_channel_is_refused(signed_in, source, responder):
    elsewhere = ChannelFactory(name="Payments")
    elsewhere.members.add(responder)
    stranger = IncidentFactory(channel=elsewhere)

    response = signed_in.post(f"{page(source)}merge-into/", {"number": stranger.number})

    assert response.url == page(source)
    assert "only incidents of one channel can be merged" in said(response)[0]
    assert fresh(source).merged_into_id is None


def test_merging_what_is_already_merged_says_so(signed_in, target, source):
    signed_in.post(f"{page(source)}merge-into/", {"number": target.number})
    response = signed_in.post(f"{page(source)}merge-into/", {"number": target.number})
    assert said(response)[-1] == f"#{source.number} already merged into #{target.number}"
    assert target.timeline.filter(kind=Kind.MERGED).count() == 1


def test_merging_into_itself_is_refused(signed_in, source):
    response = signed_in.post(f"{page(source)}merge-into/", {"number": source.number})
    assert said(response) == ["An incident cannot be merged into itself."]


def test_a_merged_incidents_page_links_to_the_target_and_offers_nothing(
    signed_in, target, source, responder
):
    lifecycle.merge(target, [source], Actor(responder, ActionSource.WEB))

    body = signed_in.get(page(source)).content.decode()

    assert f'Merged into <a href="{page(target)}">#{target.number} Database down</a>' in body
    assert f"Merged into #{target.number} by Alice at" in body  # the status line
    assert f"Its alerts were moved to #{target.number}." in body
    assert "/reopen/" not in body
    assert "/merge/" not in body
    assert f"{page(target)}merge/" not in signed_in.get(page(source)).content.decode()


def test_the_merge_page_of_a_closed_incident_offers_nothing_to_merge(signed_in, target, responder):
    lifecycle.close(target, Actor(responder, ActionSource.WEB))
    body = signed_in.get(f"{page(target)}merge/").content.decode()
    assert "only open incidents can be merged" in body
    assert "merge-into/" not in body


def test_splitting_an_alert_shows_the_new_incident(signed_in, source, responder):
    alert = source.alerts.get(title="5xx on api-2")

    response = signed_in.post(f"/alerts/{alert.public_id}/split/")

    alert.refresh_from_db()
    new = alert.incident
    assert new.pk != source.pk
    assert response.status_code == 302
    assert response.url == page(new)
    assert said(response) == [
        "The alert is in this new incident now; it escalates like any new incident."
    ]
    assert new.timeline.get(kind=Kind.CREATED).actor == responder
    assert source.timeline.get(kind=Kind.SPLIT).source == "web"


def test_splitting_the_only_alert_says_why(signed_in, target):
    response = signed_in.post(f"/alerts/{target.alerts.get().public_id}/split/")
    assert response.url == page(target)
    assert said(response) == [f"Cannot split: this is the only alert of #{target.number}"]


def test_outsiders_get_404_for_merge_and_split(client, outsider, target, source):
    client.force_login(outsider)
    assert client.get(f"{page(target)}merge/").status_code == 404
    posted = client.post(f"{page(target)}merge/", {"incidents": [str(source.public_id)]})
    assert posted.status_code == 404
    assert client.post(f"{page(source)}merge-into/", {"number": target.number}).status_code == 404
    split = client.post(f"/alerts/{source.alerts.first().public_id}/split/")
    assert split.status_code == 404
    assert fresh(source).merged_into_id is None
    assert source.alerts.count() == 2


def test_merge_and_split_need_the_csrf_token(target, source, responder):
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder)
    data = {"incidents": [str(source.public_id)]}
    assert client.post(f"{page(target)}merge/", data).status_code == 403
    assert client.post(f"{page(source)}merge-into/", {"number": 1}).status_code == 403
    assert client.post(f"/alerts/{source.alerts.first().public_id}/split/").status_code == 403
    token = client.get(f"{page(target)}merge/").cookies["csrftoken"].value
    accepted = client.post(f"{page(target)}merge/", {**data, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302


def test_the_merge_page_and_the_split_button_speak_chinese(signed_in, target, source):
    headers = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    body = signed_in.get(f"{page(target)}merge/", **headers).content.decode()
    assert f"将其他故障合并到 #{target.number}" in body
    assert "合并到编号为以下的故障" in body
    detail = signed_in.get(page(source), **headers).content.decode()
    assert "拆分为新故障" in detail
    assert "合并…" in detail


# --- the REST API ----------------------------------------------------------------------------


@pytest.fixture
def api(responder):
    return api_as(responder)


def merge_url(incident: Incident) -> str:
    return f"/api/v1/incidents/{incident.public_id}/merge/"


def test_the_api_merges_incidents_named_by_id_or_number(api, channel, target, source):
    third = IncidentFactory(channel=channel)
    AlertFactory(incident=third)

    response = api.post(
        merge_url(target),
        {"incidents": [str(source.public_id), f"#{third.number}"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["changed"] is True
    assert body["message"] == (
        f"Merged #{source.number}, #{third.number} into #{target.number} (3 alerts moved)"
    )
    assert body["incident"]["id"] == str(target.public_id)
    assert body["incident"]["alert_count"] == 4
    assert len(body["incident"]["alerts"]) == 4
    assert body["incident"]["timeline"][-1]["kind"] == "merged"
    shown = api.get(f"/api/v1/incidents/{source.public_id}/").json()
    assert shown["merged_into"] == str(target.public_id)
    assert shown["status"] == "closed"
    listed = api.get("/api/v1/incidents/", {"status": "closed"}).json()["results"]
    assert [i["merged_into"] for i in listed] == [str(target.public_id)] * 2


def test_the_api_accepts_plain_numbers(api, target, source):
    response = api.post(merge_url(target), {"incidents": [source.number]}, format="json")
    assert response.status_code == 200
    assert fresh(source).merged_into_id == target.pk


@pytest.mark.parametrize(
    "incidents",
    [[], "abc", [True], ["not an id"], [0], [2**64], [None], list(range(1, 102))],
)
def test_the_api_refuses_what_names_no_incident(api, target, incidents):
    response = api.post(merge_url(target), {"incidents": incidents}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "incidents" in response.json()["error"]["fields"]


def test_the_api_names_incidents_the_caller_cannot_see(api, target):
    hidden = IncidentFactory(channel=ChannelFactory(name="Hidden"))
    response = api.post(merge_url(target), {"incidents": [str(hidden.public_id)]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == f"No incident {hidden.public_id} that you can see."
    assert fresh(hidden).merged_into_id is None


def test_the_api_refuses_merging_into_itself_across_channels_and_into_a_closed_one(
    api, responder, target, source
):
    itself = api.post(merge_url(target), {"incidents": [target.number]}, format="json")
    assert itself.status_code == 400
    assert itself.json()["error"]["message"] == "An incident cannot be merged into itself."

    elsewhere = ChannelFactory(name="Payments")
    elsewhere.members.add(responder)
    stranger = IncidentFactory(channel=elsewhere)
    across = api.post(merge_url(target), {"incidents": [stranger.number]}, format="json")
    assert across.status_code == 400
    assert "only incidents of one channel" in across.json()["error"]["message"]

    lifecycle.close(target, Actor(responder, ActionSource.API))
    closed = api.post(merge_url(target), {"incidents": [source.number]}, format="json")
    assert closed.status_code == 409
    assert closed.json()["error"]["code"] == "transition_refused"
    assert closed.json()["error"]["message"].startswith(f"Cannot merge into #{target.number}")


def test_a_non_member_cannot_merge_or_split_through_the_api(outsider, target, source):
    api = api_as(outsider)
    merged = api.post(merge_url(target), {"incidents": [source.number]}, format="json")
    assert merged.status_code == 404
    split = api.post(f"/api/v1/alerts/{source.alerts.first().public_id}/split/")
    assert split.status_code == 404
    assert fresh(source).merged_into_id is None


def test_a_member_of_the_target_only_cannot_pull_in_an_incident_of_another_channel(target, channel):
    outsider_incident = IncidentFactory(channel=ChannelFactory(name="Hidden"))
    admin_of_other = UserFactory(username="carol")
    channel.members.add(admin_of_other)
    response = api_as(admin_of_other).post(
        merge_url(target), {"incidents": [outsider_incident.number]}, format="json"
    )
    assert response.status_code == 400  # not visible: as if it did not exist


def test_the_api_splits_an_alert_into_a_new_incident(api, source):
    alert = source.alerts.get(title="5xx on api-2")

    response = api.post(f"/api/v1/alerts/{alert.public_id}/split/")

    assert response.status_code == 200, response.json()
    body = response.json()
    new = Alert.objects.get(pk=alert.pk).incident
    assert body["incident"]["id"] == str(new.public_id)
    assert body["incident"]["title"] == "5xx on api-2"
    assert [a["id"] for a in body["incident"]["alerts"]] == [str(alert.public_id)]
    assert body["incident"]["escalation"]["next_step_at"] is not None
    assert source.timeline.get(kind=Kind.SPLIT).source == "api"


def test_the_api_refuses_splitting_the_only_alert(api, target):
    response = api.post(f"/api/v1/alerts/{target.alerts.get().public_id}/split/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_refused"


def test_the_schema_documents_merge_and_split_with_their_errors(client):
    schema = client.get("/api/schema/?format=json").json()
    merge = schema["paths"]["/api/v1/incidents/{public_id}/merge/"]["post"]
    split = schema["paths"]["/api/v1/alerts/{public_id}/split/"]["post"]
    assert set(merge["responses"]) == {"200", "400", "404", "409"}
    assert set(split["responses"]) == {"200", "404", "409"}
    error = merge["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert error == "#/components/schemas/Error"
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert {"code", "message"} <= set(detail["required"])
    body = merge["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("/MergeRequest")


# --- the Feishu card -------------------------------------------------------------------------


def test_a_merged_incidents_card_says_so_links_the_target_and_has_no_buttons(
    target, source, responder, settings
):
    settings.PUBLIC_BASE_URL = "https://oncall.example.com"
    lifecycle.merge(target, [source], Actor(responder, ActionSource.WEB))

    card = incident_card(fresh(source))

    text = json.dumps(card, ensure_ascii=False)
    link = f"[#{target.number} Database down]({incident_url(target)})"
    assert f"**Merged into {link}: its alerts are handled there.**" in text
    assert f"Merged into #{target.number} by Alice at" in text
    assert f"moved to #{target.number}" in text
    assert not [e for e in card["elements"] if e["tag"] == "action"]
    assert card["header"]["template"] == "green"


def test_the_merged_card_escapes_the_targets_title(channel, source, responder):
    target = IncidentFactory(channel=channel, title="[click](https://evil.example) *now*")
    lifecycle.merge(target, [source], Actor(responder, ActionSource.WEB))
    text = json.dumps(incident_card(fresh(source)), ensure_ascii=False)
    assert "[click](https://evil.example)" not in text
    assert "&#91;click&#93;" in text


def test_the_merged_card_speaks_the_consoles_language(target, source, responder, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    lifecycle.merge(target, [source], Actor(responder, ActionSource.WEB))
    with translation.override("en"):
        text = json.dumps(incident_card(fresh(source)), ensure_ascii=False)
    assert f"已合并到 [#{target.number}" in text


# --- the Feishu chat command -----------------------------------------------------------------

_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


@pytest.fixture
def linked(app, responder):
    LinkedAccount.objects.create(user=responder, app=app, open_id="ou_alice")
    return responder


def say(app, text, *, sender="ou_alice", parent_id="") -> str:
    message = IncomingMessage(
        message_id=f"om_merge{next(_ids)}",
        chat_id="oc_chat",
        chat_type="p2p",
        sender_open_id=sender,
        text=text,
        parent_id=parent_id,
    )
    return chat_commands.answer(app, message)


def test_merge_n_into_m_merges_from_feishu(app, linked, target, source):
    answer = say(app, f"merge {source.number} into #{target.number}")

    assert answer == f"Merged #{source.number} into #{target.number} (2 alerts moved)"
    entry = fresh(source).timeline.get(kind=Kind.MERGED_INTO)
    assert (entry.actor, entry.source) == (linked, "feishu")
    assert entry.data["via"] == "chat command"


def test_the_chinese_command_merges_too(app, linked, channel, target, source):
    third = IncidentFactory(channel=channel)
    answer = say(app, f"合并 {source.number}\uff0c#{third.number} 到 {target.number}")
    assert answer.startswith(f"Merged #{source.number}, #{third.number} into #{target.number}")
    assert fresh(third).merged_into_id == target.pk


def test_a_reply_to_a_card_merges_its_incident(app, linked, target, source):
    delivery = CardDelivery.objects.create(incident=source, app=app, user=linked)
    SentCard.objects.create(delivery=delivery, message_id="om_card", fingerprint="x")

    answer = say(app, f"merge into {target.number}", parent_id="om_card")

    assert answer.startswith(f"Merged #{source.number} into #{target.number}")


def test_the_merge_command_explains_itself(app, linked, target):
    assert say(app, "merge 12").startswith("Write “merge N into M”")
    assert say(app, "合并 这个").startswith("Write “合并 N 到 M”")
    assert say(app, f"merge into {target.number}").startswith("Write “merge N into M”")


def test_the_merge_command_refuses_what_the_lifecycle_refuses(app, linked, target, source):
    assert say(app, f"merge {target.number} into {target.number}") == (
        "An incident cannot be merged into itself."
    )
    say(app, f"merge {source.number} into {target.number}")
    assert say(app, f"merge {target.number} into {source.number}") == (
        f"Cannot merge into #{source.number}: it was merged into #{target.number}"
    )


def test_a_non_member_cannot_merge_from_feishu(app, target, source):
    mallory = UserFactory(username="mallory")
    LinkedAccount.objects.create(user=mallory, app=app, open_id="ou_mallory")

    answer = say(app, f"merge {source.number} into {target.number}", sender="ou_mallory")

    assert answer == f"No incident #{target.number} that you can see."
    assert fresh(source).merged_into_id is None


def test_the_help_lists_the_merge_command(app, linked):
    text = say(app, "help")
    assert "merge N into M" in text
    assert "合并 N 到 M" in text


# --- the admin -------------------------------------------------------------------------------


def test_the_admin_shows_what_an_incident_was_merged_into(admin_client, target, source, responder):
    lifecycle.merge(target, [source], Actor(responder, ActionSource.WEB))
    page = admin_client.get(f"/admin/oncall/incident/{source.pk}/change/").content.decode()
    assert "Merged into" in page or "merged into" in page
    assert f"#{target.number} Database down" in page
