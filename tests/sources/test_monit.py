"""Monit: the script's fields through the parser, the script itself, and form pushes."""

from __future__ import annotations

import subprocess
from urllib.parse import urlencode

import pytest

from integrations.sources.monit import parser as monit
from integrations.sources.monit.source import SCRIPT_PATH, MonitSource, monit_script
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

KEY = stable_key("monit", "web-05.example.org", "nginx")


def test_a_problem_fires_keyed_by_host_and_service(load_fixture):
    [event] = monit.parse(load_fixture("monit/firing"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "critical")
    assert event.title == "nginx on web-05.example.org: Does not exist"
    assert event.description == "process is not running\nMonit date: Tue, 14 May 2024 11:51:03"
    assert event.labels == {
        "host": "web-05.example.org",
        "service": "nginx",
        "event": "Does not exist",
    }


def test_a_recovery_resolves_the_same_alert(load_fixture):
    [event] = monit.parse(load_fixture("monit/recovered"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.RESOLVED)


@pytest.mark.parametrize(
    ("word", "severity"), [*MonitSource.severity_table, ("", Severity.CRITICAL)]
)
def test_the_scripts_severity_argument_decides(word, severity, load_fixture):
    payload = load_fixture("monit/firing")
    payload["monit_severity"] = word

    [event] = monit.parse(payload)

    assert event.severity == severity


def test_a_check_without_host_is_titled_by_its_service(load_fixture):
    [event] = monit.parse(load_fixture("monit/no_host_warning"))

    assert event.alert_key == stable_key("monit", "", "rootfs")
    assert event.title == "rootfs: Resource limit matched"
    assert event.severity == Severity.WARNING
    assert event.labels == {"service": "rootfs", "event": "Resource limit matched"}


BAD_CASES = {
    "bad_state": ("monit_state", "monit_state must be problem or recovery, not 'failed'"),
    "bad_service_empty": ("monit_service", "monit_service must not be empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        monit.parse(load_fixture(f"monit/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("monit", "bad_") == sorted(BAD_CASES)


def test_it_recognises_the_scripts_fields_only(load_fixture):
    assert monit.recognises(load_fixture("monit/firing"))
    assert not monit.recognises(load_fixture("open_falcon/firing"))


def test_the_script_sends_every_field_the_parser_reads(load_fixture):
    script = SCRIPT_PATH.read_text(encoding="utf-8")

    for field in load_fixture("monit/firing"):
        assert f'"{field}=' in script


def test_the_guide_fills_the_push_url_into_the_script():
    guide = MonitSource().setup_guide("https://oncall.example.org/push/T0KEN")

    monitrc, script = guide.snippets
    assert "PUSH_URL='https://oncall.example.org/push/T0KEN'" in script.text
    assert "else if succeeded then exec" in monitrc.text
    assert "__PUSH_URL__" not in monit_script("https://x.example/push/T")


def test_the_script_is_valid_sh(tmp_path):
    path = tmp_path / "monit-to-oncall"
    path.write_text(monit_script("https://oncall.example.org/push/T0KEN"), encoding="utf-8")

    assert subprocess.run(["sh", "-n", str(path)], check=False).returncode == 0


@pytest.mark.django_db
def test_form_pushes_open_an_incident_and_the_recovery_resolves_it(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="monit")

    def post(case):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/{source.token}",
                data=urlencode(load_fixture(f"monit/{case}")),
                content_type="application/x-www-form-urlencoded",
            )

    assert post("firing").status_code == 200
    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status, Incident.objects.count()) == (KEY, "firing", 1)

    assert post("recovered").status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"

    response = post("bad_state")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "monit_state"
