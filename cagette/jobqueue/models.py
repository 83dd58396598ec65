from django.db import models
from django.utils.translation import gettext_lazy as _


class JobError(models.Model):
    """The last error of a job of the queue, as its worker caught it.

    procrastinate records each job's state and events but not the text of an
    error; `cagette.jobqueue.errors` keeps it here, one row per job, so that the
    Django admin shows it beside the job (the worker's log has it too).
    """

    job_id = models.BigIntegerField(primary_key=True)
    task_name = models.CharField(max_length=128)
    error = models.TextField()
    at = models.DateTimeField()

    class Meta:
        db_table = "cagette_job_error"
        verbose_name = _("erreur de tâche")
        verbose_name_plural = _("erreurs de tâches")

    def __str__(self) -> str:
        return f"{self.task_name} #{self.job_id}: {self.error[:80]}"
