"""One model for "this console user is that DingTalk person": ``DingTalkAccount``.

The cards slice kept people's DingTalk userIds in ``DingTalkIdentity`` (typed in by admins)
while the linking slice filled ``DingTalkAccount`` by sign-in. Each identity becomes an account
here; 0006 then deletes the identity model (in a migration of its own: PostgreSQL creates no
index on a table with rows inserted in the same transaction whose foreign keys are still to be
checked, "pending trigger events"):

* An identity's unionId is unknown (an admin typed a userid), so ``union_id`` may now be blank
  and its uniqueness holds for non-blank values only; sign-in fills it in when the person links
  (``linking.link`` keeps the row of the (user, app) pair and sets its unionId).
* A person already linked keeps the account; its userid comes from the identity only when
  sign-in found none (DingTalk's own answer outranks a hand-typed value).
* An identity whose userid an account of someone else already holds is dropped: the userid
  names one person in an app (a click acts as them), and the account is sign-in's word for it.
"""

from django.db import migrations, models

import integrations.dingtalk.models


def copy_identities(apps, schema_editor):
    Identity = apps.get_model("dingtalk", "DingTalkIdentity")
    Account = apps.get_model("dingtalk", "DingTalkAccount")
    for identity in Identity.objects.order_by("pk").iterator():
        holder = Account.objects.filter(
            app_id=identity.app_id, dingtalk_user_id=identity.dingtalk_user_id
        ).first()
        if holder is not None:
            continue  # linked already (to this person or, by sign-in, to another)
        account = Account.objects.filter(app_id=identity.app_id, user_id=identity.user_id).first()
        if account is None:
            Account.objects.create(
                app_id=identity.app_id,
                user_id=identity.user_id,
                dingtalk_user_id=identity.dingtalk_user_id,
            )
        elif not account.dingtalk_user_id:
            account.dingtalk_user_id = identity.dingtalk_user_id
            account.save(update_fields=["dingtalk_user_id"])


class Migration(migrations.Migration):

    dependencies = [
        ("dingtalk", "0004_dingtalk_event_mode"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="dingtalkaccount",
            name="one_user_per_dingtalk_union_id",
        ),
        migrations.AlterField(
            model_name="dingtalkaccount",
            name="union_id",
            field=models.CharField(blank=True, max_length=64, verbose_name="unionId"),
        ),
        migrations.AlterField(
            model_name="dingtalkaccount",
            name="dingtalk_user_id",
            field=models.CharField(
                blank=True,
                help_text="The organisation's userid (staffId), where one-to-one cards go. "
                "Filled in by sign-in and by linking by mobile; without it the person's cards "
                "are refused as “not linked (no userId)”.",
                max_length=64,
                validators=[integrations.dingtalk.models.validate_plain_id],
                verbose_name="userid",
            ),
        ),
        migrations.AddConstraint(
            model_name="dingtalkaccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("union_id", ""), _negated=True),
                fields=("app", "union_id"),
                name="one_user_per_dingtalk_union_id",
            ),
        ),
        migrations.AlterField(
            model_name="dingtalkcarddelivery",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("sent", "sent"),
                    ("failed", "failed"),
                    ("not_linked", "not linked (no userId)"),
                    ("group_uninstalled", "cool app uninstalled"),
                    ("budget_spent", "API budget spent"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
        migrations.RunPython(copy_identities, migrations.RunPython.noop),
    ]
