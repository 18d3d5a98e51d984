"""An overlay laid out as on the device, with the helpers rendered for busybox ash or dash."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lava.dispatcher.shell import helper_scripts, render_script

SHELLS = ("busybox", "dash")
JOB_ID = "1"
HOST_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


def signal_lines(text: str) -> list[str]:
    """The lines of ``text`` that are signals or runner markers, in order."""
    return [line for line in text.splitlines() if line.startswith(("<LAVA_", "<0><LAVA_"))]


@dataclass
class Overlay:
    """``<tmp>/lava-1/{bin,0/...}`` plus the environment the dispatcher gives the runner."""

    root: Path
    shell: str
    sh_cmd: str
    tools: str
    tmp: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def stage(self, number: int = 0) -> Path:
        return self.root / str(number)

    def conf(self, number: int = 0) -> Path:
        return self.stage(number) / "lava-test-runner.conf"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment, so that nothing of the host's (KMSG, RESULT, ...) leaks in."""
        env = {
            "PATH": f"{self.bin}:{self.tools}",
            "SHELL": self.sh_cmd,
            "HOME": str(self.tmp),
            "TMPDIR": str(self.tmp),
            "LC_ALL": "C",
        }
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def install(self, os_name: str | None = None, values: Mapping[str, str] | None = None) -> None:
        """(Re)write bin/ as the overlay builder would."""
        self.bin.mkdir(parents=True, exist_ok=True)
        for name, path in helper_scripts(os_name).items():
            target = self.bin / name
            target.write_bytes(render_script(path, self.sh_cmd, values))
            target.chmod(0o755)

    def add_definition(
        self,
        name: str,
        steps: Sequence[str],
        *,
        install: str | None = None,
        stage: int = 0,
        uuid: str = "1_1.4.2.1",
        kmsg: bool = False,
    ) -> Path:
        """A definition directory with a run.sh shaped like the one the dispatcher writes."""
        directory = self.stage(stage) / "tests" / name
        directory.mkdir(parents=True)
        (directory / "uuid").write_text(f"{uuid}\n")
        if kmsg:
            # The dispatcher's run.sh writes to /dev/kmsg; the test's own kernel log is a file.
            start = (
                "# USE_KMSG\nexport KMSG=true\n"
                'echo "<0><LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>" >>"$LAVA_KMSG_PATH"'
            )
            end = 'unset KMSG\necho "<0><LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>" >>"$LAVA_KMSG_PATH"'
        else:
            start = 'echo "<LAVA_SIGNAL_STARTRUN $TESTRUN_ID $UUID>"'
            end = 'echo "<LAVA_SIGNAL_ENDRUN $TESTRUN_ID $UUID>"'
        lines = [
            "set -e",
            "set -x",
            f"export TESTRUN_ID={name}",
            f"cd {directory}",
            'UUID="$(cat uuid)"',
            "set +x",
            start,
            "set -x",
            *steps,
            "set +x",
            end,
        ]
        (directory / "run.sh").write_text("\n".join(lines) + "\n")
        if install is not None:
            (directory / "install.sh").write_text(install)
        with self.conf(stage).open("a") as conf:
            conf.write(f"{directory}\n")
        return directory

    def run(
        self,
        *argv: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command with the device environment; stdin is empty, as on a quiet console."""
        return subprocess.run(
            list(argv),
            env=self.env(env),
            cwd=cwd or self.tmp,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def helper(
        self, name: str, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run bin/<name> the way run.sh does: by name, found on PATH."""
        return self.run(name, *args, env=env)

    def runner(self, stage: int = 0, **kwargs: object) -> subprocess.CompletedProcess[str]:
        """What the dispatcher types: /lava-<id>/bin/lava-test-runner /lava-<id>/<stage>."""
        return self.run(str(self.bin / "lava-test-runner"), str(self.stage(stage)), **kwargs)  # type: ignore[arg-type]


def make_overlay(
    shell: str, tmp_path: Path, busybox_tools: Path | None, tools: str | Path | None = None
) -> Overlay:
    """An overlay whose helpers run under ``shell`` ("busybox" or "dash").

    The tools on PATH are ``tools``, by default busybox's applets for busybox
    and the host's for dash.
    """
    if shell == "busybox":
        if busybox_tools is None:
            pytest.skip("busybox is not installed (apt-get install busybox-static)")
        sh_cmd = str(busybox_tools / "sh")
        default_tools = str(busybox_tools)
    else:
        dash = shutil.which("dash")
        if dash is None:
            pytest.skip("dash is not installed")
        sh_cmd = dash
        default_tools = HOST_PATH
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    overlay = Overlay(
        root=tmp_path / f"lava-{JOB_ID}",
        shell=shell,
        sh_cmd=sh_cmd,
        tools=str(tools or default_tools),
        tmp=tmp,
    )
    overlay.install()
    overlay.stage(0).mkdir()
    return overlay
