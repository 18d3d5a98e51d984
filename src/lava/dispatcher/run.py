"""`lava-run`: a job definition and a device YAML in; a log and results out."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from lava.common import yamlio
from lava.common.exceptions import (
    ConfigurationError,
    JobCanceled,
    JobError,
    LAVABug,
    LAVAError,
)
from lava.common.fetch_policy import FetchPolicy
from lava.common.fetch_policy import add_arguments as fetch_policy_arguments
from lava.common.private import private_dir, write_private
from lava.dispatcher.device import Device
from lava.dispatcher.job_secrets import job_secrets
from lava.dispatcher.logger import JobLogger

CANCEL_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lava-run", description="Run a LAVA job on one device and write its log and results."
    )
    parser.add_argument("definition", type=Path, help="the job definition (YAML)")
    parser.add_argument("--device", type=Path, required=True, help="the rendered device YAML")
    parser.add_argument("--output-dir", type=Path, required=True, help="where to write results")
    parser.add_argument("--job-id", default="0", help="the job id (default 0)")
    parser.add_argument("--dispatcher", type=Path, help="dispatcher configuration (YAML)")
    parser.add_argument("--env-dut", type=Path, help="environment for the device (YAML)")
    parser.add_argument(
        "--work-dir", type=Path, help="temporary files (default: a new directory, removed after)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, help="download cache (default: $LAVA_CACHE_DIR or ~/.cache)"
    )
    parser.add_argument(
        "--allow-local-path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="accept file:// URLs and local paths from the job only under DIR (repeatable); "
        "without this option or --no-local-paths, any local path is accepted",
    )
    parser.add_argument(
        "--no-local-paths",
        action="store_true",
        help="refuse every file:// URL and local path in the job (what lava-worker passes "
        "when it allows none)",
    )
    parser.add_argument(
        "--restrict-fetches",
        action="store_true",
        help="refuse the job's fetches from loopback, link-local, unspecified, multicast and "
        "reserved addresses (what lava-worker passes); without it, --allow-fetch-from and "
        "--refuse-fetch-from, the job may fetch from any address",
    )
    fetch_policy_arguments(parser, "the job")
    parser.add_argument(
        "--validate", action="store_true", help="build and validate the pipeline, print it, stop"
    )
    parser.add_argument("--quiet", action="store_true", help="do not copy the log to stdout")
    parser.add_argument("--skip-sudo-warning", action="store_true", help=argparse.SUPPRESS)
    return parser


def default_cache_dir() -> Path:
    env = os.environ.get("LAVA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lava-dispatcher"


class Canceler:
    """Turns the first cancel signal into JobCanceled; a second one insists."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1:
            raise JobCanceled(f"The job was canceled ({name})")
        raise JobCanceled(f"The job was canceled again ({name}) while canceling")

    def install(self) -> None:
        for signum in CANCEL_SIGNALS:
            signal.signal(signum, self)

    @staticmethod
    def ignore() -> None:
        for signum in CANCEL_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


def _load_yaml_file(path: Path, what: str, error: type[LAVAError]) -> Any:
    try:
        return yamlio.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"Unable to read the {what} {path}: {exc}") from exc
    except JobCanceled:
        raise  # the cancel signal landed while the file was being read
    except Exception as exc:
        raise error(f"Invalid YAML in the {what} {path}: {exc}") from exc


def load_definition(path: Path) -> dict[str, Any]:
    """Read and schema-check the job definition (LAVA's non-strict full schema)."""
    from lava.common.schema import JobSchemaError, JobSyntaxError, load_job, validate_job

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JobError(f"Unable to read the job definition {path}: {exc}") from exc
    try:
        data = load_job(text)
        validate_job(data, strict=False, size=len(text.encode("utf-8")))  # and the limits
    except (JobSyntaxError, JobSchemaError) as exc:
        raise JobError(f"Invalid job definition {path}: {exc}") from exc
    return data


def fetch_policy(options: argparse.Namespace) -> FetchPolicy | None:
    """The addresses the job may fetch from: any when run by hand without the options."""
    if not (options.restrict_fetches or options.allow_fetch_from or options.refuse_fetch_from):
        return None
    return FetchPolicy(tuple(options.allow_fetch_from), tuple(options.refuse_fetch_from))


