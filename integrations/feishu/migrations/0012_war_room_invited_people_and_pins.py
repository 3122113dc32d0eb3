# Whom a war room invited: from a JSON list of user ids to a many-to-many to the users (ids of
# users deleted since are dropped); and why Feishu refused to pin its card.

from django.conf import settings
from django.db import migrations, models


def copy_invited(apps, schema_editor):
    WarRoom = apps.get_model("integrations", "WarRoom")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Invited = WarRoom.invited_people.through
    existing = set(User.objects.values_list("pk", flat=True))
    rows = [
        Invited(warroom_id=room_id, user_id=user_id)
        for room_id, ids in WarRoom.objects.values_list("pk", "invited_user_ids")
        for user_id in dict.fromkeys(ids or [])
        if user_id in existing
    ]
    Invited.objects.bulk_create(rows, ignore_conflicts=True)


def copy_back(apps, schema_editor):
    WarRoom = apps.get_model("integrations", "WarRoom")
    for room in WarRoom.objects.prefetch_related("invited_people"):
        room.invited_user_ids = [user.pk for user in room.invited_people.all()]
        room.save(update_fields=["invited_user_ids"])


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0011_api_usage_warns_by_count"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="warroom",
            name="invited_people",
            field=models.ManyToManyField(blank=True, related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(copy_invited, copy_back),
        migrations.RemoveField(model_name="warroom", name="invited_user_ids"),
        migrations.AddField(
            model_name="warroom",
            name="pin_error",
            field=models.CharField(blank=True, max_length=300),
        ),
    ]
