"""Alert pipelines: a source's ordered rules change or drop its events before routing, and every
event records the rules that changed it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from oncall.events import AlertEvent, EventKind, Severity
from oncall.models import Alert, AlertSource, InboundEvent, Incident, PipelineRule
from oncall.noise.pipelines import Pipeline, dropped_today, recent_events, try_rules
from tests.factories import AlertSourceFactory, ChannelFactory, RouteFactory
from tests.noise.pushes import standard_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(channel):
    """A standard-protocol source (this module pushes with ``emit``)."""
    return standard_source(channel)


Action = PipelineRule.Action


def rule(source, position: int, action: str, condition=(), **fields) -> PipelineRule:
    made = PipelineRule(
        source=source, position=position, action=action, condition=list(condition), **fields
    )
    made.full_clean()
    made.save()
    return made


def eq(key: str, value: str) -> dict[str, str]:
    return {"key": key, "op": "eq", "value": value}


def event(**changes) -> AlertEvent:
    base = {
        "alert_key": "k",
        "kind": EventKind.FIRING,
        "title": "CPU high",
        "severity": Severity.WARNING,
        "labels": {"env": "prod", "service": "payment"},
    }
    return AlertEvent(**{**base, **changes})


def test_it_runs_rules_in_order_each_on_what_the_last_made(source):
    rule(source, 2, Action.SET_TITLE, [eq("labels.tier", "gold")], template="[gold] {{ Title }}")
    rule(source, 1, Action.SET_LABELS, [eq("labels.service", "payment")], labels={"tier": "gold"})
    out = Pipeline.load(source).run(event())
    assert out.title == "[gold] CPU high"
    assert out.labels["tier"] == "gold"
    assert [step.action for step in out.pipeline] == ["set_labels", "set_title"]


def test_a_condition_is_and_within_a_group_and_or_between_groups(source):
    condition = [[eq("labels.env", "prod"), eq("severity", "critical")], [eq("title", "Disk")]]
    rule(source, 1, Action.SET_SEVERITY, condition, severity="info")
    pipeline = Pipeline.load(source)
    assert pipeline.run(event()).severity == Severity.WARNING  # prod but not critical
    assert pipeline.run(event(severity=Severity.CRITICAL)).severity == Severity.INFO
    assert pipeline.run(event(title="Disk")).severity == Severity.INFO


def test_it_rewrites_the_description_and_removes_labels(source):
    rule(source, 1, Action.SET_DESCRIPTION, template="Runbook: https://rb/{{ Labels.service }}")
    rule(source, 2, Action.REMOVE_LABELS, labels=["env"])
    out = Pipeline.load(source).run(event())
    assert out.description == "Runbook: https://rb/payment"
    assert out.labels == {"service": "payment"}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_templates_see_the_severity_as_the_knowledge_base_names_it_in_any_language(
    source, language
):
    rule(source, 1, Action.SET_TITLE, template="[{{ Severity }}/{{ EventSeverity }}] {{ Title }}")
    with translation.override(language):
        out = Pipeline.load(source).run(event(severity=Severity.CRITICAL))
    assert out.title == "[Critical/Critical] CPU high"


def test_a_rule_that_changes_nothing_is_not_recorded(source):
    rule(source, 1, Action.SET_SEVERITY, severity="warning")
    assert Pipeline.load(source).run(event()).pipeline == ()


def test_a_drop_stops_the_pipeline_but_never_drops_a_recovery(source):
    rule(source, 1, Action.DROP, [eq("labels.env", "prod")])
    rule(source, 2, Action.SET_TITLE, template="after")
    pipeline = Pipeline.load(source)
    firing = pipeline.run(event())
    assert firing.dropped
    assert [s.action for s in firing.pipeline] == ["drop"]
    recovery = pipeline.run(event(kind=EventKind.RESOLVED))
    assert not recovery.dropped
    assert recovery.title == "after"


def test_a_disabled_rule_does_not_run(source):
    rule(source, 1, Action.DROP, enabled=False)
    assert not Pipeline.load(source).run(event()).dropped


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"action": Action.SET_SEVERITY}, "severity"),
        ({"action": Action.SET_TITLE, "template": "{{ Title "}, "template"),
        ({"action": Action.SET_TITLE, "template": "{{ Nope }}"}, "template"),
        ({"action": Action.SET_LABELS, "labels": ["x"]}, "labels"),
        ({"action": Action.REMOVE_LABELS, "labels": {}}, "labels"),
        ({"action": Action.DROP, "condition": [{"key": "nope"}]}, "condition"),
        ({"action": Action.DROP, "condition": [[]]}, "condition"),
    ],
)
def test_it_refuses_a_rule_it_could_not_run(source, fields, field):
    with pytest.raises(ValidationError) as refused:
        PipelineRule(source=source, **fields).full_clean()
    assert field in refused.value.message_dict


# --- Through ingestion --------------------------------------------------------------------------


def test_it_runs_before_routing_so_a_label_it_adds_picks_the_channel(push, emit):
    from tests.factories import AlertSourceFactory

    shared = AlertSourceFactory(channel=None, kind="standard", name="Shared")
    payments, other = ChannelFactory(name="Payments"), ChannelFactory(name="Other")
    RouteFactory(source=shared, matchers=[eq("labels.team", "payments")], channels=[payments])
    RouteFactory(source=shared, is_default=True, channels=[other])
    rule(
        shared, 1, Action.SET_LABELS, [eq("labels.service", "payment")], labels={"team": "payments"}
    )

    emit(to=shared, service="payment")

    assert Incident.objects.get().channel == payments


def test_the_alert_records_which_rules_changed_its_event(emit, source, channel):
    made = rule(source, 1, Action.SET_SEVERITY, name="Payments are critical", severity="critical")
    emit(status="Warning")

    alert = Alert.objects.get()
    assert alert.severity == "critical"
    assert alert.pipeline == [
        {"rule": str(made.public_id), "name": "Payments are critical", "action": "set_severity"}
    ]
    stored = InboundEvent.objects.get().events[0]
    assert stored["original"]["severity"] == "warning"  # the event as sent, for the preview


def test_a_dropped_event_is_kept_marked_with_no_incident_and_counted(emit, source):
    rule(source, 1, Action.DROP, [eq("labels.env", "dev")], name="No dev")
    response = emit(env="dev")

    alert = Alert.objects.get()
    assert alert.incident is None
    assert alert.suppressed == Alert.Suppression.PIPELINE_DROPPED
    assert alert.suppressed_detail["rules"][0]["name"] == "No dev"
    assert Incident.objects.count() == 0
    assert "dropped by the source's pipeline" in " ".join(response.json()["notes"])
    emit(env="dev")
    alert.refresh_from_db()
    assert (alert.event_count, alert.incident) == (2, None)
    assert dropped_today(source) == 2


def test_a_dropped_alert_recovers_and_one_no_longer_dropped_opens_its_incident(emit, source):
    dropping = rule(source, 1, Action.DROP)
    emit()
    emit(status="Ok")
    assert Alert.objects.get().status == "resolved"
    emit(key="other")
    dropping.delete()
    emit(key="other")

    alert = Alert.objects.get(alert_key="other")
    assert alert.suppressed is None
    assert alert.incident is not None


def test_a_dropped_event_of_an_alert_with_an_open_incident_changes_nothing(emit, source):
    emit(title="first")
    rule(source, 1, Action.DROP)
    emit(title="second")
    alert = Alert.objects.get()
    assert (alert.title, alert.event_count, alert.suppressed) == ("first", 1, None)


def test_try_on_a_recent_event_starts_from_what_the_sender_sent(emit, source):
    rule(source, 1, Action.SET_TITLE, template="rewritten")
    emit(title="as sent")
    [recent] = recent_events(source)
    assert recent.title == "as sent"

    unsaved = [PipelineRule(source=source, action=Action.SET_TITLE, template="[x] {{ Title }}")]
    tried = try_rules(unsaved, recent)
    assert tried["after"]["title"] == "[x] as sent"
    assert tried["before"]["title"] == "as sent"
    broken = [PipelineRule(source=source, action=Action.SET_SEVERITY)]
    assert "severity" in try_rules(broken, recent)["errors"]["1"]


# --- Compiled once per version of the rules -----------------------------------------------------


def _titles_after_push(emit, title: str = "CPU high") -> str:
    emit(title)
    return Alert.objects.order_by("-id").first().title


@pytest.mark.parametrize(
    "change",
    [
        "save",
        "delete",
        "queryset_update",
        "queryset_delete",
        "bulk_create",
        "bulk_update",
    ],
)
def test_every_way_of_changing_rules_reaches_the_next_push(emit, source, change):
    """The process keeps the compiled pipeline while the source's version stays, so each write
    path must give the source a new version (or the push would run the old rules)."""
    first = rule(source, 1, Action.SET_TITLE, template="[one] {{ Title }}")
    assert _titles_after_push(emit) == "[one] CPU high"  # compiled and kept

    match change:
        case "save":
            first.template = "[two] {{ Title }}"
            first.save()
        case "delete":
            first.delete()
        case "queryset_update":
            PipelineRule.objects.filter(pk=first.pk).update(template="[two] {{ Title }}")
        case "queryset_delete":
            PipelineRule.objects.filter(source=source).delete()
        case "bulk_create":
            PipelineRule.objects.bulk_create(
                [PipelineRule(source=source, position=0, action=Action.DROP)]
            )
        case "bulk_update":
            first.template = "[two] {{ Title }}"
            PipelineRule.objects.bulk_update([first], ["template"])

    emit("Disk full", key="other")
    latest = Alert.objects.get(alert_key="other")
    expected = {
        "save": ("[two] Disk full", False),
        "delete": ("Disk full", False),
        "queryset_update": ("[two] Disk full", False),
        "queryset_delete": ("Disk full", False),
        "bulk_create": ("Disk full", True),
        "bulk_update": ("[two] Disk full", False),
    }[change]
    assert (latest.title, latest.suppressed == Alert.Suppression.PIPELINE_DROPPED) == expected


def test_a_rule_moved_to_another_source_leaves_both_pipelines_current(emit, source, channel):
    other = AlertSourceFactory(channel=channel, kind="standard", name="Other")
    moved = rule(source, 1, Action.SET_TITLE, template="[moved] {{ Title }}")
    assert _titles_after_push(emit) == "[moved] CPU high"
    emit(to=other, key="before")  # the other source's empty pipeline, compiled and kept

    moved.source = other
    moved.save()

    emit("Disk full", key="here")
    emit("Disk full", key="there", to=other)
    assert Alert.objects.get(alert_key="here").title == "Disk full"
    assert Alert.objects.get(alert_key="there").title == "[moved] Disk full"


def test_saving_a_source_loaded_before_its_rules_changed_keeps_the_new_version(emit, source):
    stale = AlertSource.objects.get(pk=source.pk)
    assert _titles_after_push(emit) == "CPU high"  # no rules: compiled and kept for this version
    rule(source, 1, Action.SET_TITLE, template="[new] {{ Title }}")

    stale.description = "edited in another tab"
    stale.save()  # must not write back the version it loaded, whose pipeline is kept

    assert _titles_after_push(emit, "Disk full") == "[new] Disk full"
    assert AlertSource.objects.get(pk=source.pk).description == "edited in another tab"
