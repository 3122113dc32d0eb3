"""Notification templates: the sandbox and its budget, escaping per medium, the knowledge base's
variables, functions and examples (converted to Jinja), and a failing template that never
loses a card."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from integrations.feishu.cards.body import FEISHU_CARD, escape_lark_md
from integrations.feishu.cards.render import incident_card
from oncall.models import NotificationTemplate, TimelineEntry
from oncall.notify.choose import render_for, variables
from oncall.notify.engine import Medium, TemplateFailure, render, unknown_names
from tests.factories import (
    AlertFactory,
    ChannelFactory,
    EscalationRuleFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
PLAIN = Medium("plain", "plain", lambda text: text, 4000, "")


@pytest.fixture(autouse=True)
def _shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def incident():
    channel = ChannelFactory(name="Databases")
    incident = IncidentFactory(
        channel=channel,
        title="Disk 95% full on db-1",
        severity="critical",
        created_at=NOW - timedelta(minutes=30),
    )
    for number, resource in enumerate(["db-1", "db-2", "db-1"]):
        AlertFactory(
            incident=incident,
            channel=channel,
            title=f"alert {number}",
            description="Disk is almost full",
            labels={"resource": resource, "service": "pg", "A.B": "dotted", "rule_note": NOTE},
            first_seen=NOW - timedelta(minutes=30 - number),
            last_seen=NOW - timedelta(minutes=5),
        )
    incident.alert_count = 3
    incident.save()
    return incident


NOTE = (
    '{"detail_url": "https://grafana.example.com/d/1", '
    '"hosts": [{"userId": 7777, "instanceId": "i-1"}, {"userId": 1, "instanceId": "i-2"}, '
    '{"userId": 7777, "instanceId": "i-3"}]}'
)


def rendered(template: str, incident, medium: Medium = PLAIN) -> str:
    return render(template, variables(incident, medium, now=NOW), medium)


# --- The knowledge base's examples, converted ----------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ Title }}", "Disk 95% full on db-1"),
        ("{{ Labels.resource }}", "db-1"),
        ('{{ Labels["A.B"] }} {{ index(Labels, "A.B") }}', "dotted dotted"),
        ("{{ Labels.missing }}|{% if Labels.missing %}x{% endif %}", "|"),
        ("{{ IncidentSeverity }} {{ Progress }} {{ AlertCnt }}", "Critical Triggered 3"),
        (
            '{{ toHtml(Title, "English") }}|{{ toHtml("", Title) }}',
            "Disk 95% full on db-1|Disk 95% full on db-1",
        ),
        ('{{ date("2006-01-02 15:04:05", StartTime) }}', "2026-11-21 09:30:00"),
        ("{{ ago(StartTime) }}", "30 minutes"),
        ('{{ alertLabels(root, "resource") }}', "db-1, db-2"),
        ('{{ joinAlertLabels(root, "resource", " / ") }}', "db-1 / db-2"),
        ('{{ jsonGet(Labels.rule_note, "detail_url") }}', "https://grafana.example.com/d/1"),
        ('{{ jsonGet(Labels.rule_note, "hosts.0.instanceId") }}', "i-1"),
        ('{{ jsonGet(Labels.rule_note, "hosts.#(userId==7777)#.instanceId") }}', "i-1, i-3"),
        ('{{ jsonGet(Labels.rule_note, "hosts.#(userId==1).instanceId") }}', "i-2"),
        ('{{ jsonGet(Labels.rule_note, "hosts.#") }}', "3"),
        ('{{ jsonGet("not json", "a") }}|{{ jsonGet(Labels.rule_note, "nope.x") }}', "|"),
        ("{% if AlertCnt > 1 and Progress == 'Triggered' %}many{% endif %}", "many"),
        ('{% if gt(AlertCnt, 1) and ne(Progress, "Closed") %}yes{% endif %}', "yes"),
        ('{% if not (Title == "x") or false %}not x{% endif %}', "not x"),
        (
            "{{ colorSeverity(IncidentSeverity) }} {{ toSeverity(IncidentSeverity) }}",
            "#C80000 Critical",
        ),
        ("{{ trunc(4, Title) }} {{ clip(Title, 5) }}", "Disk Disk…"),
    ],
)
def test_each_example_renders_as_documented(incident, template, expected):
    assert rendered(template, incident) == expected


def test_labels_iterate_and_exclude_as_the_examples_show(incident):
    every = "{% for k, v in Labels|dictsort %}{{ k }} : {{ v }}\n{% endfor %}"
    but_one = '{% for k, v in Labels|dictsort if k != "resource" %}{{ k }}={{ v }}\n{% endfor %}'
    but_some = (
        '{% for k, v in Labels|dictsort %}{% if k not in ["resource", "rule_note", "A.B"] %}'
        "{{ k }}={{ v }}{% endif %}{% endfor %}"
    )

    assert rendered(every, incident).splitlines()[0] == "A.B : dotted"
    assert "resource=" not in rendered(but_one, incident)
    assert rendered(but_some, incident) == "service=pg"


def test_an_outer_variable_inside_a_loop_needs_nothing_special(incident):
    alice = UserFactory(username="alice", email="alice@example.com")
    incident.assigned_to = alice
    incident.save()
    template = (
        '{% for r in Responders %}{% if Progress == "Triggered" %}'
        "【Pending】{{ r.Email }}{% endif %}{% endfor %}"
    )

    assert rendered(template, incident) == "【Pending】alice@example.com"


def test_images_give_a_url_only_for_web_addresses(incident):
    alert = incident.alerts.order_by("first_seen").first()
    alert.images = [{"src": "https://img.example.com/a.png", "alt": "cpu"}, {"src": "img_v2_x"}]
    alert.save()
    template = (
        "{% for v in Images %}{% set url = imageSrcToURL(root, v.Src) %}"
        "{% if url %}![{{ v.Alt }}]({{ url }}){% endif %}{% endfor %}"
    )

    assert rendered(template, incident) == "![cpu](https://img.example.com/a.png)"


def test_the_knowledge_base_sms_default_renders(incident):
    sms = (
        "You have a pending incident: {{ toHtml(Title) }}, Channel: {{ ChannelName }}, "
        "Severity: {{ IncidentSeverity }}{% if AlertCnt > 1 %}, {{ AlertCnt }} alerts grouped"
        "{% endif %}"
    )

    assert rendered(sms, incident) == (
        "You have a pending incident: Disk 95% full on db-1, Channel: Databases, "
        "Severity: Critical, 3 alerts grouped"
    )


def test_the_feishu_default_shows_the_body_resource_and_labels(incident):
    body = rendered(FEISHU_CARD.default, incident, FEISHU_CARD)

    assert body.splitlines() == [
        "Disk is almost full",
        "**resource**: db-1, db-2",
        "**A.B**: dotted",
        f"**rule&#95;note**: {escape_lark_md(NOTE)}",
        "**service**: pg",
    ]


# --- The sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ Title.__class__ }}",
        "{{ root.__class__.__mro__ }}",
        "{{ joinAlertLabels.__globals__ }}",
        "{{ (1).__class__.__subclasses__() }}",
    ],
)
def test_private_attributes_are_refused(incident, template):
    with pytest.raises(TemplateFailure, match="not allowed"):
        rendered(template, incident)


@pytest.mark.parametrize(
    "template",
    [
        "{% include 'x.html' %}",
        "{% import 'x.html' as x %}",
        "{{ lipsum() }}",
        "{% set ns = namespace(x=1) %}",
        "{{ cycler }}{{ range(100000) }}",
        "{{ Title|safe }}",
    ],
)
def test_nothing_outside_the_template_is_reachable(incident, template):
    with pytest.raises(TemplateFailure):
        rendered(template, incident)


def test_a_loop_past_the_time_limit_is_stopped(incident):
    endless = (
        "{% set r = range(1000)|list %}{% for a in r %}{% for b in r %}{% for c in r %}"
        "{% endfor %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()

    with pytest.raises(TemplateFailure, match=r"longer than 0\.2 s"):
        render(endless, variables(incident, PLAIN, now=NOW), PLAIN, time_limit_seconds=0.2)

    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "template",
    ['{{ "x" * 100000000 }}', "{{ 2 ** 100000 }}", '{{ Title|replace("", "x" * 100000) }}'],
)
def test_values_cannot_grow_past_the_limit(incident, template):
    with pytest.raises(TemplateFailure):
        rendered(template, incident)


def test_oversize_output_is_cut_visibly_or_refused(incident):
    small = Medium("small", "small", lambda text: text, 20, "")
    template = "{% for i in range(100) %}{{ i }} {% endfor %}"

    assert rendered(template, incident, small) == "0 1 2 3 4 5 6 7 8 9…"
    with pytest.raises(TemplateFailure, match="longer than 20"):
        render(template, variables(incident, small, now=NOW), small, cut=False)


def test_syntax_errors_name_the_line():
    with pytest.raises(TemplateFailure) as failure:
        render("ok\n{% if %}", {}, PLAIN)

    assert failure.value.line == 2


def test_unknown_names_are_listed_for_the_editor(incident):
    known = variables(incident, PLAIN, now=NOW)

    with pytest.raises(TemplateFailure, match="line 1"):
        unknown_names("{{ .Title }}", known)  # Go's syntax, not converted
    assert unknown_names("{{ Titel }} {{ joinLabels(root) }} {{ Title }}", known) == [
        "Titel",
        "joinLabels",
    ]
    assert unknown_names("{% for i in range(3) %}{{ i }}{{ loop.index }}{% endfor %}", known) == []


# --- Escaping ------------------------------------------------------------------------------------


def test_markup_from_alerts_is_escaped_in_the_feishu_body(incident):
    alert = incident.alerts.order_by("first_seen").first()
    alert.description = "Call <at id=all></at> [here](https://evil.example) **now**"
    alert.labels = {"owner": '<at user_id="ou_1">boss</at>', "resource": "[x](y)"}
    alert.save()

    body = rendered(FEISHU_CARD.default, incident, FEISHU_CARD)

    assert "<at" not in body
    assert "](" not in body
    assert "**now**" not in body
    assert body.splitlines()[0] == escape_lark_md(
        "Call <at id=all></at> [here](https://evil.example) **now**"
    )


def test_the_admins_own_markup_is_kept(incident):
    assert rendered("**{{ Title }}** [open]({{ DetailUrl }})", incident, FEISHU_CARD) == (
        f"**Disk 95% full on db-1** [open]({incident_url_of(incident)})"
    )


def incident_url_of(incident) -> str:
    return escape_lark_md(f"https://oncall.example.com/incidents/{incident.public_id}/")


# --- Templates chosen and failing ----------------------------------------------------------------


def body_of(card: dict) -> str:
    return card["elements"][2]["text"]["content"]


def test_a_channels_template_changes_its_cards(incident):
    incident.channel.notification_template = NotificationTemplate.objects.create(
        name="Short", bodies={"feishu_card": "**{{ Title }}** on {{ Labels.resource }}"}
    )
    incident.channel.save()

    assert body_of(incident_card(incident, now=NOW)) == "**Disk 95% full on db-1** on db-1"


def test_a_rules_template_overrides_the_channels(incident):
    incident.channel.notification_template = NotificationTemplate.objects.create(
        name="Channel", bodies={"feishu_card": "channel"}
    )
    incident.channel.save()
    rule = EscalationRuleFactory(
        channel=incident.channel,
        notification_template=NotificationTemplate.objects.create(
            name="Rule", bodies={"feishu_card": "rule"}
        ),
    )
    incident.escalation_rule = rule
    incident.save()

    assert body_of(incident_card(incident, now=NOW)) == "rule"


def test_a_medium_without_a_body_uses_the_default(incident):
    template = NotificationTemplate.objects.create(name="Empty", bodies={})
    incident.channel.notification_template = template
    incident.channel.save()

    assert render_for(incident, FEISHU_CARD, now=NOW).text.startswith("Disk is almost full")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{{ Title.__class__ }}", "not allowed"),
        ("{% for a in range(1000) %}{% for b in range(1000) %}{{ a }}{% endfor %}{% endfor %}", ""),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
    ],
)
def test_a_failing_template_falls_back_and_says_so_once(incident, body, reason):
    template = NotificationTemplate.objects.create(name="Broken", bodies={"feishu_card": body})
    incident.channel.notification_template = template
    incident.channel.save()

    first = incident_card(incident, now=NOW)
    incident_card(incident, now=NOW)  # a second render (a sync) says nothing more

    assert body_of(first).startswith("Disk is almost full")  # the built-in body, not nothing
    entries = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.TEMPLATE_FAILED
    )
    assert entries.count() == 1
    assert "'Broken' could not be rendered" in entries.get().message
    template.refresh_from_db()
    assert template.error_count == 2
    assert template.last_error_incident == incident
    assert reason in template.last_error


# --- The admin's editor -------------------------------------------------------------------------


def test_the_editor_starts_from_the_default_and_keeps_following_it(admin_client):
    page = admin_client.get("/admin/oncall/notificationtemplate/add/")

    assert page.status_code == 200
    assert "joinAlertLabels(root, &quot;resource&quot;" in page.content.decode()

    response = admin_client.post(
        "/admin/oncall/notificationtemplate/add/",
        {"name": "Unchanged", "description": "", "body_feishu_card": FEISHU_CARD.default},
    )

    assert response.status_code == 302
    assert NotificationTemplate.objects.get(name="Unchanged").bodies == {}


def test_a_broken_body_is_refused_with_its_line(admin_client):
    response = admin_client.post(
        "/admin/oncall/notificationtemplate/add/",
        {"name": "Broken", "body_feishu_card": "fine\n{% if %}"},
    )

    assert response.status_code == 200
    assert "line 2" in response.content.decode()
    assert not NotificationTemplate.objects.exists()


def test_unknown_names_are_refused_by_name(admin_client):
    response = admin_client.post(
        "/admin/oncall/notificationtemplate/add/",
        {"name": "Typo", "body_feishu_card": "{{ Titel }}"},
    )

    assert "Unknown variables or functions: Titel." in response.content.decode()


def test_reset_puts_the_default_back(admin_client):
    template = NotificationTemplate.objects.create(name="Mine", bodies={"feishu_card": "x"})

    admin_client.post(
        f"/admin/oncall/notificationtemplate/{template.pk}/change/",
        {"name": "Mine", "body_feishu_card": "x", "reset_feishu_card": "on"},
    )

    template.refresh_from_db()
    assert template.bodies == {}


def test_the_preview_renders_without_saving(admin_client, incident):
    response = admin_client.post(
        "/admin/oncall/notificationtemplate/preview/",
        {"body_feishu_card": "**{{ Title }}** ({{ AlertCnt }})", "preview_incident": incident.pk},
    )

    assert response.json()["media"]["feishu_card"] == {
        "text": "**Disk 95% full on db-1** (3)",
        "error": "",
        "default": False,
    }
    assert not NotificationTemplate.objects.exists()


def test_the_preview_on_the_sample_says_what_fails(admin_client):
    response = admin_client.post(
        "/admin/oncall/notificationtemplate/preview/", {"body_feishu_card": "{{ 1 / 0 }}"}
    )

    assert "ZeroDivisionError" in response.json()["media"]["feishu_card"]["error"]


def test_the_preview_needs_the_permission_and_a_csrf_token(client, admin_user):
    from django.test import Client

    staff = UserFactory(username="viewer", is_staff=True)
    client.force_login(staff)
    assert client.post("/admin/oncall/notificationtemplate/preview/").status_code == 403

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert strict.post("/admin/oncall/notificationtemplate/preview/").status_code == 403


def test_the_page_shows_the_last_failure(admin_client, incident):
    template = NotificationTemplate.objects.create(
        name="Failing", bodies={"feishu_card": "{{ 1 / 0 }}"}
    )
    incident.channel.notification_template = template
    incident.channel.save()
    incident_card(incident, now=NOW)

    page = admin_client.get(f"/admin/oncall/notificationtemplate/{template.pk}/change/")

    text = page.content.decode()
    assert "ZeroDivisionError" in text
    assert f"#{incident.number}" in text
    assert "Databases" in text  # used by


# --- The API ---------------------------------------------------------------------------------


@pytest.fixture
def api():
    from tests.factories import api_as, staff_user

    return api_as(
        staff_user(
            "ada",
            "oncall.add_notificationtemplate",
            "oncall.change_notificationtemplate",
            "oncall.view_notificationtemplate",
            "oncall.change_channel",
            "oncall.view_channel",
        )
    )


def test_the_api_creates_checks_and_previews_templates(api, incident):
    bad = api.post(
        "/api/v1/notification-templates/",
        {"name": "Bad", "bodies": {"feishu_card": "{% for %}", "telex": "x"}},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"bodies"}
    assert "line 1" in str(bad.json()["error"])
    assert "telex" in str(bad.json()["error"])

    good = api.post(
        "/api/v1/notification-templates/",
        {"name": "Good", "bodies": {"feishu_card": "{{ Title }}"}},
        format="json",
    )
    assert good.status_code == 201, good.json()

    shown = api.post(
        "/api/v1/notification-templates/preview/",
        {"bodies": {"feishu_card": "#{{ Num }}"}, "incident": str(incident.public_id)},
        format="json",
    )
    assert shown.json()["media"]["feishu_card"]["text"] == f"#{incident.number}"

    channel = api.patch(
        f"/api/v1/channels/{incident.channel.public_id}/",
        {"notification_template": good.json()["id"]},
        format="json",
    )
    assert channel.status_code == 200, channel.json()
    incident.channel.refresh_from_db()
    assert body_of(incident_card(incident, now=NOW)) == "Disk 95% full on db-1"
