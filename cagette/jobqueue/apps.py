from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobQueueConfig(AppConfig):
    name = "cagette.jobqueue"
    label = "jobqueue"
    verbose_name = _("File des tâches")
