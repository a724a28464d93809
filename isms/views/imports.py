"""The page of one import job: its progress while it runs, then what it imported or every
problem of the file. Shown to the uploader and to those who manage the job's unit; anyone
else gets the same 404 as for a job that does not exist."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from ..imports import kinds, rows_written_so_far, visible_jobs

# Problems listed on the page; the job keeps up to ERRORS_KEPT and counts all of them.
ERRORS_SHOWN = 500
# Seconds between reloads of the page while the job runs (the Refresh header, no script).
REFRESH_SECONDS = 2


@login_required
def import_job(request, pk):
    job = get_object_or_404(visible_jobs(request.user).select_related("scope", "created_by"), pk=pk)
    kind = kinds.get(job.kind)
    response = render(
        request,
        "import_job.html",
        {
            "job": job,
            "kind": kind,
            "rows_written": rows_written_so_far(job),
            "errors": job.errors[:ERRORS_SHOWN],
        },
    )
    if job.is_active:
        response["Refresh"] = str(REFRESH_SECONDS)
    return response
