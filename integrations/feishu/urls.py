"""The URLs an admin pastes into the Feishu developer console (see ``FeishuApp``'s properties)."""

from django.urls import path

from integrations.feishu import views

app_name = "feishu"
urlpatterns = [
    path("<uuid:public_id>/web/", views.web_entry, name="web"),
    path("<uuid:public_id>/oauth/callback/", views.oauth_callback, name="oauth-callback"),
    # One view serves both: the body says whether it is an event or a card callback.
    path("<uuid:public_id>/events", views.callback, name="event-callback"),
    path("<uuid:public_id>/cards", views.callback, name="card-callback"),
]
