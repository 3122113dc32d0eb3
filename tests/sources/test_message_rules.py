"""The rules of message-shaped sources (the chat-robot formats): words that mark recovery and
severity, identity from a title, and the options that change them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from integrations.sources.message_rules import (
    Message,
    MessageRules,
    bare_urls,
    first_keyword,
    integer,
    markdown_images,
    markdown_links,
    title_identity,
)
from oncall.events import EventKind, Image, Link, Severity


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("[P1] checkout down", "p1"),
        ("[P10] checkout down", None),  # whole words at a Latin letter or digit
        ("CRITICAL: disk full", "critical"),
        ("hypercritical-ish", None),
        ("订单服务严重超时", "严重"),  # Chinese words as they stand
    ],
)
def test_keywords_match_whole_latin_words_and_chinese_as_written(text, found):
    assert first_keyword(text, ["p1", "critical", "严重"]) == found


@pytest.mark.parametrize(
    ("firing", "recovered"),
    [
        ("[FIRING:2] Disk 95% on db-1", "[RESOLVED] Disk 71% on db-1"),
        ("告警: Redis 内存使用率 93%", "已恢复: Redis 内存使用率 61%"),
        (
            "Problem: CPU load 12.5 at 2026-12-03 10:00",
            "Resolved: CPU load 0.5 at 2026-12-03 10:40",
        ),
        ("WARNING: queue backlog 1520", "CRITICAL: queue backlog 4100"),
    ],
)
def test_a_firing_and_its_recovery_or_escalation_have_one_identity(firing, recovered):
    rules = MessageRules()

    assert rules.alert_key(firing) == rules.alert_key(recovered)


def test_different_problems_have_different_identities():
    rules = MessageRules()

    assert rules.alert_key("Disk full on db") != rules.alert_key("CPU high on db")


def test_the_identity_is_the_titles_words_without_numbers_or_status_words():
    assert title_identity("[FIRING:1] Disk 95% on db-7", ["firing"]) == "disk on db"
    assert title_identity("故障恢复: 磁盘 95%", ["故障", "故障恢复"]) == "磁盘"


def test_a_pattern_takes_the_identity_out_of_the_title_else_the_title():
    rules = MessageRules.from_options({"alert_key_pattern": r"host=(\S+)"})

    assert rules.alert_key("CPU high host=db-1") == rules.alert_key("Disk full host=db-1")
    assert rules.alert_key("CPU high host=db-1") != rules.alert_key("CPU high host=db-2")
    assert rules.alert_key("no host here 1") == rules.alert_key("no host here 2")


def test_the_most_urgent_word_wins_and_is_the_raw_severity():
    verdict = MessageRules().verdict("warning: info about a critical disk", "")

    assert (verdict.severity, verdict.raw_severity) == (Severity.CRITICAL, "critical")


def test_words_in_the_body_count_only_with_match_body():
    body = "status: resolved, severity: critical"

    plain = MessageRules().verdict("disk", body)
    reading = MessageRules.from_options({"match_body": True}).verdict("disk", body)

    assert (plain.resolved, plain.severity) == (False, Severity.WARNING)
    assert (reading.resolved, reading.severity) == (True, Severity.CRITICAL)


def test_the_default_severity_is_an_option():
    rules = MessageRules.from_options({"default_severity": "info"})

    assert rules.verdict("disk", "").severity == Severity.INFO


def test_an_event_without_title_or_text_gets_the_default_title():
    event = MessageRules().event(Message(title=" ", body="", default_title="Robot alert"))

    assert (event.title, event.kind, event.description) == ("Robot alert", EventKind.FIRING, "")


@pytest.mark.parametrize(
    "options",
    [
        {"recovery_keywords": "resolved"},
        {"recovery_keywords": ["", "ok"]},
        {"recovery_keywords": ["x" * 65]},
        {"severity_keywords": {"page": ["p0"]}},
        {"severity_keywords": ["critical"]},
        {"default_severity": "urgent"},
        {"match_body": "yes"},
        {"alert_key_pattern": "("},
        {"alert_key_pattern": 5},
        {"recovery": ["ok"]},
    ],
)
def test_bad_options_are_refused(options):
    with pytest.raises(ValidationError):
        MessageRules.from_options(options)


def test_the_robot_kinds_store_their_options_with_the_defaults_filled_in():
    from oncall.sources import source_kind

    kind = source_kind("feishu_robot")
    options = kind.clean_options({"recovery_keywords": ["OK"]})

    assert options["recovery_keywords"] == ["OK"]
    assert options["default_severity"] == "warning"
    assert kind.clean_options({}) == kind.default_options()


def test_links_images_and_urls_of_text():
    text = "see [runbook](https://wiki.example.com/r) ![chart](https://c.example.com/a.png)"

    assert markdown_links(text) == (Link("https://wiki.example.com/r", "runbook"),)
    assert markdown_images(text) == (Image("https://c.example.com/a.png", "chart"),)
    # Chinese punctuation right after a URL ends it (full-width colon and comma, escaped here).
    text = "面板\uff1ahttps://g.example.com/d/1\uff0c请查看. https://g.example.com/d/1"
    assert bare_urls(text) == (Link("https://g.example.com/d/1", "https://g.example.com/d/1"),)


@pytest.mark.parametrize(
    ("value", "read"),
    [(1764771600, 1764771600), ("1764771600", 1764771600), ("²", None), (True, None), ("", None)],
)
def test_timestamps_are_read_as_digits_only(value, read):
    assert integer(value) == read
