"""The URLs an admin pastes into the Feishu developer console (see ``FeishuApp``'s properties)."""

from django.urls import path

from integrations.feishu import views
from integrations.feishu.inbound import endpoint

app_name = "feishu"
urlpatterns = [
    path("<uuid:public_id>/web/", views.web_entry, name="web"),
    path("<uuid:public_id>/oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path("<uuid:public_id>/link/", views.link, name="link"),
    path("<uuid:public_id>/link/sign-in/", views.link_sign_in, name="link-sign-in"),
    path("<uuid:public_id>/link/resume/", views.link_resume, name="link-resume"),
    # One view serves both: the body says whether it is an event or a card callback.
    path("<uuid:public_id>/events", endpoint.callback, name="event-callback"),
    path("<uuid:public_id>/cards", endpoint.callback, name="card-callback"),
]
