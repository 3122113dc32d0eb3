"""Feishu's part of escalation moves out of the core's tables: the app that delivers a rule's
cards (``EscalationRule.feishu_app``) becomes a ``RuleApp`` row, and a level's group chats
(``EscalationLevel.chats``) become ``FeishuChat.escalation_levels``. The rows are copied here,
before ``oncall.0006`` drops the core's columns (``run_before``), and copied back when that is
undone."""

import django.db.models.deletion
from django.db import migrations, models


def _old_and_new_chat_links(apps):
    level = apps.get_model("oncall", "EscalationLevel")
    chat = apps.get_model("integrations", "FeishuChat")
    old = level._meta.get_field("chats").remote_field.through
    new = chat._meta.get_field("escalation_levels").remote_field.through
    return old, new


def copy_targets_from_core(apps, schema_editor):
    rule = apps.get_model("oncall", "EscalationRule")
    rule_app = apps.get_model("integrations", "RuleApp")
    chosen = rule.objects.exclude(feishu_app=None).values_list("pk", "feishu_app_id")
    rule_app.objects.bulk_create(rule_app(rule_id=r, app_id=a) for r, a in chosen)
    old, new = _old_and_new_chat_links(apps)
    links = old.objects.values_list("escalationlevel_id", "feishuchat_id")
    new.objects.bulk_create(new(escalationlevel_id=l, feishuchat_id=c) for l, c in links)


def copy_targets_back(apps, schema_editor):
    rule = apps.get_model("oncall", "EscalationRule")
    rule_app = apps.get_model("integrations", "RuleApp")
    for rule_id, app_id in rule_app.objects.values_list("rule_id", "app_id"):
        rule.objects.filter(pk=rule_id).update(feishu_app_id=app_id)
    old, new = _old_and_new_chat_links(apps)
    links = new.objects.values_list("escalationlevel_id", "feishuchat_id")
    old.objects.bulk_create(old(escalationlevel_id=l, feishuchat_id=c) for l, c in links)


class Migration(migrations.Migration):

    dependencies = [
        ("integrations", "0004_sent_cards"),
        ("oncall", "0005_escalation_finished_at"),
    ]
    run_before = [("oncall", "0006_platform_neutral_escalation")]

    operations = [
        migrations.AddField(
            model_name="feishuchat",
            name="escalation_levels",
            field=models.ManyToManyField(
                blank=True, related_name="feishu_chats", to="oncall.escalationlevel"
            ),
        ),
        migrations.CreateModel(
            name="RuleApp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "app",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rule_choices",
                        to="integrations.feishuapp",
                    ),
                ),
                (
                    "rule",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="feishu_delivery",
                        to="oncall.escalationrule",
                    ),
                ),
            ],
            options={"verbose_name": "Feishu app of an escalation rule"},
        ),
        migrations.RunPython(copy_targets_from_core, copy_targets_back),
    ]
