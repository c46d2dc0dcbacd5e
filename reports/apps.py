from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Monitoring reports")

    def ready(self):
        # Register the tasks by name in every process (the web's too): reports.messages sends generate_report by
        # its name, and nothing else in the app imports reports.tasks.
        from . import tasks  # noqa: F401
