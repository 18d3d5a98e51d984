"""Error types whose class decides a job's outcome and its `error_type`."""

from __future__ import annotations


class LAVAError(Exception):
    """Base of every error the dispatcher reports as the job's outcome."""

    error_type = ""
    error_help = ""


class InfrastructureError(LAVAError):
    """The lab failed: network, power, a board or a host tool, not the job."""

    error_type = "Infrastructure"
    error_help = "InfrastructureError: the lab infrastructure failed; tell the lab admins."


class ConnectionClosedError(InfrastructureError):
    """The console of the device went away."""

    error_help = "ConnectionClosedError: connection closed"


class JobError(LAVAError):
    """The job's own input is wrong: a missing image, a bad URL, a bad parameter."""

    error_type = "Job"
    error_help = "JobError: the job definition or its inputs are wrong; check the error message."


class TestError(LAVAError):
    """A test definition misbehaved (`lava-test-raise`, a timeout, a bad pattern)."""

    __test__ = False  # not a pytest class
    error_type = "Test"
    error_help = "TestError: a test definition failed to run; check the error message."


class LAVABug(LAVAError):
    """Something the dispatcher should never do: please report it."""

    error_type = "Bug"
    error_help = "LAVABug: this is a bug in the dispatcher; please report it with the job log."


class ConfigurationError(LAVAError):
    """The device or dispatcher configuration is wrong: an admin must fix it."""

    error_type = "Configuration"
    error_help = (
        "ConfigurationError: the device or dispatcher configuration is wrong; tell the lab admins."
    )


class JobCanceled(LAVAError):
    """The job was canceled by a signal (SIGTERM, SIGINT, ...)."""

    error_type = "Canceled"
    error_help = "JobCanceled: The job was canceled"


class LAVATimeoutError(LAVAError):
    """A test shell, interactive test or monitor timed out."""

    error_type = "LAVATimeout"
    error_help = "LAVATimeoutError: the test shell timed out."


class MultinodeProtocolTimeoutError(LAVAError):
    """A MultiNode coordinator wait timed out."""

    error_type = "MultinodeTimeout"
    error_help = "MultinodeProtocolTimeoutError: Multinode wait/sync call has timed out."
