from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "lava.server.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
