"""Forms of the sandbox's pages: its developer console, directory, chats, faults and client."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError

from integrations.feishu_sandbox.models import (
    SCOPES,
    CallbackFormat,
    Fault,
    SandboxApp,
    SandboxChat,
    SandboxUser,
    SubscriptionMode,
)

MAX_TEXT = 4000


def validate_request_url(value: str) -> None:
    """An absolute http(s) URL. Looser than Django's URLValidator on purpose: the console is
    often reached by a single-label host name in development (``http://console:8000``)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{value} is not an absolute http(s) URL.")


class RequestURLField(forms.CharField):
    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.URLInput(attrs={"placeholder": "https://"}))
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.validators.append(validate_request_url)


class AppCreateForm(forms.ModelForm):
    with_encrypt_key = forms.BooleanField(
        required=False,
        initial=True,
        label="Generate an Encrypt Key",
        help_text="Events and callbacks are then encrypted and signed.",
    )

    class Meta:
        model = SandboxApp
        fields = ["name", "bot_name"]

    def save(self, commit: bool = True) -> SandboxApp:
        app = super().save(commit=False)
        if not self.cleaned_data["with_encrypt_key"]:
            app.encrypt_key = ""
        if commit:
            app.save()
        return app


class AppSettingsForm(forms.Form):
    """Events & Callbacks, Security Settings (redirect URLs) and availability of one app."""

    name = forms.CharField(max_length=120)
    bot_name = forms.CharField(max_length=120)
    event_request_url = RequestURLField(label="Event request URL")
    card_request_url = RequestURLField(
        label="Card request URL", help_text="Blank: card callbacks go to the event request URL."
    )
    card_callback_format = forms.ChoiceField(
        choices=CallbackFormat.choices, widget=forms.RadioSelect
    )
    subscription_mode = forms.ChoiceField(
        label="Subscription mode (events and callbacks)",
        choices=SubscriptionMode.choices,
        widget=forms.RadioSelect,
        help_text="Long connection: a client connected with the app's credentials "
        "(python manage.py feishu_connect) gets events and new-format card callbacks.",
    )
    redirect_urls = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Redirect URLs",
        help_text="One per line.",
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Permissions (scopes)",
        help_text="What the tenant's admin granted. Without the email or the mobile scope, "
        "the signed-in user's info comes without that field.",
    )
    available_to_all = forms.TypedChoiceField(
        choices=[("true", "All employees"), ("false", "Only the people chosen below")],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
        label="Availability",
    )
    available_users = forms.ModelMultipleChoiceField(
        queryset=SandboxUser.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    @classmethod
    def for_app(cls, app: SandboxApp) -> AppSettingsForm:
        return cls(
            initial={
                "name": app.name,
                "bot_name": app.bot_name,
                "event_request_url": app.event_request_url,
                "card_request_url": app.card_request_url,
                "card_callback_format": app.card_callback_format,
                "subscription_mode": app.subscription_mode,
                "redirect_urls": "\n".join(app.redirect_urls),
                "scopes": list(app.scopes),
                "available_to_all": "true" if app.available_to_all else "false",
                "available_users": list(app.available_users.all()),
            }
        )

    def clean_redirect_urls(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["redirect_urls"].splitlines()]
        urls = [line for line in lines if line]
        for url in urls:
            validate_request_url(url)
        return urls

    def apply(self, app: SandboxApp) -> None:
        data = self.cleaned_data
        for name in ("name", "bot_name", "event_request_url", "card_request_url"):
            setattr(app, name, data[name])
        app.card_callback_format = data["card_callback_format"]
        app.subscription_mode = data["subscription_mode"]
        app.redirect_urls = data["redirect_urls"]
        app.scopes = [scope for scope, _ in SCOPES if scope in data["scopes"]]
        app.available_to_all = data["available_to_all"]
        app.save()
        app.available_users.set(data["available_users"])


class PersonForm(forms.ModelForm):
    class Meta:
        model = SandboxUser
        fields = ["name", "email", "mobile"]


class ChatCreateForm(forms.ModelForm):
    class Meta:
        model = SandboxChat
        fields = ["name", "description", "owner", "members"]
        widgets = {
            "members": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 2}),
        }


class MemberForm(forms.Form):
    person = forms.ModelChoiceField(queryset=SandboxUser.objects.all())
    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])


def _operator_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=SandboxUser.objects.all(),
        required=False,
        label="Done by",
        help_text="The person Feishu names as the operator in the event.",
    )


class BotForm(forms.Form):
    app = forms.ModelChoiceField(queryset=SandboxApp.objects.all(), to_field_name="app_id")
    action = forms.ChoiceField(choices=[("add", "Add"), ("remove", "Remove")])
    operator = _operator_field()


class DisbandForm(forms.Form):
    operator = _operator_field()


class FaultForm(forms.ModelForm):
    status = forms.TypedChoiceField(
        choices=[
            (503, "503"),
            (502, "502"),
            (500, "500"),
            (429, "429 (rate limited)"),
            (400, "400 (a business error: give its code)"),
        ],
        coerce=int,
    )

    class Meta:
        model = Fault
        fields = ["path_prefix", "status", "code", "retry_after", "remaining"]
        labels = {"remaining": "Count"}


class EncryptKeyForm(forms.Form):
    action = forms.ChoiceField(choices=[("regenerate", "Regenerate"), ("clear", "Clear")])


class VerifyForm(forms.Form):
    which = forms.ChoiceField(choices=[("event", "Event"), ("card", "Card")])


class MessageForm(forms.Form):
    """What a person writes in a conversation of the client."""

    text = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    mention = forms.BooleanField(required=False, label="@ the bot")
    bot = forms.ChoiceField(required=False, label="Bot")
    reply_to = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, bots: list[SandboxApp] | None = None, **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.bots = {app.app_id: app for app in bots or []}
        self.fields["bot"].choices = [(app.app_id, app.bot_name) for app in bots or []]
        if not bots:
            del self.fields["bot"]
            del self.fields["mention"]

    def chosen_bot(self) -> SandboxApp | None:
        return self.bots.get(self.cleaned_data.get("bot", ""))
