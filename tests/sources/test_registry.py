"""The source contract: every kind in ALERT_SOURCES is a complete folder (parser, README citing
the sender's documentation, fixtures that parse), and the URLs a source needs come from it."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import resolve, reverse

from integrations.sources.pagerduty.source import PagerDutySource
from oncall.change_events import ChangeSourceKind
from oncall.sources import (
    PushRequest,
    SourceKind,
    UnknownSourceKind,
    source_kind,
    source_kind_choices,
    source_urls,
)

SOURCES_DIR = Path(__file__).resolve().parents[2] / "integrations" / "sources"
KINDS = list(settings.ALERT_SOURCES)


def folder_of(source: SourceKind) -> Path:
    return Path(inspect.getfile(type(source))).parent


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_source_is_a_source_kind_of_that_kind(kind):
    source = source_kind(kind)

    assert isinstance(source, SourceKind)
    assert source.kind == kind
    assert source.label


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_source_has_a_readme_citing_the_senders_documentation(kind):
    readme = folder_of(source_kind(kind)) / "README.md"

    assert readme.is_file()
    assert "https://" in readme.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
def test_every_registered_source_has_a_fixture_that_parses_into_events(kind):
    source = source_kind(kind)
    fixtures = sorted((folder_of(source) / "fixtures").glob("*.json"))
    valid = [path for path in fixtures if not path.name.startswith(("invalid_", "bad_", "_"))]
    options = folder_of(source) / "fixtures" / "_options.json"
    push = PushRequest.bare(
        source.clean_options(json.loads(options.read_text("utf-8")) if options.is_file() else {})
    )
    # A change kind's events are changes (its ``parse_push`` yields no alert, by design).
    parse = source.parse_changes_push if isinstance(source, ChangeSourceKind) else source.parse_push

    parsed = [parse(json.loads(path.read_text(encoding="utf-8")), push) for path in valid]

    assert any(parsed), f"{kind}: no fixture parses into at least one event"


def test_the_kind_choices_are_the_registered_sources_in_order():
    assert [kind for kind, _ in source_kind_choices()] == KINDS
    assert dict(source_kind_choices())["pagerduty"] == "PagerDuty Events API v2"


def test_an_unknown_kind_is_refused():
    with pytest.raises(UnknownSourceKind):
        source_kind("nagios")


def test_a_source_listed_under_another_kind_is_refused(settings):
    settings.ALERT_SOURCES = {"prometheus": settings.ALERT_SOURCES["alertmanager"]}

    with pytest.raises(ImproperlyConfigured) as excinfo:
        source_kind("prometheus")

    assert "its kind is 'alertmanager'" in str(excinfo.value)


def test_a_path_that_is_not_a_source_kind_is_refused(settings):
    settings.ALERT_SOURCES = {"standard": "integrations.sources.standard.parser.render_title"}

    with pytest.raises(ImproperlyConfigured):
        source_kind("standard")


def test_the_pagerduty_enqueue_url_is_declared_by_the_pagerduty_source():
    [declared] = PagerDutySource().urls()
    match = resolve("/push/pagerduty/v2/enqueue")

    assert reverse("pagerduty-enqueue") == "/push/pagerduty/v2/enqueue"
    assert match.func is declared.callback
    assert match.url_name == declared.name == "pagerduty-enqueue"


def test_a_source_left_out_of_the_setting_declares_no_url(settings):
    settings.ALERT_SOURCES = {
        kind: path for kind, path in settings.ALERT_SOURCES.items() if kind != "pagerduty"
    }

    # Other kinds declare URLs of their own (the robots' URL shapes): none is PagerDuty's.
    assert "push/pagerduty/" not in [str(resolver.pattern) for resolver in source_urls()]


def test_the_core_urlconf_names_no_source():
    urlconf = (SOURCES_DIR.parents[1] / "oncall" / "urls.py").read_text(encoding="utf-8")

    assert "pagerduty" not in urlconf
    assert "integrations.sources" not in urlconf


def test_no_source_imports_a_chat_platform():
    for module in SOURCES_DIR.rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(name.startswith("integrations.feishu") for name in names), module
