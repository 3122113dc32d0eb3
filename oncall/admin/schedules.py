"""On-call schedules: layers as inlines (each with its participants in turn order, typed as
usernames one per line, since Django has no nested inlines), overrides as an inline, and on
the change page who is on call, what may not work as meant, and the next two weeks drawn as
the responders' page draws them.

The page works in the schedule's time zone: overrides are entered and shown in it, as the
layers' hand-offs and restrictions are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import pairwise
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.admin.schedule_swaps import ShiftSwapInline
from oncall.admin.shared import AdminMedia
from oncall.admin.structured import RestrictionsField
from oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from oncall.models.escalation import known_time_zones, validate_time_zone
from oncall.schedules import display, resolve
from oncall.schedules.checks import check_turn_order, schedule_warnings
from oncall.timeline import display_name


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in known_time_zones()]


class ScheduleForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=capfirst(Schedule._meta.get_field("time_zone").verbose_name),
        choices=_time_zone_choices,
        help_text=Schedule._meta.get_field("time_zone").help_text,
    )

    class Meta:
        model = Schedule
        fields = ["name", "description", "time_zone"]


# --- Layers -------------------------------------------------------------------------------------


class LayerForm(forms.ModelForm):
    """A layer with its turn order as a list of usernames (``people``), written to its
    ``LayerParticipant`` rows when the layer is saved."""

    people = forms.CharField(
        label=gettext_lazy("participants, in turn order"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 30}),
        help_text=gettext_lazy(
            "One username per line, in turn order. A person may come back later in the order "
            "(e.g. to take two turns in each round), but not twice in a row."
        ),
    )

    class Meta:
        model = ScheduleLayer
        fields = [
            "name",
            "position",
            "start_date",
            "handoff_time",
            "rotation_every",
            "rotation_unit",
            "end_date",
            "restrictions",
        ]
        field_classes = {"restrictions": RestrictionsField}  # windows as rows, not JSON

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["people"] = "\n".join(
                p.user.get_username()
                for p in self.instance.participants.select_related("user").order_by(
                    "position", "id"
                )
            )

    def clean_people(self) -> list[Any]:
        names = [line.strip() for line in self.cleaned_data["people"].splitlines()]
        names = [name for name in names if name]
        user_model = get_user_model()
        found = user_model.objects.filter(**{f"{user_model.USERNAME_FIELD}__in": names})
        by_name = {user.get_username(): user for user in found}
        unknown = [name for name in dict.fromkeys(names) if name not in by_name]
        if unknown:
            raise ValidationError(
                _("Nobody has the username %(names)s: check the spelling (one per line).")
                % {"names": ", ".join(f"“{name[:150]}”" for name in unknown)}
            )
        people = [by_name[name] for name in names]
        check_turn_order(people)
        return people

    def _save_m2m(self) -> None:
        # Called once the layer has its primary key, whether the formset saves with commit or
        # calls save_m2m later: the turn order is replaced as a whole.
        super()._save_m2m()
        layer = self.instance
        layer.participants.all().delete()
        layer.participants.bulk_create(
            layer.participants.model(layer=layer, user=user, position=position)
            for position, user in enumerate(self.cleaned_data["people"])
        )


class LayerInline(admin.StackedInline):
    model = ScheduleLayer
    form = LayerForm
    fields = [
        ("name", "position"),
        ("start_date", "handoff_time"),
        ("rotation_every", "rotation_unit"),
        "end_date",
        "restrictions",
        "people",
    ]
    ordering = ["position", "id"]

    def get_extra(self, request: HttpRequest, obj: Schedule | None = None, **kwargs: Any) -> int:
        return 1 if obj is None else 0  # a new schedule starts with one empty layer


# --- Overrides ----------------------------------------------------------------------------------


class OverrideFormSet(forms.BaseInlineFormSet):
    """Overrides may not overlap: each is checked against the stored ones by the model, and
    against the others of the same submission here (none of them is stored yet)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.errors
            and not (self.can_delete and self._should_delete_form(form))
            and form.cleaned_data.get("start")
            and form.cleaned_data.get("end")
        ]
        kept.sort(key=lambda form: form.cleaned_data["start"])
        for earlier, later in pairwise(kept):
            if later.cleaned_data["start"] < earlier.cleaned_data["end"]:
                person = earlier.cleaned_data["user"]
                later.add_error(
                    None,
                    _(
                        "It overlaps %(person)s's override from %(start)s to %(end)s: shorten "
                        "or delete that one first."
                    )
                    % {
                        "person": person.get_full_name() or person.get_username(),
                        "start": _local(earlier.cleaned_data["start"]),
                        "end": _local(earlier.cleaned_data["end"]),
                    },
                )


def _local(moment: Any) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


