"""The second half of "one model for a person's DingTalk identity" (see 0005): the identity
model goes, and a userid names one person in an app (a click acts as them). The identity's own
constraint had the same name: it goes with its table first."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dingtalk", "0005_one_dingtalk_account_model"),
    ]

    operations = [
        migrations.DeleteModel(
            name="DingTalkIdentity",
        ),
        migrations.AddConstraint(
            model_name="dingtalkaccount",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dingtalk_user_id", ""), _negated=True),
                fields=("app", "dingtalk_user_id"),
                name="one_user_per_dingtalk_userid",
            ),
        ),
    ]
