"""``lava-server manage jobs``: submit, list, cancel, fail, resubmit, remove and validate jobs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from lava.server.scheduler.management import output
from lava.server.scheduler.management.admin_command import CONSOLE, AdminCommand, choice
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobHealth, JobState
from lava.server.services import Actor, ServiceError
from lava.server.services.jobs import (
    cancel_job,
    fail_job,
    remove_jobs,
    resubmit_job,
    submit,
    validate,
)
from lava.server.services.names import get_user

STATES = [s.name for s in JobState]
HEALTHS = [h.name for h in JobHealth]
COLUMNS = (
    "id",
    "state",
    "health",
    "submitter",
    "device_type",
    "device",
    "priority",
    "submit_time",
    "description",
)


def duration(text: str) -> timedelta:
    """``30d``, ``12h`` or ``45m`` as a timedelta (argparse type)."""
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if match is None:
        raise ValueError(text)
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match[2]]
    return timedelta(**{unit: int(match[1])})


duration.__name__ = "duration (such as 30d, 12h or 45m)"


class Command(AdminCommand):
    help = "Manage jobs: submit, list, cancel, fail, resubmit, rm, validate"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub_command", help="Sub commands", required=True)

        submit = sub.add_parser("submit", help="Submit job definitions; print each new job id")
        submit.add_argument("files", nargs="+", metavar="FILE", help="job definition ('-': stdin)")
        submit.add_argument("--submitter", required=True, help="user the jobs are submitted as")

        list_p = sub.add_parser("list", help="List jobs, newest first")
        list_p.add_argument("--state", type=choice(JobState), help=f"one of {', '.join(STATES)}")
        list_p.add_argument("--health", type=choice(JobHealth), help=f"one of {', '.join(HEALTHS)}")
        list_p.add_argument("--submitter", help="only the jobs of this user")
        list_p.add_argument("--newer-than", type=duration, help="submitted within, e.g. 1d")
        list_p.add_argument("--limit", type=int, default=0, help="at most this many (0: all)")
        output.add_format_argument(list_p)

        fail = sub.add_parser(
            "fail",
            help="Finish stuck jobs as Incomplete and free their devices "
            "(a lava-run still going on the worker is not stopped)",
        )
        fail.add_argument("job_ids", nargs="+", type=int, metavar="ID")
        fail.add_argument("--reason", default="", help="failure comment stored on the job")

        cancel = sub.add_parser("cancel", help="Cancel jobs")
        cancel.add_argument("job_ids", nargs="+", type=int, metavar="ID")
        cancel.add_argument("--user", help="act as this user (default: as the admin)")
        cancel.add_argument("--reason", default="", help="why, for the log")

        resubmit = sub.add_parser("resubmit", help="Submit a job's definition again")
        resubmit.add_argument("job_id", type=int, metavar="ID")
        resubmit.add_argument("--submitter", help="submit as this user (default: the same)")

        rm = sub.add_parser("rm", help="Remove finished jobs and their results")
        rm.add_argument("job_ids", nargs="*", type=int, metavar="ID")
        rm.add_argument("--older-than", type=duration, help="finished before, e.g. 30d")
        rm.add_argument("--state", type=choice(JobState), help="default: FINISHED")
        rm.add_argument("--health", type=choice(JobHealth), help=f"one of {', '.join(HEALTHS)}")
        rm.add_argument("--submitter", help="only the jobs of this user")
        rm.add_argument("--dry-run", action="store_true", help="only print what would go")

        valid = sub.add_parser("validate", help="Check job definitions without submitting them")
        valid.add_argument("files", nargs="+", metavar="FILE", help="job definition ('-': stdin)")
        valid.add_argument(
            "--strict", action="store_true", help="refuse keys the schema does not know"
        )

    # submission

    def handle_submit(self, options: dict[str, Any]) -> None:
        user = self._user(options["submitter"])
        refused = 0
        for name in options["files"]:
            try:
                job = submit(Actor(user, "manage"), self.read_input(name, "job definition"))
            except (ServiceError, CommandError) as exc:
                refused += 1
                self.stderr.write(f"{name}: refused: {exc}")
                continue
            self.stdout.write(str(job.id))
        if refused:
            total = len(options["files"])
            raise CommandError(f"{refused} of {total} job definitions refused")

    def handle_validate(self, options: dict[str, Any]) -> None:
        invalid = 0
        for name in options["files"]:
            try:
                found = validate(self.read_input(name, "job definition"), strict=options["strict"])
                problem = (
                    None
                    if found is None
                    else found.msg
                    + (f" @ {found.path}" if found.path and found.path not in found.msg else "")
                )
            except CommandError as exc:
                problem = str(exc)
            if problem is not None:
                invalid += 1
                self.stdout.write(f"{name}: invalid: {problem}")
            else:
                self.stdout.write(f"{name}: valid")
        if invalid:
            raise CommandError(f"{invalid} of {len(options['files'])} job definitions invalid")

    def handle_resubmit(self, options: dict[str, Any]) -> None:
        job = self._job(options["job_id"])
        user = self._user(options["submitter"]) if options["submitter"] else job.submitter
        try:
            new = resubmit_job(Actor(user, "manage"), job)
        except ServiceError as exc:
            raise CommandError(f"job {job.id} not resubmitted: {exc}") from None
        self.stdout.write(str(new.id))

    # changes

    def handle_cancel(self, options: dict[str, Any]) -> None:
        actor = Actor(self._user(options["user"]), "manage") if options["user"] else CONSOLE
        self._each(options["job_ids"], lambda job: cancel_job(actor, job, options["reason"]))

    def handle_fail(self, options: dict[str, Any]) -> None:
        self._each(options["job_ids"], lambda job: fail_job(CONSOLE, job, options["reason"]))

    def _each(self, ids: list[int], act: Any) -> None:
        failed = 0
        for pk in ids:
            try:
                job = act(self._job(pk))
            except (ServiceError, CommandError) as exc:
                failed += 1
                self.stderr.write(str(exc))
                continue
            state = JobState(job.state).label
            health = f" ({JobHealth(job.health).label})" if job.state == JobState.FINISHED else ""
            self.stdout.write(f"job {job.id}: {state}{health}")
        if failed:
            raise CommandError(f"{failed} of {len(ids)} jobs left unchanged")

    def handle_rm(self, options: dict[str, Any]) -> None:
        filters = ("older_than", "state", "health", "submitter")
        if not options["job_ids"] and not any(options[f] is not None for f in filters):
            raise CommandError("name the jobs to remove: IDs, or at least one filter option")
        jobs = TestJob.objects.all()
        if options["job_ids"]:
            jobs = jobs.filter(pk__in=options["job_ids"])
            missing = sorted(set(options["job_ids"]) - set(jobs.values_list("pk", flat=True)))
            if missing:
                raise CommandError(f"no such job: {', '.join(map(str, missing))}")
        elif options["state"] is None:
            jobs = jobs.filter(state=JobState.FINISHED)
        jobs = self._filter(jobs, options)
        if options["older_than"] is not None:
            since = timezone.now() - options["older_than"]
            jobs = jobs.filter(
                Q(end_time__lt=since) | Q(end_time__isnull=True, submit_time__lt=since)
            )
        ids = remove_jobs(CONSOLE, jobs, dry_run=options["dry_run"])
        verb = "Would remove" if options["dry_run"] else "Removed"
        self.stdout.write(
            f"{verb} {len(ids)} jobs" + (f": {', '.join(map(str, ids))}" if ids else "")
        )

    # listing

    def handle_list(self, options: dict[str, Any]) -> None:
        jobs = self._filter(TestJob.objects.all(), options).select_related(
            "submitter", "actual_device"
        )
        if options["newer_than"] is not None:
            jobs = jobs.filter(submit_time__gte=timezone.now() - options["newer_than"])
        jobs = jobs.order_by("-id")
        if options["limit"] > 0:
            jobs = jobs[: options["limit"]]
        rows = [
            {
                "id": job.id,
                "state": JobState(job.state).label,
                "health": JobHealth(job.health).label,
                "submitter": job.submitter.get_username(),
                "device_type": job.requested_device_type_id,
                "device": job.actual_device_id or job.requested_device_id,
                "priority": job.priority,
                "submit_time": job.submit_time.isoformat(timespec="seconds"),
                "description": job.description,
            }
            for job in jobs
        ]
        self.stdout.write(
            output.render(rows, COLUMNS, options["format"], options["csv"]), ending=""
        )

    # helpers

    def _filter(self, jobs: Any, options: dict[str, Any]) -> Any:
        if options.get("state") is not None:
            jobs = jobs.filter(state=options["state"])
        if options.get("health") is not None:
            jobs = jobs.filter(health=options["health"])
        if options.get("submitter"):
            jobs = jobs.filter(submitter=self._user(options["submitter"]))
        return jobs

    def _user(self, name: str) -> User:
        return get_user(name)

    def _job(self, pk: int) -> TestJob:
        try:
            return TestJob.objects.select_related("submitter").get(pk=pk)
        except TestJob.DoesNotExist:
            raise CommandError(f"job {pk} does not exist") from None
