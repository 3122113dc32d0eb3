"""The admin's home page: the console's name, and what an admin needs first (channels with open
incidents, sources with their last event, chat apps with their check, undelivered
notifications, people not linked), in a fixed number of queries; allauth's unused models out
of sight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.feishu.models import CardDelivery, LinkedAccount
from oncall.models import InboundEvent, Incident
from tests.dingtalk.factories import DingTalkAppFactory
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db
HOME = "/admin/"


def test_it_names_the_console_on_every_admin_page(admin_client):
    page = admin_client.get(HOME).content.decode()
    assert "<title>What needs an admin now | On-call console admin</title>" in page
    assert "On-call console</a>" in page


def test_it_shows_channels_with_their_open_incidents(admin_client):
    quiet, busy = ChannelFactory(name="Quiet"), ChannelFactory(name="Busy")
    IncidentFactory(channel=busy)
    IncidentFactory(channel=busy)
    IncidentFactory(channel=quiet, status=Incident.Status.CLOSED)
    IncidentFactory(channel=quiet)
    page = admin_client.get(HOME).content.decode()
    assert "2 open incidents" in page
    assert "1 open incident<" in page
    assert page.index("Busy") < page.index("Quiet")  # the most open first


def test_it_shows_each_source_with_its_last_event(admin_client):
    heard = AlertSourceFactory(name="Heard from")
    AlertSourceFactory(name="Never heard from")
    InboundEvent.objects.create(source=heard, received_at=timezone.now() - timedelta(hours=3))
    page = admin_client.get(HOME).content.decode()
    assert "3 hours ago" in page
    assert "nothing received yet" in page
    assert page.index("Heard from") < page.index("Never heard from")


def test_it_shows_every_platforms_apps_with_their_check(admin_client):
    FeishuAppFactory(name="Works app", checked_at=timezone.now(), check_ok=True)
    FeishuAppFactory(
        name="Broken app", checked_at=timezone.now(), check_ok=False, check_message="bad secret"
    )
    DingTalkAppFactory(name="Unchecked DingTalk")
    page = admin_client.get(HOME).content.decode()
    assert "Feishu apps" in page
    assert "DingTalk apps" in page
    assert "bad secret" in page
    assert "not checked yet" in page
    assert "works" in page


def test_it_lists_undelivered_notifications_and_people_not_linked(admin_client, admin_user):
    app = FeishuAppFactory()
    linked, unlinked = UserFactory(username="linked"), UserFactory(username="carol")
    LinkedAccount.objects.create(user=linked, app=app, open_id="ou_linked")
    LinkedAccount.objects.create(user=admin_user, app=app, open_id="ou_admin")
    incident = IncidentFactory(title="Disk full on db-1")
    CardDelivery.objects.create(
        incident=incident, app=app, user=unlinked, state=CardDelivery.State.NOT_LINKED
    )
    CardDelivery.objects.create(incident=incident, app=app, user=linked, state="sent")
    page = admin_client.get(HOME).content.decode()
    assert "1 undelivered Feishu notification<" in page
    assert "Disk full on db-1" in page
    assert "1 person has not linked a chat account" in page
    people = page[page.index('id="overview-unlinked"') :]
    assert ">carol<" in people
    assert ">linked<" not in people


def test_staff_see_only_the_parts_they_may_view(client):
    ChannelFactory(name="Secret channel")
    FeishuAppFactory(name="Secret app")
    client.force_login(staff_user("viewer", "oncall.view_alertsource"))
    page = client.get(HOME).content.decode()
    assert 'id="overview-sources"' in page
    assert "Secret channel" not in page
    assert "Secret app" not in page
    assert 'id="overview-unlinked"' not in page


def test_it_reads_a_fixed_number_of_queries_whatever_the_rows(admin_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(HOME).status_code == 200
        return len(captured)

    _add_of_everything("a", 1)
    few = queries()
    _add_of_everything("b", 15)  # more rows than each part shows
    assert queries() == few


def _add_of_everything(prefix: str, size: int) -> None:
    """``size`` of each thing the home page lists: channels with open incidents, sources with
    events, Feishu and DingTalk apps, undelivered cards, people linked and not."""
    now = timezone.now()
    app = FeishuAppFactory(checked_at=now, check_ok=False, check_message="bad secret")
    for n in range(size):
        channel = ChannelFactory(name=f"{prefix} {n}")
        incident = IncidentFactory(channel=channel)
        source = AlertSourceFactory(channel=channel)
        InboundEvent.objects.create(source=source, received_at=now - timedelta(minutes=n))
        person = UserFactory(username=f"{prefix}{n}")
        if n % 2:
            LinkedAccount.objects.create(user=person, app=app, open_id=f"ou_{prefix}{n}")
        CardDelivery.objects.create(
            incident=incident, app=app, user=person, state=CardDelivery.State.FAILED
        )
        DingTalkAppFactory()


def test_the_console_hides_allauths_models_it_does_not_use(admin_client):
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

    for model in (EmailAddress, SocialAccount, SocialApp, SocialToken):
        assert not admin.site.is_registered(model)
    page = admin_client.get(HOME).content.decode()
    assert "Social accounts" not in page
    assert "Email addresses" not in page
    assert admin_client.get("/admin/socialaccount/socialapp/").status_code == 404


def test_it_reads_in_chinese(admin_client):
    ChannelFactory(name="Busy")
    AlertSourceFactory(name="Heard from")
    FeishuAppFactory(name="Ops")
    page = admin_client.get(HOME, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    expected = ["值班控制台", "需要管理员处理的事项", "0 个未关闭的故障"]
    expected += ["尚未收到任何事件", "尚未检查"]
    for words in expected:
        assert words in page
    for english in ("What needs an admin now", "open incident", "nothing received", "apps<"):
        assert english not in page


def test_dingtalk_cards_that_will_not_arrive_and_its_linked_people_count_too(
    admin_client, admin_user
):
    from integrations.dingtalk.models import DingTalkAccount, DingTalkCardDelivery

    app = DingTalkAppFactory()
    linked, unlinked = UserFactory(username="dana"), UserFactory(username="erin")
    DingTalkAccount.objects.create(user=linked, app=app, union_id="u-dana", dingtalk_user_id="d1")
    DingTalkAccount.objects.create(user=admin_user, app=app, union_id="u-admin")
    incident = IncidentFactory(title="Queue backed up")
    DingTalkCardDelivery.objects.create(
        incident=incident, app=app, user=unlinked, state=DingTalkCardDelivery.State.NOT_LINKED
    )
    DingTalkCardDelivery.objects.create(incident=incident, app=app, user=linked, state="sent")

    page = admin_client.get(HOME).content.decode()
    assert "Queue backed up" in page
    people = page[page.index('id="overview-unlinked"') :]
    assert ">erin<" in people
    assert ">dana<" not in people
