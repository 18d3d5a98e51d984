"""The steps every boot method ends with: log in, find the shell, bring the overlay."""

from __future__ import annotations

from typing import Any

from lava.dispatcher.actions.boot.login import (
    AutoLoginAction,
    ExpectShellSession,
    ExportDeviceEnvironment,
)
from lava.dispatcher.actions.boot.transfer_overlay_serial import OverlaySerialTransferAction
from lava.dispatcher.pipeline import Action, Pipeline


def add_shell_steps(action: Action, pipeline: Pipeline, parameters: dict[str, Any]) -> None:
    """auto-login-action when the job gives prompts; then, if a test shell follows,
    expect-shell-connection, the overlay over the console if needed, export-device-env."""
    if "prompts" not in parameters:
        return
    pipeline.add_action(AutoLoginAction())
    if action.job.test_plan.get(action.namespace):
        pipeline.add_action(ExpectShellSession())
        pipeline.add_action(OverlaySerialTransferAction())
        pipeline.add_action(ExportDeviceEnvironment())
