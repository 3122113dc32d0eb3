from __future__ import annotations

import datetime
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from integrations.feishu.escalation_targets import choose_app
from oncall.merge import next_incident_number
from oncall.models import AlertSource, Channel, Incident, Route


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


def staff_user(username: str, *permissions: str) -> Any:
    """A staff account holding exactly ``permissions`` (``"app_label.codename"``), as an
    administrator would grant them in the admin."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username=username, is_staff=True)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def api_as(user: Any) -> Any:
    """A REST API client authenticated as ``user`` by an API token of theirs."""
    from rest_framework.test import APIClient

    from oncall.models import ApiToken

    _, key = ApiToken.issue(user, "tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


ESCALATION_RULE_PERMISSIONS = tuple(
    f"oncall.{action}_escalationrule" for action in ("view", "add", "change", "delete")
)


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"Channel {n}")


class AlertSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertSource

    name = factory.Sequence(lambda n: f"Source {n}")
    kind = "alertmanager"
    channel = factory.SubFactory(ChannelFactory)


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route
        skip_postgeneration_save = True

    source = factory.SubFactory(AlertSourceFactory, channel=None)
    matchers = factory.LazyFunction(list)

    @factory.post_generation
    def channels(self, create: bool, extracted: list | None, **kwargs) -> None:
        if create and extracted:
            self.channels.set(extracted)


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    number = factory.LazyFunction(next_incident_number)
    channel = factory.SubFactory(ChannelFactory)
    title = factory.Sequence(lambda n: f"Disk almost full on db-{n}")
    severity = "critical"
    group_key = factory.Sequence(lambda n: f"test:{n}")
    created_at = factory.LazyFunction(timezone.now)


class FeishuAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.FeishuApp"

    name = factory.Sequence(lambda n: f"Feishu app {n}")
    platform = "feishu"
    app_id = factory.Sequence(lambda n: f"cli_test{n:012d}")
    app_secret = factory.Sequence(lambda n: f"app-secret-{n}-5c1f0e")
    verification_token = factory.Sequence(lambda n: f"verification-token-{n}-b7a2")
    encrypt_key = factory.Sequence(lambda n: f"encrypt-key-{n}-93d4")


class FeishuChatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "integrations.FeishuChat"

    app = factory.SubFactory(FeishuAppFactory)
    chat_id = factory.Sequence(lambda n: f"oc_{n:032x}")
    name = factory.Sequence(lambda n: f"Group {n}")


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oncall.Alert"

    incident = factory.SubFactory(IncidentFactory)
    channel = factory.LazyAttribute(lambda alert: alert.incident.channel)
    alert_key = factory.Sequence(lambda n: f"alert-{n}")
    title = factory.LazyAttribute(lambda alert: alert.incident.title)
    severity = factory.LazyAttribute(lambda alert: alert.incident.severity)
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyAttribute(lambda alert: alert.first_seen)


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oncall.TimelineEntry"

    incident = factory.SubFactory(IncidentFactory)
    kind = "created"
    source = "system"
    message = factory.Sequence(lambda n: f"Something happened ({n})")


class EscalationRuleFactory(factory.django.DjangoModelFactory):
    """A rule without levels; add them with ``EscalationLevelFactory(rule=...)``."""

    class Meta:
        model = "oncall.EscalationRule"
        skip_postgeneration_save = True

    channel = factory.SubFactory(ChannelFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n + 1)  # after the channel's Default rule (0)

    @factory.post_generation
    def feishu_app(self, create: bool, extracted: Any, **kwargs) -> None:
        """``feishu_app=app``: the Feishu app that delivers the rule's cards."""
        if create and extracted:
            choose_app(self, extracted)


class EscalationLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oncall.EscalationLevel"
        skip_postgeneration_save = True

    rule = factory.SubFactory(EscalationRuleFactory)
    position = factory.Sequence(lambda n: n)
    escalate_after_minutes = 30

    @factory.post_generation
    def users(self, create: bool, extracted: list | None, **kwargs) -> None:
        if create and extracted:
            self.users.set(extracted)

    @factory.post_generation
    def schedules(self, create: bool, extracted: list | None, **kwargs) -> None:
        """``schedules=[...]``: the schedules whose on-call the level notifies."""
        if create and extracted:
            self.schedules.set(extracted)

    @factory.post_generation
    def chats(self, create: bool, extracted: list | None, **kwargs) -> None:
        """``chats=[...]``: the level's Feishu group chats."""
        if create and extracted:
            self.feishu_chats.set(extracted)


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oncall.Schedule"

    name = factory.Sequence(lambda n: f"Schedule {n}")
    time_zone = "Asia/Shanghai"


class ScheduleLayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "oncall.ScheduleLayer"
        skip_postgeneration_save = True

    schedule = factory.SubFactory(ScheduleFactory)
    name = factory.Sequence(lambda n: f"Layer {n}")
    start_date = datetime.date(2026, 1, 5)

    @factory.post_generation
    def people(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        """``ScheduleLayerFactory(people=[alice, bob])``: the turn order."""
        for position, user in enumerate(extracted or []):
            self.participants.create(user=user, position=position)
