from django.apps import AppConfig


class StubPlatformConfig(AppConfig):
    name = "tests.stub_platform"
    label = "stub_platform"
    default_auto_field = "django.db.models.BigAutoField"
