"""lava-test-runner and lava-test-shell, run for real on an overlay laid out as on the device."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from shell_overlay import Overlay, signal_lines

SMOKE_STEPS = [
    "echo STARTRUN",
    "lava-test-case always-passes --shell true",
    "lava-test-case always-fails --shell false",
    "lava-test-case greeting --shell echo hello from the case",
    "lava-test-case boot-time --result pass --measurement 1.5 --units s",
    "lava-test-set start network",
    "lava-test-case ping --shell 'test 1 -eq 1 && echo pong'",
    "lava-test-set stop",
    "lava-test-reference spec --result pass --reference https://example.org/spec",
    "echo ENDRUN",
]
SMOKE_SIGNALS = [
    "<LAVA_SIGNAL_STARTRUN 0_smoke 1_1.4.2.1>",
    "<LAVA_SIGNAL_STARTTC always-passes>",
    "<LAVA_SIGNAL_ENDTC always-passes>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=always-passes RESULT=pass>",
    "<LAVA_SIGNAL_STARTTC always-fails>",
    "<LAVA_SIGNAL_ENDTC always-fails>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=always-fails RESULT=fail>",
    "<LAVA_SIGNAL_STARTTC greeting>",
    "<LAVA_SIGNAL_ENDTC greeting>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=greeting RESULT=pass>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot-time RESULT=pass UNITS=s MEASUREMENT=1.5>",
    "<LAVA_SIGNAL_TESTSET START network>",
    "<LAVA_SIGNAL_STARTTC ping>",
    "<LAVA_SIGNAL_ENDTC ping>",
    "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=ping RESULT=pass>",
    "<LAVA_SIGNAL_TESTSET STOP>",
    "<LAVA_SIGNAL_TESTREFERENCE spec pass https://example.org/spec>",
    "<LAVA_SIGNAL_ENDRUN 0_smoke 1_1.4.2.1>",
    "<LAVA_TEST_RUNNER EXIT>",
]


def test_smoke_definition_prints_the_exact_signals(overlay: Overlay) -> None:
    overlay.add_definition("0_smoke", SMOKE_STEPS)
    proc = overlay.runner()
    assert proc.returncode == 0, proc.stderr
    assert signal_lines(proc.stdout) == SMOKE_SIGNALS
    lines = proc.stdout.splitlines()
    assert lines[-1] == "<LAVA_TEST_RUNNER EXIT>"
    # The command's own output sits between its STARTTC and ENDTC.
    start = lines.index("<LAVA_SIGNAL_STARTTC greeting>")
    assert lines[start + 1 : start + 3] == ["hello from the case", "<LAVA_SIGNAL_ENDTC greeting>"]
    assert lines.index("STARTRUN") < lines.index("ENDRUN")
    # set -x of run.sh goes to stderr, as on the device's console.
    assert "+ lava-test-case always-fails --shell false" in proc.stderr


def test_conf_is_renamed_and_results_are_recorded(overlay: Overlay) -> None:
    definition = overlay.add_definition("0_smoke", SMOKE_STEPS)
    before = time.time()
    proc = overlay.runner()
    assert proc.returncode == 0, proc.stderr

    stage = overlay.stage()
    assert not overlay.conf().exists()
    (renamed,) = stage.glob("lava-test-runner.conf-*")
    epoch = int(renamed.name.rsplit("-", 1)[1])
    assert before - 2 <= epoch <= time.time() + 2
    assert renamed.read_text() == f"{definition}\n"

    (output_dir,) = (stage / "results").iterdir()
    assert output_dir.name.startswith("0_smoke-")
    assert (output_dir / "return_code").read_text() == "0\n"
    assert not (output_dir / "install_return_code").exists()
    cases = output_dir / "results"
    assert (cases / "always-fails" / "result").read_text() == "fail\n"
    assert (cases / "boot-time" / "measurement").read_text() == "1.5\n"
    assert (cases / "boot-time" / "units").read_text() == "s\n"

    # The dispatcher may start the runner again after a reboot: nothing reruns.
    again = overlay.runner()
    assert again.returncode == 0
    assert signal_lines(again.stdout) == ["<LAVA_TEST_RUNNER EXIT>"]
    assert "nothing to run" in again.stderr


def test_failed_install_skips_only_that_definition(overlay: Overlay) -> None:
    installed = overlay.add_definition(
        "0_installed",
        ["lava-test-case marker --shell test -f installed"],
        install=f"cd {overlay.stage()}/tests/0_installed\necho installing\ntouch installed\n",
    )
    broken = overlay.add_definition(
        "1_broken", ["lava-test-case never --result pass"], install="echo oops\nexit 3\n"
    )
    overlay.add_definition("2_plain", ["lava-test-case plain --result pass"])
    proc = overlay.runner()
    assert proc.returncode == 0, proc.stderr
    assert signal_lines(proc.stdout) == [
        "<LAVA_SIGNAL_STARTRUN 0_installed 1_1.4.2.1>",
        "<LAVA_SIGNAL_STARTTC marker>",
        "<LAVA_SIGNAL_ENDTC marker>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=marker RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 0_installed 1_1.4.2.1>",
        "<LAVA_TEST_RUNNER INSTALL_FAIL>",
        "<LAVA_SIGNAL_STARTRUN 2_plain 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=plain RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 2_plain 1_1.4.2.1>",
        "<LAVA_TEST_RUNNER EXIT>",
    ]
    assert "installing" in proc.stdout and "oops" in proc.stdout
    assert (installed / "installed").exists()
    assert f"{broken}/install.sh failed with exit status 3" in proc.stderr
    results = overlay.stage() / "results"
    (broken_dir,) = results.glob("1_broken-*")
    assert (broken_dir / "install_return_code").read_text() == "3\n"
    assert not (broken_dir / "return_code").exists()
    (installed_dir,) = results.glob("0_installed-*")
    assert (installed_dir / "install_return_code").read_text() == "0\n"


def test_failing_step_ends_the_definition_not_the_stage(overlay: Overlay) -> None:
    overlay.add_definition("0_aborts", ["lava-test-case first --result pass", "false", "echo no"])
    overlay.add_definition("1_next", ["lava-test-case second --result pass"])
    proc = overlay.runner()
    assert signal_lines(proc.stdout) == [
        "<LAVA_SIGNAL_STARTRUN 0_aborts 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=first RESULT=pass>",
        "<LAVA_SIGNAL_STARTRUN 1_next 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=second RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 1_next 1_1.4.2.1>",
        "<LAVA_TEST_RUNNER EXIT>",
    ]
    assert "no" not in proc.stdout.splitlines()
    (aborted,) = (overlay.stage() / "results").glob("0_aborts-*")
    assert (aborted / "return_code").read_text() == "1\n"


def test_lava_test_raise_stops_the_run(overlay: Overlay) -> None:
    overlay.add_definition("0_raise", ["lava-test-raise device not ready", "echo unreachable"])
    proc = overlay.runner()
    assert signal_lines(proc.stdout) == [
        "<LAVA_SIGNAL_STARTRUN 0_raise 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTRAISE device not ready>",
        "<LAVA_TEST_RUNNER EXIT>",
    ]
    assert "unreachable" not in proc.stdout


def test_environment_of_the_tests(overlay: Overlay) -> None:
    overlay.add_definition(
        "0_env",
        [
            'echo "HELPER=$(command -v lava-test-case)"',
            'echo "RESULT_DIR=$LAVA_RESULT_DIR"',
            'echo "SHELL=$SHELL"',
            # The runner reads its list on another descriptor: stdin is not the list.
            'if read -r line; then echo "STDIN=$line"; fi',
        ],
    )
    overlay.add_definition("1_after", ["true"])
    proc = overlay.runner()
    assert proc.returncode == 0, proc.stderr
    values = dict(
        line.split("=", 1) for line in proc.stdout.splitlines() if not line.startswith("<")
    )
    assert values["HELPER"] == str(overlay.bin / "lava-test-case")
    (output_dir,) = (overlay.stage() / "results").glob("0_env-*")
    assert values["RESULT_DIR"] == str(output_dir)
    assert values["SHELL"] == overlay.sh_cmd
    assert "STDIN" not in values
    assert "<LAVA_SIGNAL_STARTRUN 1_after 1_1.4.2.1>" in proc.stdout


def test_kmsg_definition_signals_on_the_kernel_log(overlay: Overlay) -> None:
    kmsg = overlay.tmp / "kmsg"
    kmsg.touch()
    overlay.add_definition(
        "0_kmsg",
        ["lava-test-case via-kmsg --result pass --measurement 3 --units ms", "echo plain"],
        kmsg=True,
    )
    proc = overlay.runner(env={"LAVA_KMSG_PATH": str(kmsg)})
    assert proc.returncode == 0, proc.stderr
    assert signal_lines(proc.stdout) == []
    assert "plain" in proc.stdout.splitlines()
    assert kmsg.read_text().splitlines() == [
        "<0><LAVA_SIGNAL_STARTRUN 0_kmsg 1_1.4.2.1>",
        "<0><LAVA_SIGNAL_TESTCASE TEST_CASE_ID=via-kmsg RESULT=pass UNITS=ms MEASUREMENT=3>",
        "<0><LAVA_SIGNAL_ENDRUN 0_kmsg 1_1.4.2.1>",
        # The runner follows the channel of the last definition it ran.
        "<0><LAVA_TEST_RUNNER EXIT>",
    ]


def test_kmsg_choice_is_per_definition(overlay: Overlay) -> None:
    kmsg = overlay.tmp / "kmsg"
    kmsg.touch()
    overlay.add_definition("0_kmsg", ["lava-test-case k --result pass"], kmsg=True)
    overlay.add_definition("1_stdout", ["lava-test-case s --result pass"])
    proc = overlay.runner(env={"LAVA_KMSG_PATH": str(kmsg)})
    assert "<0><LAVA_SIGNAL_TESTCASE TEST_CASE_ID=k RESULT=pass>" in kmsg.read_text()
    assert signal_lines(proc.stdout) == [
        "<LAVA_SIGNAL_STARTRUN 1_stdout 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=s RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 1_stdout 1_1.4.2.1>",
        "<LAVA_TEST_RUNNER EXIT>",
    ]


def wait_for_process(pgid: int, name: str, timeout: float = 10) -> None:
    """Wait until process group ``pgid`` has a process called ``name``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)
            except OSError:
                continue
            comm = fields[0].split("(", 1)[1]
            if comm == name and int(fields[1].split()[2]) == pgid:
                return
        time.sleep(0.05)
    raise AssertionError(f"no process {name!r} appeared in group {pgid} within {timeout}s")


