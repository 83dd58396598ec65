"""The job queue in the Django admin (superusers): every job with its state,
task, arguments, tries, when it is due and its last error.

procrastinate's own admin lists jobs read-only, with retry and cancel
actions and the last event; this one adds the number of tries, the time a
job is due (a retry waits) and the text of its last error, which the workers
keep (`cagette.jobqueue.errors`).
"""

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from procrastinate.contrib.django.admin import ProcrastinateJobAdmin
from procrastinate.contrib.django.models import ProcrastinateJob

from .models import JobError

admin.site.unregister(ProcrastinateJob)


@admin.register(ProcrastinateJob)
class JobAdmin(ProcrastinateJobAdmin):
    list_display = [
        "pk",
        "task",
        "arguments",
        "state",
        "tries",
        "due",
        "last_error_short",
        "events",
    ]
    fields = [*ProcrastinateJobAdmin.fields, "last_error"]
    search_fields = ["task_name"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "last_error"]

    def get_queryset(self, request):
        errors = JobError.objects.filter(job_id=OuterRef("pk")).values("error")
        return super().get_queryset(request).annotate(error=Subquery(errors))

    @admin.display(description=_("Tâche"))
    def task(self, job: ProcrastinateJob) -> str:
        return self.short_task_name(job)

    @admin.display(description=_("Arguments"))
    def arguments(self, job: ProcrastinateJob) -> str:
        return self.pretty_args(job)

    @admin.display(description=_("État"), ordering="status")
    def state(self, job: ProcrastinateJob) -> str:
        return self.pretty_status(job)

    @admin.display(description=_("Tentatives"), ordering="attempts")
    def tries(self, job: ProcrastinateJob) -> int:
        return job.attempts

    @admin.display(description=_("Prévue pour"), ordering="scheduled_at")
    def due(self, job: ProcrastinateJob):
        return job.scheduled_at

    @admin.display(description=_("Dernier événement"))
    def events(self, job: ProcrastinateJob) -> str:
        return self.summary(job)

    @admin.display(description=_("Dernière erreur"))
    def last_error(self, job: ProcrastinateJob) -> str:
        return job.error or "—"

    @admin.display(description=_("Dernière erreur"))
    def last_error_short(self, job: ProcrastinateJob) -> str:
        return Truncator(job.error).chars(120) if job.error else "—"


@admin.register(JobError)
class JobErrorAdmin(admin.ModelAdmin):
    list_display = ["job_id", "task_name", "at", "error"]
    list_filter = ["task_name"]
    search_fields = ["task_name", "error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
