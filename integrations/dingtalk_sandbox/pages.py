"""The sandbox's pages: its developer console (apps, their credentials and event subscription)
and the organisation's groups, where a cool app is installed, uninstalled or a group renamed,
each change pushed to the console as DingTalk pushes it.

No login: the sandbox is served only when DINGTALK_SANDBOX_ENABLED (development and tests), and
it plays DingTalk, where the organisation's developers see their apps' credentials. Every change
is a POST with a CSRF token, answered by a redirect; what the push met is in a message.
"""

from __future__ import annotations

import time

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from integrations.dingtalk_sandbox import push, stream
from integrations.dingtalk_sandbox.models import PushRecord, SandboxApp, SandboxGroup

RECENT_PUSHES = 20


class AppForm(forms.ModelForm):
    class Meta:
        model = SandboxApp
        fields = ["name"]


class EventUrlForm(forms.ModelForm):
    event_request_url = forms.URLField(
        label=_("event subscription request URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
    )

    class Meta:
        model = SandboxApp
        fields = ["stream_mode", "event_request_url"]


class GroupForm(forms.ModelForm):
    class Meta:
        model = SandboxGroup
        fields = ["title"]


class AppChoiceForm(forms.Form):
    app = forms.ModelChoiceField(queryset=SandboxApp.objects.all(), label=_("internal app"))


def _report(request: HttpRequest, record: PushRecord | None, what: str) -> None:
    if record is None:
        messages.info(
            request,
            gettext("%(what)s; no event was pushed: the app has no request URL.") % {"what": what},
        )
    elif record.ok:
        messages.success(
            request,
            gettext("%(what)s; the console answered “success”. %(outcome)s")
            % {"what": what, "outcome": "" if record.outcome == push.SUCCESS else record.outcome},
        )
    else:
        messages.error(
            request,
            gettext("%(what)s; the push failed: %(outcome)s")
            % {"what": what, "outcome": record.outcome},
        )


def _push(app: SandboxApp, event: dict) -> PushRecord | None:
    if app.stream_mode:
        # Stream mode has no request URL to check: DingTalk checks nothing on saving it.
        return None if event["EventType"] == "check_url" else _stream(app, event)
    return push.push(app, event) if app.event_request_url else None


def _stream(app: SandboxApp, event: dict) -> PushRecord:
    """Deliver ``event`` over the Stream server and record the client's acknowledgement."""
    started = time.monotonic()
    answer = stream.deliver(app, stream.event_message(app, event))
    return PushRecord.objects.create(
        app=app,
        event_type=event["EventType"],
        url=stream.socket_base_url() + stream.CLIENT_PATH,
        http_status=answer.code,
        ok=answer.ok,
        outcome=answer.error or answer.message,
        seconds=time.monotonic() - started,
    )


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The developer console's app list, the organisation's groups and the recent pushes."""
    form = AppForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = form.save()
        messages.success(request, gettext("Created %(app)s.") % {"app": app.name})
        return redirect("dingtalk_sandbox:app", app.client_id)
    context = {
        "apps": SandboxApp.objects.all(),
        "groups": SandboxGroup.objects.select_related("template_app").prefetch_related(
            "installed_apps"
        ),
        "pushes": PushRecord.objects.select_related("app")[:RECENT_PUSHES],
        "form": form,
        "group_form": GroupForm(),
        "app_choice": AppChoiceForm(),
    }
    return render(request, "dingtalk_sandbox/home.html", context)


@require_http_methods(["GET", "POST"])
def app_detail(request: HttpRequest, client_id: str) -> HttpResponse:
    """Credentials (to copy into the console) and the event subscription's request URL; saving
    the URL makes DingTalk check it (``check_url``) at once, as on DingTalk."""
    app = get_object_or_404(SandboxApp, client_id=client_id)
    form = EventUrlForm(request.POST or None, instance=app)
    if request.method == "POST" and form.is_valid():
        app = form.save()
        _report(request, _push(app, push.check_url_event()), gettext("Saved"))
        return redirect("dingtalk_sandbox:app", app.client_id)
    return render(request, "dingtalk_sandbox/app.html", {"app": app, "form": form})


@require_POST
def app_verify(request: HttpRequest, client_id: str) -> HttpResponse:
    app = get_object_or_404(SandboxApp, client_id=client_id)
    _report(request, _push(app, push.check_url_event()), gettext("Checked the request URL"))
    return redirect("dingtalk_sandbox:app", app.client_id)


@require_POST
def group_create(request: HttpRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if form.is_valid():
        group = form.save()
        messages.success(request, gettext("Created the group %(group)s.") % {"group": group})
    else:
        messages.error(request, gettext("A group needs a name."))
    return redirect("dingtalk_sandbox:home")


@require_POST
def group_rename(request: HttpRequest, group_id: str) -> HttpResponse:
    """Rename the group: every app whose cool app is installed there hears of it."""
    group = get_object_or_404(SandboxGroup, open_conversation_id=group_id)
    form = GroupForm(request.POST, instance=group)
    if not form.is_valid():
        messages.error(request, gettext("A group needs a name."))
        return redirect("dingtalk_sandbox:home")
    group = form.save()
    what = gettext("Renamed the group to %(name)s") % {"name": group.title}
    apps = list(group.installed_apps.all())
    if not apps:
        messages.info(request, gettext("%(what)s; no app has its cool app there.") % {"what": what})
    for app in apps:
        _report(request, _push(app, push.renamed_event(app, group)), f"{what} ({app.name})")
    return redirect("dingtalk_sandbox:home")


@require_POST
def group_install(request: HttpRequest, group_id: str) -> HttpResponse:
    return _install(request, group_id, installed=True)


@require_POST
def group_uninstall(request: HttpRequest, group_id: str) -> HttpResponse:
    return _install(request, group_id, installed=False)


def _install(request: HttpRequest, group_id: str, *, installed: bool) -> HttpResponse:
    group = get_object_or_404(SandboxGroup, open_conversation_id=group_id)
    form = AppChoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choose an app."))
        return redirect("dingtalk_sandbox:home")
    app = form.cleaned_data["app"]
    if installed:
        group.installed_apps.add(app)
        what = gettext("Installed %(app)s's cool app in %(group)s")
    else:
        group.installed_apps.remove(app)
        what = gettext("Uninstalled %(app)s's cool app from %(group)s")
    what %= {"app": app.name, "group": group.title}
    _report(request, _push(app, push.cool_app_event(app, group, installed=installed)), what)
    return redirect("dingtalk_sandbox:home")