def test_interrupted_runner_still_prints_exit(overlay: Overlay) -> None:
    """The dispatcher's Ctrl-C on a timeout reaches the whole foreground group."""
    overlay.add_definition("0_hangs", ["echo sleeping", "sleep 60"])
    proc = subprocess.Popen(
        [str(overlay.bin / "lava-test-runner"), str(overlay.stage())],
        env=overlay.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        while proc.stdout.readline().strip() != "sleeping":
            pass
        # A SIGINT that lands between fork and exec is lost (dash), as it would be
        # on a device: interrupt once the test really sleeps.
        wait_for_process(proc.pid, "sleep")
        os.killpg(proc.pid, signal.SIGINT)
        rest = proc.stdout.read()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert signal_lines(rest) == ["<LAVA_TEST_RUNNER EXIT>"]
    assert proc.returncode == 130


def test_lava_test_shell_records_the_return_code(overlay: Overlay) -> None:
    output_dir = overlay.tmp / "out"
    proc = overlay.helper(
        "lava-test-shell",
        "--output_dir",
        str(output_dir),
        overlay.sh_cmd,
        "-c",
        'echo "dir=$LAVA_RESULT_DIR"; exit 7',
    )
    assert proc.returncode == 7
    assert proc.stdout == f"dir={output_dir}\n"
    assert (output_dir / "return_code").read_text() == "7\n"


def test_lava_test_shell_usage_errors(overlay: Overlay) -> None:
    for args in ([], ["--output_dir"], ["--output_dir", "x"], ["run.sh"]):
        proc = overlay.helper("lava-test-shell", *args)
        assert proc.returncode == 1, args
        assert "Usage: lava-test-shell" in proc.stderr


def test_conf_lines_blank_comment_relative_and_unterminated(overlay: Overlay) -> None:
    overlay.add_definition("0_first", ["lava-test-case a --result pass"])
    overlay.add_definition("1_second", ["lava-test-case b --result pass"])
    # Rewrite the list: a blank line, a comment, a relative path with a trailing
    # slash, and a last line without its newline.
    overlay.conf().write_text(
        f"\n# comment\ntests/0_first/\n{overlay.stage() / 'tests' / '1_second'}"
    )
    proc = overlay.runner()
    assert proc.returncode == 0, proc.stderr
    assert signal_lines(proc.stdout) == [
        "<LAVA_SIGNAL_STARTRUN 0_first 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=a RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 0_first 1_1.4.2.1>",
        "<LAVA_SIGNAL_STARTRUN 1_second 1_1.4.2.1>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=b RESULT=pass>",
        "<LAVA_SIGNAL_ENDRUN 1_second 1_1.4.2.1>",
        "<LAVA_TEST_RUNNER EXIT>",
    ]
    output_dirs = (overlay.stage() / "results").iterdir()
    assert sorted(path.name.rsplit("-", 1)[0] for path in output_dirs) == ["0_first", "1_second"]


def test_shell_with_arguments(overlay: Overlay) -> None:
    """lava_test_sh_cmd may carry arguments ("/bin/busybox sh"): $SHELL is split."""
    overlay.add_definition("0_args", ["lava-test-case x --result pass"])
    proc = overlay.runner(env={"SHELL": f"{overlay.sh_cmd} -u"})
    assert proc.returncode == 0, proc.stderr
    assert "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass>" in signal_lines(proc.stdout)
