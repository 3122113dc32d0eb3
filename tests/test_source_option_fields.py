"""A source kind's declared options as plain fields on the alert source page (scalars as
fields, lists as rows), not a JSON box; what is stored is the options' JSON the REST API
reads and writes, and a problem is said at the option that has it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oncall.admin.source_options import options_form_of
from oncall.models import AlertSource
from oncall.sources import source_kind, source_kinds
from tests.factories import AlertSourceFactory, ChannelFactory

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def change_url(source: AlertSource) -> str:
    return reverse("admin:oncall_alertsource_change", args=[source.pk])


def page_form(source: AlertSource, **options: object) -> dict[str, object]:
    """The change form as the page posts it: the source's fields and its option fields."""
    form: dict[str, object] = {
        "name": source.name,
        "kind": source.kind,
        "description": "",
        "enabled": "on",
        "channel": str(source.channel_id),
        "severity_overrides": "{}",
        "pipeline_rules-TOTAL_FORMS": "0",
        "pipeline_rules-INITIAL_FORMS": "0",
    }
    form.update({f"option_{name}": value for name, value in options.items()})
    return form


def source_of(kind: str) -> AlertSource:
    return AlertSourceFactory(
        channel=ChannelFactory(),
        kind=kind,
        name=f"My {kind}",
        options=source_kind(kind).default_options(),
    )


def test_every_kind_with_options_edits_them_in_fields_not_json():
    left_as_json = [
        kind.name
        for kind in source_kinds()
        if kind.default_options() and options_form_of(kind) is None
    ]

    assert left_as_json == []


def test_a_kind_without_options_shows_no_options_box(admin_client):
    source = source_of("alertmanager")

    page = admin_client.get(change_url(source)).content.decode()

    assert 'name="options"' not in page
    assert 'name="option_' not in page


def test_a_new_source_starts_at_its_kinds_defaults_without_a_json_box(admin_client):
    channel = ChannelFactory()
    add_url = reverse("admin:oncall_alertsource_add")
    assert 'name="options"' not in admin_client.get(add_url).content.decode()

    response = admin_client.post(
        add_url,
        {"name": "Nightly", "kind": "heartbeat", "enabled": "on", "channel": channel.pk},
    )

    assert response.status_code == 302
    source = AlertSource.objects.get(name="Nightly")
    assert source.options == source_kind("heartbeat").default_options()


def test_the_heartbeat_page_shows_plain_fields_and_saves_the_options(admin_client):
    source = source_of("heartbeat")
    page = admin_client.get(change_url(source)).content.decode()
    assert 'name="option_interval_minutes"' in page
    assert 'name="options"' not in page

    response = admin_client.post(
        change_url(source),
        page_form(source, interval_minutes="10", grace_minutes="3", severity="warning"),
    )

    assert response.status_code == 302
    source.refresh_from_db()
    assert source.options == {"interval_minutes": 10, "grace_minutes": 3, "severity": "warning"}


def test_a_bad_value_is_said_at_its_field_in_the_readers_language(admin_client):
    source = source_of("heartbeat")
    form = page_form(source, interval_minutes="0", grace_minutes="3", severity="warning")

    english = admin_client.post(change_url(source), form)
    chinese = admin_client.post(change_url(source), form, **ZH)

    assert english.status_code == chinese.status_code == 200
    (said,) = english.context["adminform"].form.errors["option_interval_minutes"]
    (said_zh,) = chinese.context["adminform"].form.errors["option_interval_minutes"]
    assert "interval_minutes" in said
    assert said_zh != said
    source.refresh_from_db()
    assert source.options["interval_minutes"] != 0  # nothing saved


def test_a_robots_words_are_rows_and_keep_the_apis_shape(admin_client):
    source = source_of("feishu_robot")
    page = admin_client.get(change_url(source), **ZH).content.decode()
    assert 'name="option_recovery_keywords-item"' in page
    assert "添加词语" in page  # "Add a word"

    form = page_form(
        source,
        default_severity="info",
        match_body="on",
        alert_key_pattern=r"host=(\S+)",
        **{
            "recovery_keywords-rows": "2",
            "recovery_keywords-item": ["resolved", "恢复"],
            "severity_keywords-rows": "2",
            "severity_keywords-word": ["down", "slow"],
            "severity_keywords-severity": ["critical", "warning"],
        },
    )
    response = admin_client.post(change_url(source), form)

    assert response.status_code == 302, response.context["adminform"].form.errors
    source.refresh_from_db()
    assert source.options == {
        "recovery_keywords": ["resolved", "恢复"],
        "severity_keywords": {"critical": ["down"], "warning": ["slow"]},
        "default_severity": "info",
        "match_body": True,
        "alert_key_pattern": r"host=(\S+)",
    }


def test_a_bad_pattern_is_said_at_the_pattern(admin_client):
    source = source_of("email")
    form = page_form(
        source,
        search_body="",
        identity="subject",
        key_pattern="(unclosed",
        **{"recovery_words-rows": "1", "recovery_words-item": ["ok"]},
    )

    response = admin_client.post(change_url(source), form)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["option_key_pattern"]


def test_a_severity_word_without_a_severity_is_said_at_its_row(admin_client, settings):
    source = source_of("dingtalk_robot")
    form = page_form(
        source,
        default_severity="warning",
        **{
            "severity_keywords-rows": "1",
            "severity_keywords-word": ["down"],
            "severity_keywords-severity": ["urgent"],
        },
    )

    response = admin_client.post(change_url(source), form)

    assert response.status_code == 200
    assert "Choose one of the values offered." in response.content.decode()


def test_every_declared_option_is_worded_in_chinese():
    from django.utils import translation

    from tests.zh_text import english_words

    with translation.override("zh-hans"):
        words = {
            f"{kind.kind}.{option.name}": english_words(
                " ".join(
                    [str(option.label), str(option.help_text)]
                    + [str(label) for _value, label in option.choices]
                ),
                allow={"userid", "Webhook", "FlashDuty", "MAIL", "FROM", "n9e", "org"},
            )
            for kind in source_kinds()
            for option in kind.declared_options()
        }

    assert {name: found for name, found in words.items() if found} == {}


def test_trying_a_sample_reads_it_with_the_unsaved_fields(admin_client):
    import json

    from tests.sources.conftest import _read as read_fixture

    source = source_of("uptime_kuma")  # saved with Critical
    form = page_form(source, severity="Warning")
    form["sample"] = json.dumps(read_fixture("uptime_kuma/firing"))

    response = admin_client.post(
        reverse("admin:oncall_alertsource_try_sample", args=[source.pk]), form
    )

    assert response.status_code == 200
    assert response.json()["events"][0]["severity"] == "warning"
    source.refresh_from_db()
    assert source.options == {"severity": "Critical"}  # nothing saved
