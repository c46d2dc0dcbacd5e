from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = _("Prescriptions")

    def ready(self):
        from . import tasks  # noqa: F401 - registers the tasks by name (the services queue them by name)