def results_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `results` log lines as the server stores them (suite, set, name, ...)."""
    rows = []
    for msg in results:
        row: dict[str, Any] = {"suite": str(msg["definition"])}
        if msg.get("set"):
            row["set"] = str(msg["set"])
        row["name"] = str(msg["case"])
        row["result"] = str(msg["result"])
        if msg["definition"] == "lava" and "duration" in msg:
            row["measurement"] = float(msg["duration"])
            row["units"] = "seconds"
        elif msg.get("measurement") is not None:
            row["measurement"] = float(msg["measurement"])
            if msg.get("units"):
                row["units"] = str(msg["units"])
        rows.append(row)
    return rows


class CollectingLogger(JobLogger):
    """A JobLogger that also keeps the `results` records for results.yaml."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.collected: list[dict[str, Any]] = []

    def results(self, result: dict[str, Any]) -> None:
        self.collected.append(result)
        super().results(result)


def run_job(options: argparse.Namespace, logger: CollectingLogger) -> dict[str, Any]:
    """Parse, validate and run the job; return the `lava/job` result record."""
    from lava.dispatcher.parser import parse_job

    canceler = Canceler()
    job = None
    success = False
    error: LAVAError | None = None
    work_dir = options.work_dir
    own_work_dir = work_dir is None
    try:
        canceler.install()
        definition = load_definition(options.definition)
        device_data = _load_yaml_file(options.device, "device file", ConfigurationError)
        device = Device.from_dict(device_data, source=str(options.device))
        # Masked in the log; never exported (see job_secrets): only the device gets them.
        for value in job_secrets(definition).values():
            logger.add_secret(value)
        os.environ["LAVA_JOB_ID"] = str(options.job_id)
        if own_work_dir:
            work_dir = Path(tempfile.mkdtemp(prefix=f"lava-run-{options.job_id}-"))
        private_dir(work_dir)
        job = parse_job(definition, device, str(options.job_id), logger, work_dir)
        job.cache_dir = options.cache_dir or default_cache_dir()
        if options.allow_local_path or options.no_local_paths:
            job.local_dirs = tuple(options.allow_local_path)
        job.fetch_policy = fetch_policy(options)
        job.output_dir = options.output_dir
        if options.dispatcher:
            job.dispatcher_config = (
                _load_yaml_file(options.dispatcher, "dispatcher configuration", ConfigurationError)
                or {}
            )
        if options.env_dut:
            job.env_dut = _load_yaml_file(options.env_dut, "env-dut file", ConfigurationError)
        write_private(options.output_dir / "description.yaml", yamlio.dump(job.describe()))
        try:
            job.validate()
        finally:
            if options.validate:
                print(yamlio.dump(job.describe()), end="")
        if not options.validate:
            job.run()
        success = True
    except LAVAError as exc:
        error = exc
        if isinstance(exc, LAVABug):
            logger.traceback()
        else:
            logger.error(str(exc))
    except Exception as exc:
        logger.traceback()
        error = LAVABug(str(exc))
    finally:
        try:
            # --validate only plans: nothing ran, and the device is not touched (no power-off).
            if job is not None and not job.cleaned and not options.validate:
                job.cleanup()
        except LAVAError as exc:
            logger.error(f"Cleanup failed: {exc}")
            if error is None:
                error, success = exc, False
        except Exception:
            logger.traceback()
        finally:
            Canceler.ignore()
            if job is not None:
                job.deadlines.disarm()
            if own_work_dir and work_dir is not None:
                shutil.rmtree(work_dir, ignore_errors=True)
    record: dict[str, Any] = {"definition": "lava", "case": "job"}
    if success:
        record["result"] = "pass"
        logger.info("Job finished correctly")
    else:
        record["result"] = "fail"
        record["error_msg"] = str(error) if error else "Unknown error"
        record["error_type"] = error.error_type if error else "Unknown"
        logger.error(error.error_help if error else "Unknown error")
    logger.results(record)
    return record


@functools.cache
def parser() -> argparse.ArgumentParser:
    """The parser, built once a process: the worker's fork server builds it for all its jobs."""
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        if not options.output_dir.is_dir():
            private_dir(options.output_dir)
    except OSError as exc:
        print(f"lava-run: cannot create the output directory {options.output_dir}: {exc}")
        return 2
    log_path = options.output_dir / "output.yaml"
    log_path.unlink(missing_ok=True)
    # With --validate, stdout carries the pipeline and the log goes to stderr.
    stream = sys.stderr if options.validate else sys.stdout
    logger = CollectingLogger(stream=None if options.quiet else stream, path=log_path)
    record = run_job(options, logger)
    logger.close()
    write_private(options.output_dir / "result.yaml", yamlio.dump(record))
    if not options.validate:
        write_private(
            options.output_dir / "results.yaml", yamlio.dump(results_rows(logger.collected))
        )
    return 0 if record["result"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
