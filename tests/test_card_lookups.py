"""What a card send or an escalation step looks up, at lower cost and still as the database
says: the app that delivers a rule (chosen for it, else the only enabled one) in one query, for
either platform; and the incident's rule for its template and time zone from the channel's kept
rules (``oncall.escalation_rules``), a change of them seen at once."""

from __future__ import annotations

import pytest

from integrations.dingtalk import escalation_targets as dingtalk_targets
from integrations.feishu import escalation_targets as feishu_targets
from oncall.escalation_rules import rule_of
from oncall.models import Channel, Incident, NotificationTemplate
from oncall.notify.choose import template_for, time_zone_for
from tests.dingtalk.factories import DingTalkAppFactory
from tests.factories import EscalationRuleFactory, FeishuAppFactory, IncidentFactory

pytestmark = pytest.mark.django_db

PLATFORMS = [
    pytest.param(feishu_targets, FeishuAppFactory, id="feishu"),
    pytest.param(dingtalk_targets, DingTalkAppFactory, id="dingtalk"),
]


def kept(rule):
    """The rule as an escalation step has it: the channel's kept copy, nothing read along."""
    return rule_of(Channel.objects.get(pk=rule.channel_id), rule.pk)


@pytest.mark.parametrize(("targets", "make_app"), PLATFORMS)
def test_the_only_enabled_app_delivers_a_rule_without_one_in_one_query(
    targets, make_app, django_assert_num_queries
):
    app = make_app()
    make_app(enabled=False)
    rule = kept(EscalationRuleFactory())
    with django_assert_num_queries(1):
        assert targets.delivering_app(rule) == app
        assert targets.chosen_app(rule) is None  # kept on the rule: no query


@pytest.mark.parametrize(("targets", "make_app"), PLATFORMS)
def test_the_chosen_app_delivers_even_beside_an_only_enabled_one(
    targets, make_app, django_assert_num_queries
):
    make_app()
    chosen = make_app(enabled=False)  # disabled: it still delivers (and sends nothing)
    rule = EscalationRuleFactory()
    targets.choose_app(rule, chosen)
    rule = kept(rule)
    with django_assert_num_queries(1):
        assert targets.delivering_app(rule) == chosen
        assert targets.chosen_app(rule) == chosen


@pytest.mark.parametrize(("targets", "make_app"), PLATFORMS)
def test_with_several_enabled_apps_and_none_chosen_no_app_delivers(targets, make_app):
    make_app()
    make_app()
    assert targets.delivering_app(kept(EscalationRuleFactory())) is None


@pytest.mark.parametrize(("targets", "make_app"), PLATFORMS)
def test_a_choice_made_since_is_seen_by_the_next_step(targets, make_app):
    only = make_app()
    other = make_app(enabled=False)
    rule = EscalationRuleFactory()
    assert targets.delivering_app(kept(rule)) == only
    targets.choose_app(rule, other)
    assert targets.delivering_app(kept(rule)) == other
    targets.choose_app(rule, None)
    assert targets.delivering_app(kept(rule)) == only


def card_incident(rule) -> Incident:
    """The incident as a card send reads it: its channel along, its rule not."""
    incident = IncidentFactory(channel=rule.channel, escalation_rule=rule)
    return Incident.objects.select_related("channel").get(pk=incident.pk)


def test_a_render_reads_the_rule_from_the_kept_rules(django_assert_num_queries):
    rule = EscalationRuleFactory(timezone="Asia/Shanghai")
    template_for(card_incident(rule))  # the channel's rules are kept from here on
    incident = card_incident(rule)
    with django_assert_num_queries(0):
        assert template_for(incident) is None
        assert str(time_zone_for(incident)) == "Asia/Shanghai"


def test_a_template_given_to_the_rule_since_is_what_the_next_render_uses():
    rule = EscalationRuleFactory()
    assert template_for(card_incident(rule)) is None
    template = NotificationTemplate.objects.create(name="Terse", bodies={"feishu_card": "x"})
    rule.notification_template = template
    rule.save()  # renews the channel's escalation version
    assert template_for(card_incident(rule)) == template