class OverrideForm(forms.ModelForm):
    class Meta:
        model = ScheduleOverride
        fields = ["user", "start", "end", "note"]
        # Narrow enough for the row of an override to fit a laptop's screen.
        widgets = {"note": forms.TextInput(attrs={"size": 16})}


class OverrideInline(admin.TabularInline):
    model = ScheduleOverride
    form = OverrideForm
    formset = OverrideFormSet
    fields = ["user", "start", "end", "note", "created_by"]
    readonly_fields = ["created_by"]
    autocomplete_fields = ["user"]
    extra = 0
    ordering = ["-start"]
    verbose_name_plural = gettext_lazy("overrides (times in the schedule's time zone)")


class ScheduleChangeList(ChangeList):
    """The list's page of schedules, each with who is on call, resolved together (a few
    queries for the page, not a few per schedule)."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        found = dict(
            (schedule.pk, on_call)
            for schedule, on_call in display.now_and_next_of_all(self.result_list, timezone.now())
        )
        for schedule in self.result_list:
            schedule.on_call = found[schedule.pk]


# --- The schedule -------------------------------------------------------------------------------


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    form = ScheduleForm
    list_display = ["name", "time_zone", "layer_count", "on_call_now"]
    search_fields = ["name", "description"]
    inlines = [LayerInline, OverrideInline, ShiftSwapInline]
    readonly_fields = ["warnings", "preview", "responder_page"]
    fieldsets = [
        (None, {"fields": ["name", "description", "time_zone", "responder_page"]}),
        (gettext_lazy("Check"), {"fields": ["warnings"]}),
        (gettext_lazy("The next two weeks"), {"fields": ["preview"]}),
    ]

    class Media(AdminMedia):
        css = {"all": [*AdminMedia.css["all"], "oncall/schedules.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Schedule]:
        return super().get_queryset(request).annotate(layer_total=Count("layers"))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        with self._in_schedule_zone(request, object_id):
            return super().changeform_view(request, object_id, form_url, extra_context)

    @contextmanager
    def _in_schedule_zone(self, request: HttpRequest, object_id: str | None) -> Iterator[None]:
        """Read and show the page's times (the overrides') in the schedule's zone: the zone
        being submitted, else the stored one."""
        zone = request.POST.get("time_zone", "")
        try:
            validate_time_zone(zone)
        except ValidationError:
            stored = Schedule.objects.filter(pk=object_id).values_list("time_zone", flat=True)
            zone = (stored.first() if object_id and str(object_id).isdigit() else None) or ""
        if zone:
            with timezone.override(zone):
                yield
        else:
            yield

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is ScheduleOverride:
            for override_form in formset.forms:
                if not override_form.instance.pk:
                    override_form.instance.created_by = request.user
        super().save_formset(request, form, formset, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        for warning in schedule_warnings(form.instance, timezone.now()):
            messages.warning(request, warning)

    @admin.display(description=gettext_lazy("layers"), ordering="layer_total")
    def layer_count(self, schedule: Schedule) -> int:
        return schedule.layer_total

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ScheduleChangeList

    @admin.display(description=gettext_lazy("on call now"))
    def on_call_now(self, schedule: Schedule) -> str:
        found: display.NowNext = schedule.on_call  # set by ScheduleChangeList
        if found.now is not None:
            return display_name(found.now.person)
        if found.next is not None:
            return _("next: %(name)s") % {"name": display_name(found.next.person)}
        return _("nobody")

    @admin.display(description=gettext_lazy("responders' page"))
    def responder_page(self, schedule: Schedule) -> SafeString | str:
        if not schedule.pk:
            return _("Shown after saving.")
        url = reverse("schedule-detail", args=[schedule.public_id])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description=gettext_lazy("warnings"))
    def warnings(self, schedule: Schedule) -> SafeString | str:
        if not schedule.pk:
            return _("Checked after saving.")
        found = schedule_warnings(schedule, timezone.now())
        if not found:
            return _("None: every layer has someone on call in the next two weeks.")
        return format_html(
            '<ul class="schedule-warnings errorlist">{}</ul>',
            format_html_join("", "<li>{}</li>", ((warning,) for warning in found)),
        )

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, schedule: Schedule) -> SafeString | str:
        if not schedule.pk:
            return _("Shown after saving.")
        now = timezone.now()
        first_day = display.today_in(schedule, now)
        start, end = display.period(schedule, first_day)
        loaded = resolve.load(
            schedule, min(start, now - timedelta(days=1)), max(end, now + resolve.NEXT_HORIZON)
        )
        return render_to_string(
            "oncall/_schedule_preview.html",
            {
                "on_call": display.now_and_next(loaded, now),
                "drawing": display.drawing(loaded, first_day, now),
                "read_only": True,
            },
        )
