"""Contract v2, walked over every registered kind: what the admin page and the README show
(sender, identity, recovery, severity table, set-up guide), options, and ``recognises`` on the
kind's own fixtures (a payload is recognised by its own kind and by no other, so the hint a
refused push gets names the right sender).

Fixture names: ``bad_*`` / ``invalid_*`` are refusals; ``_options.json``, when a folder has one,
holds the source options its fixtures are parsed with (a mapping, say)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command

from oncall.events import PayloadError, Severity
from oncall.management.commands.source_kinds import BEGIN, END, readme_path
from oncall.sources import (
    PushRequest,
    SetupGuide,
    SourceKind,
    kinds_recognising,
    kinds_table,
    source_kind,
    source_kinds,
    wrong_kind_hint,
)

KINDS = list(settings.ALERT_SOURCES)
# Kinds that read any JSON by a mapping of the source's own: no payload is theirs by its fields,
# so they recognise none (a refused push is never told it looks like one of them).
MAPPED_KINDS = {"custom_webhook"}
PUSH_URL = "https://oncall.example.com/push/T0KEN"


def folder_of(source: SourceKind) -> Path:
    return Path(inspect.getfile(type(source))).parent


def is_refusal(path: Path) -> bool:
    return path.name.startswith(("bad_", "invalid_"))


def payload_fixtures(source: SourceKind) -> list[Path]:
    fixtures = sorted((folder_of(source) / "fixtures").glob("*.json"))
    return [path for path in fixtures if not path.name.startswith("_") and not is_refusal(path)]


def fixture_options(source: SourceKind) -> dict[str, Any]:
    path = folder_of(source) / "fixtures" / "_options.json"
    options = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return source.clean_options(options)


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_says_what_sends_it_and_how_it_is_read(kind):
    source = source_kind(kind)

    assert source.sender
    assert source.identity
    assert source.recovery
    for raw, severity in source.severity_table:
        assert raw
        assert Severity(severity) in Severity


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_set_up_steps(kind):
    guide = source_kind(kind).setup_guide(PUSH_URL)

    assert isinstance(guide, SetupGuide)
    assert guide.steps
    assert all(str(step).strip() for step in guide.steps)
    assert all(snippet.title and snippet.text for snippet in guide.snippets)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_takes_its_default_options(kind):
    source = source_kind(kind)

    assert isinstance(source.clean_options(source.default_options()), dict)


@pytest.mark.parametrize("kind", sorted(set(KINDS) - MAPPED_KINDS))
def test_every_kinds_fixtures_are_recognised_by_that_kind_alone(kind):
    source = source_kind(kind)

    for path in payload_fixtures(source):
        payload = read(path)
        assert source.recognises(payload), f"{kind} does not recognise {path.name}"
        others = [other.kind for other in kinds_recognising(payload, besides=kind)]
        assert others == [], f"{path.name} of {kind} is also recognised by {others}"


@pytest.mark.parametrize("kind", sorted(MAPPED_KINDS))
def test_a_mapped_kind_recognises_no_payload_not_even_its_own_fixtures(kind):
    mapped = source_kind(kind)
    everyone = [path for other in source_kinds() for path in payload_fixtures(other)]

    assert [path.name for path in everyone if mapped.recognises(read(path))] == []
    assert payload_fixtures(mapped), "a mapped kind still ships sample payloads"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kinds_fixtures_parse_with_its_options(kind):
    source = source_kind(kind)
    push = PushRequest.bare(fixture_options(source))

    for path in payload_fixtures(source):
        try:
            source.parse_push(read(path), push)
        except PayloadError as error:  # a fixture of a payload to refuse is named bad_*
            pytest.fail(f"{kind}/{path.name} is refused: {error.message}")


def test_a_kind_without_options_refuses_some():
    with pytest.raises(ValidationError):
        source_kind("standard").clean_options({"mapping": "x"})


def test_the_hint_names_the_kind_a_payload_looks_like():
    alertmanager = {"version": "4", "groupKey": "{}", "alerts": [], "status": "firing"}

    hint = wrong_kind_hint(alertmanager, source_kind("pagerduty"))

    assert hint == (
        "This looks like a Prometheus Alertmanager payload; this source expects "
        "PagerDuty Events API v2."
    )
    assert wrong_kind_hint({"nothing": "known"}, source_kind("pagerduty")) == ""


def test_a_recognises_that_raises_gives_no_hint_rather_than_an_error(monkeypatch):
    def broken(self, payload):
        raise KeyError("oops")

    monkeypatch.setattr(type(source_kind("grafana")), "recognises", broken)

    assert wrong_kind_hint({"evalMatches": []}, source_kind("standard")) == ""


def test_the_readme_lists_every_kind_as_the_classes_say():
    readme = readme_path().read_text(encoding="utf-8")
    section = readme.split(BEGIN, 1)[1].split(END, 1)[0]

    assert section == kinds_table(), "README is stale: run python3 dev.py kinds --write"
    assert all(f"| `{kind}` |" in section for kind in KINDS)


def test_the_kinds_command_prints_the_table(capsys):
    call_command("source_kinds")

    assert capsys.readouterr().out == kinds_table()
