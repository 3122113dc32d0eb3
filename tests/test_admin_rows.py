"""Structured JSON in the admin edited as rows (``oncall.admin.structured``): matchers as (key,
operator, value), conditions in OR groups, lists of labels and keys, severity overrides as
pairs. Posting rows stores what the API would store; a bad row is refused at that row and
nothing is saved; stored JSON comes back as rows."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oncall.models import AlertSource, Channel, EscalationRule, InhibitRule, Route, Silence
from tests.escalation_rule_requests import MEMBERS, rule_form
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    RouteFactory,
    UserFactory,
    api_as,
)

pytestmark = pytest.mark.django_db

MATCHERS = [
    {"key": "labels.team", "op": "eq", "value": "db"},
    {"key": "title", "op": "re", "value": "Disk .*"},
    {"key": "labels.canary", "op": "absent", "value": ""},
]


def matcher_rows(name: str, matchers: list[dict], groups: list[int] | None = None) -> dict:
    """What the browser posts for ``matchers`` in the rows editor called ``name``."""
    rows = {
        f"{name}-rows": "1",
        f"{name}-key": [m["key"] for m in matchers],
        f"{name}-op": [m["op"] for m in matchers],
        f"{name}-value": [m["value"] for m in matchers],
    }
    if groups is not None:
        rows[f"{name}-group"] = [str(g) for g in groups]
    return rows


def shared_source_form(source: AlertSource, channel: Channel, **route: object) -> dict:
    return {
        "name": source.name,
        "kind": source.kind,
        "enabled": "on",
        "channel": "",
        "severity_overrides-rows": "1",
        "routes-TOTAL_FORMS": "1",
        "routes-INITIAL_FORMS": "0",
        "routes-0-position": "1",
        "routes-0-name": "db team",
        "routes-0-stop": "on",
        "routes-0-channels": [str(channel.pk)],
        "pipeline_rules-TOTAL_FORMS": "0",
        "pipeline_rules-INITIAL_FORMS": "0",
        **route,
    }


def test_route_rows_store_what_the_api_stores(admin_client, admin_user, channel):
    source = AlertSourceFactory(channel=None, name="Shared")
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    form = shared_source_form(source, channel, **matcher_rows("routes-0-matchers", MATCHERS))
    assert admin_client.post(url, form).status_code == 302

    api = api_as(admin_user)
    posted = {
        "source": str(source.public_id),
        "position": 2,
        "name": "through the API",
        "channels": [str(channel.public_id)],
        "matchers": MATCHERS,
    }
    assert api.post("/api/v1/routes/", posted, format="json").status_code == 201
    by_admin, by_api = Route.objects.order_by("position")
    assert by_admin.matchers == by_api.matchers == MATCHERS


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"key": "labels.team", "op": "like", "value": "db"}, "Choose an operator."),
        ({"key": "title", "op": "re", "value": "Disk (.*"}, "Not a valid regular expression"),
        ({"key": "hostname", "op": "eq", "value": "db-1"}, "The key must be labels.&lt;name&gt;"),
    ],
)
def test_a_bad_matcher_is_refused_at_its_row_and_nothing_is_saved(
    admin_client, channel, bad, message
):
    source = AlertSourceFactory(channel=None, name="Shared")
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    rows = matcher_rows("routes-0-matchers", [MATCHERS[0], bad])
    response = admin_client.post(url, shared_source_form(source, channel, **rows))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Correct the row marked below." in page
    second_row = page.index('value="labels.team"')  # the good row comes first, unmarked
    marked = page.index('class="row-with-error"')
    assert second_row < marked < page.index(message)
    assert page.count('class="row-with-error"') == 1
    assert not Route.objects.exists()


def test_stored_matchers_are_shown_as_rows(admin_client, channel):
    source = AlertSourceFactory(channel=None)
    RouteFactory(source=source, matchers=MATCHERS, channels=[channel])
    page = admin_client.get(reverse("admin:oncall_alertsource_change", args=[source.pk]))
    html = page.content.decode()
    assert 'name="routes-0-matchers-key" value="labels.team"' in html
    assert 'name="routes-0-matchers-value" value="Disk .*"' in html
    assert '<option value="absent" selected>' in html
    assert "oncall/rows.js" in html
    assert "csrfmiddlewaretoken" in html
    # the inline's blank form carries a blank row for "add another route" to copy
    assert 'name="routes-__prefix__-matchers-key"' in html


def test_a_rule_s_matchers_are_rows_too(admin_client, channel):
    rows = matcher_rows("matchers", MATCHERS[:2])
    level = {"position": "0", "escalate_after_minutes": "30", **MEMBERS}
    form = rule_form(channel, level, **rows)
    response = admin_client.post(reverse("admin:oncall_escalationrule_add"), form)
    assert response.status_code == 302
    rule = EscalationRule.objects.get(name="Databases, nights")
    assert rule.matchers == MATCHERS[:2]

    page = admin_client.get(reverse("admin:oncall_escalationrule_change", args=[rule.pk]))
    assert 'name="matchers-value" value="Disk .*"' in page.content.decode()


def test_removing_every_row_clears_the_matchers(admin_client, channel):
    rule = EscalationRuleFactory(channel=channel, matchers=MATCHERS)
    EscalationLevelFactory(rule=rule, notify_channel_members=True)
    form = rule_form(channel, **{"matchers-rows": "1"})
    form.pop("matchers-key"), form.pop("matchers-op"), form.pop("matchers-value")
    form.update(
        {
            "levels-TOTAL_FORMS": "1",
            "levels-INITIAL_FORMS": "1",
            "levels-0-id": str(rule.levels.get().pk),
            "levels-0-rule": str(rule.pk),
            "levels-0-position": "0",
            "levels-0-notify_channel_members": "on",
            "levels-0-escalate_after_minutes": "30",
            "levels-0-repeat_times": "0",
        }
    )
    response = admin_client.post(
        reverse("admin:oncall_escalationrule_change", args=[rule.pk]), form
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.matchers == []


def test_condition_groups_store_a_list_of_lists_and_one_group_a_flat_list(admin_client, channel):
    base = {"channel": channel.pk, "name": "night", "enabled": "on", "behaviour": "drop"}
    base |= {"kind": "once", "starts_at_0": "2026-01-01", "starts_at_1": "00:00"}
    base |= {"ends_at_0": "2026-01-02", "ends_at_1": "00:00", "time_zone": "UTC"}
    url = reverse("admin:oncall_silence_add")
    two = matcher_rows("condition", MATCHERS[:2], groups=[1, 2])
    assert admin_client.post(url, {**base, **two}).status_code == 302
    assert Silence.objects.get().condition == [[MATCHERS[0]], [MATCHERS[1]]]

    Silence.objects.all().delete()
    one = matcher_rows("condition", MATCHERS[:2], groups=[1, 1])
    assert admin_client.post(url, {**base, **one}).status_code == 302
    assert Silence.objects.get().condition == MATCHERS[:2]


def test_stored_condition_groups_come_back_numbered(admin_client, channel):
    rule = InhibitRule.objects.create(
        name="r", channel=channel, new_alert_condition=[[MATCHERS[0]], [MATCHERS[1]]]
    )
    page = admin_client.get(reverse("admin:oncall_inhibitrule_change", args=[rule.pk]))
    html = page.content.decode()
    assert 'name="new_alert_condition-group" value="2"' in html
    assert 'name="new_alert_condition-value" value="Disk .*"' in html


def test_severity_overrides_are_pairs(admin_client, channel):
    form = {
        "name": "Zabbix",
        "kind": "alertmanager",
        "channel": channel.pk,
        "severity_overrides-rows": "1",
        "severity_overrides-key": ["P1", "disaster"],
        "severity_overrides-value": ["critical", "critical"],
    }
    assert admin_client.post(reverse("admin:oncall_alertsource_add"), form).status_code == 302
    source = AlertSource.objects.get(name="Zabbix")
    assert source.severity_overrides == {"P1": "critical", "disaster": "critical"}
    page = admin_client.get(reverse("admin:oncall_alertsource_change", args=[source.pk]))
    assert 'name="severity_overrides-key" value="disaster"' in page.content.decode()


def test_group_by_labels_are_a_list_and_a_repeated_label_is_refused(admin_client):
    form = {
        "name": "Databases",
        "group_by_labels-rows": "1",
        "group_by_labels-item": ["cluster", "alertname"],
        "storm_thresholds-rows": "1",
        "storm_thresholds-item": ["50", "200"],
        "grouping_branches": "[]",
        "flapping": "off",
        "flapping_times": "3",
        "flapping_minutes": "60",
    }
    assert admin_client.post(reverse("admin:oncall_channel_add"), form).status_code == 302
    channel = Channel.objects.get(name="Databases")
    assert channel.group_by_labels == ["cluster", "alertname"]
    assert channel.storm_thresholds == [50, 200]

    again = {**form, "name": "Web", "group_by_labels-item": ["cluster", "cluster"]}
    response = admin_client.post(reverse("admin:oncall_channel_add"), again)
    assert "This one is already in the list." in response.content.decode()
    assert not Channel.objects.filter(name="Web").exists()


CHANNEL_FORM = {
    "name": "Databases",
    "group_by_labels-rows": "1",
    "storm_thresholds-rows": "1",
    "flapping": "off",
    "flapping_times": "3",
    "flapping_minutes": "60",
}


def branch_rows(rows: list[tuple[str, str, str, str, str, str]]) -> dict:
    """What the browser posts for grouping branch rows (branch, labels, group, key, op, value)."""
    columns = ["branch", "group_by", "group", "key", "op", "value"]
    return {
        "grouping_branches-rows": "1",
        **{f"grouping_branches-{c}": [row[i] for row in rows] for i, c in enumerate(columns)},
    }


def test_grouping_branches_are_rows_of_numbered_branches(admin_client):
    rows = [
        ("1", "cluster", "1", "labels.team", "eq", "db"),
        ("1", "", "2", "title", "re", "Disk .*"),
        ("2", "service region", "1", "labels.env", "eq", "prod"),
    ]
    form = {**CHANNEL_FORM, **branch_rows(rows)}

    assert admin_client.post(reverse("admin:oncall_channel_add"), form).status_code == 302

    channel = Channel.objects.get(name="Databases")
    assert channel.grouping_branches == [
        {
            "condition": [
                [{"key": "labels.team", "op": "eq", "value": "db"}],
                [{"key": "title", "op": "re", "value": "Disk .*"}],
            ],
            "group_by": ["cluster"],
        },
        {
            "condition": [{"key": "labels.env", "op": "eq", "value": "prod"}],
            "group_by": ["service", "region"],
        },
    ]
    page = admin_client.get(reverse("admin:oncall_channel_change", args=[channel.pk]))
    assert page.context["adminform"].form["grouping_branches"].value() == [
        {"branch": "1", "group_by": "cluster", **row}
        for row in [
            {"group": "1", "key": "labels.team", "op": "eq", "value": "db"},
            {"group": "2", "key": "title", "op": "re", "value": "Disk .*"},
        ]
    ] + [
        {"branch": "2", "group_by": "service region", "group": "1", "key": "labels.env"}
        | {"op": "eq", "value": "prod"}
    ]


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([("1", "", "1", "labels.team", "eq", "db")], "Give the branch the labels to group by."),
        (
            [("1", "cluster", "1", "labels.a", "eq", "x"), ("1", "host", "1", "title", "eq", "y")],
            "Another row of this branch groups by other labels.",
        ),
        ([("first", "cluster", "1", "title", "eq", "x")], "The branch is a number from 1."),
        ([("1", "cluster", "1", "nonsense", "eq", "x")], "The key must be labels."),
    ],
)
def test_a_bad_branch_row_is_refused_at_its_row(admin_client, rows, problem):
    form = {**CHANNEL_FORM, **branch_rows(rows)}

    response = admin_client.post(reverse("admin:oncall_channel_add"), form)

    assert problem in response.content.decode()
    assert not Channel.objects.exists()


def test_the_rows_read_in_chinese(admin_client, channel):
    source = AlertSourceFactory(channel=None)
    RouteFactory(source=source, matchers=MATCHERS, channels=[channel])
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    html = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for words in ("添加匹配条件", "运算符", "不存在", "删除"):
        assert words in html
    for english in ("Add a matcher", ">Operator<", "does not exist", ">Remove<"):
        assert english not in html


def test_only_staff_who_may_change_sources_can_post_rows(client, channel):
    source = AlertSourceFactory(channel=None, name="Shared")
    client.force_login(UserFactory(username="viewer", is_staff=True))
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    response = client.post(url, shared_source_form(source, channel, **matcher_rows("x", [])))
    assert response.status_code == 403
    assert not Route.objects.exists()


@pytest.fixture
def channel():
    return ChannelFactory(name="Databases team")


def pipeline_form(action: str, labels: dict[str, str]) -> dict:
    return {
        "pipeline_rules-TOTAL_FORMS": "1",
        "pipeline_rules-INITIAL_FORMS": "0",
        "pipeline_rules-0-position": "1",
        "pipeline_rules-0-enabled": "on",
        "pipeline_rules-0-action": action,
        "pipeline_rules-0-template": "",
        **matcher_rows("pipeline_rules-0-condition", MATCHERS[:1]),
        "pipeline_rules-0-labels-rows": "1",
        "pipeline_rules-0-labels-key": list(labels),
        "pipeline_rules-0-labels-value": list(labels.values()),
    }


@pytest.mark.parametrize(
    ("action", "labels", "stored"),
    [
        ("set_labels", {"team": "db", "where": "{{ Labels.dc }}"}, None),
        ("remove_labels", {"pod": "", "value": ""}, ["pod", "value"]),
    ],
)
def test_pipeline_labels_are_pairs_or_names(admin_client, channel, action, labels, stored):
    source = AlertSourceFactory(channel=channel, name="Private")
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    form = {"name": source.name, "kind": source.kind, "channel": channel.pk}
    form |= {"severity_overrides-rows": "1", **pipeline_form(action, labels)}
    assert admin_client.post(url, form).status_code == 302
    rule = source.pipeline_rules.get()
    assert rule.condition == MATCHERS[:1]
    assert rule.labels == (labels if stored is None else stored)
    page = admin_client.get(url).content.decode()
    assert 'name="pipeline_rules-0-labels-key" value="pod"' in page or action == "set_labels"


def test_trying_the_pipeline_reads_the_rows_as_posted(admin_client, channel):
    source = AlertSourceFactory(channel=channel)
    url = reverse("admin:oncall_alertsource_try_pipeline", args=[source.pk])
    bad = pipeline_form("set_labels", {"team": "db"})
    bad["pipeline_rules-0-condition-op"] = ["like"]
    answer = admin_client.post(url, {**bad, "event": "0"}).json()
    assert answer["errors"]["1 condition"] == ["Correct the row marked below."]


def test_a_new_inline_form_with_its_hidden_initial_value_saves(admin_client, channel):
    """The browser posts ``initial-…`` for a model field with a callable default (Django's
    show_hidden_initial); a rows editor has no such input and must not trip on one."""
    source = AlertSourceFactory(channel=None, name="Shared")
    url = reverse("admin:oncall_alertsource_change", args=[source.pk])
    rows = matcher_rows("routes-0-matchers", MATCHERS[:1])
    form = shared_source_form(source, channel, **rows, **{"initial-routes-0-matchers": "[]"})
    assert admin_client.post(url, form).status_code == 302
    assert Route.objects.get().matchers == MATCHERS[:1]
    page = admin_client.get(url).content.decode()
    assert 'name="initial-routes-0-matchers"' not in page
