"""The URLs an admin pastes into the DingTalk developer console (see ``DingTalkApp``'s
properties), under ``/dingtalk/<app>/``."""

from django.urls import path

from integrations.dingtalk import views
from integrations.dingtalk.inbound import card_callback, endpoint

app_name = "dingtalk"
urlpatterns = [
    path("<uuid:public_id>/events", endpoint.event_subscription, name="events"),
    path("<uuid:public_id>/cards", card_callback.card_callback, name="card-callback"),
    path("<uuid:public_id>/web/", views.web_entry, name="homepage"),
    path("<uuid:public_id>/web/pc/", views.web_entry, name="pc-homepage"),
    path("<uuid:public_id>/cool-app/", views.web_entry, name="cool-app"),
    path("<uuid:public_id>/oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path("<uuid:public_id>/link/", views.link, name="link"),
    path("<uuid:public_id>/unlink/", views.unlink, name="unlink"),
    path("<uuid:public_id>/link/resume/", views.link_resume, name="link-resume"),
]
