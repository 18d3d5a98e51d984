"""lava-test-case, -set, -reference, -raise, -event and -feedback: exact lines and exit codes."""

from __future__ import annotations

import pytest
from shell_overlay import Overlay, signal_lines

# (arguments, the signal lines they print)
CASES = [
    (
        ["boot", "--result", "pass"],
        ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=pass>"],
    ),
    (
        ["boot", "--result", "fail", "--units", "ms", "--measurement", "12.5"],
        ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=fail UNITS=ms MEASUREMENT=12.5>"],
    ),
    (
        # LAVA's order whatever the order of the options.
        ["boot", "--measurement", "3", "--result", "pass", "--units", "s"],
        ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=pass UNITS=s MEASUREMENT=3>"],
    ),
    (
        ["boot", "--result", "unknown", "--measurement", "7"],
        ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=unknown MEASUREMENT=7>"],
    ),
    (
        ["boot", "--result", "skip", "--units", "s"],
        ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=boot RESULT=skip UNITS=s>"],
    ),
    (
        ["t", "--shell", "true"],
        [
            "<LAVA_SIGNAL_STARTTC t>",
            "<LAVA_SIGNAL_ENDTC t>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t RESULT=pass>",
        ],
    ),
    (
        ["t", "--shell", "false"],
        [
            "<LAVA_SIGNAL_STARTTC t>",
            "<LAVA_SIGNAL_ENDTC t>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t RESULT=fail>",
        ],
    ),
    (
        # One argument is a command line; `exit` in it ends the command, not the helper.
        ["t", "--shell", "test -d / && exit 4"],
        [
            "<LAVA_SIGNAL_STARTTC t>",
            "<LAVA_SIGNAL_ENDTC t>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t RESULT=fail>",
        ],
    ),
    (
        ["t", "--shell", "sh", "-c", "exit 0"],
        [
            "<LAVA_SIGNAL_STARTTC t>",
            "<LAVA_SIGNAL_ENDTC t>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t RESULT=pass>",
        ],
    ),
    (
        ["t", "--shell", "no-such-command-anywhere"],
        [
            "<LAVA_SIGNAL_STARTTC t>",
            "<LAVA_SIGNAL_ENDTC t>",
            "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=t RESULT=fail>",
        ],
    ),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[" ".join(args) for args, _ in CASES])
def test_lava_test_case_prints_exact_signals_and_exits_0(
    overlay: Overlay, args: list[str], expected: list[str]
) -> None:
    proc = overlay.helper("lava-test-case", *args, env={"LAVA_RESULT_DIR": str(overlay.tmp)})
    assert proc.returncode == 0, proc.stderr
    assert signal_lines(proc.stdout) == expected


def test_lava_test_case_shell_output_sits_between_the_markers(overlay: Overlay) -> None:
    proc = overlay.helper("lava-test-case", "words", "--shell", "printf", "%s|\n", "a b", "c")
    assert proc.returncode == 0
    assert proc.stdout.splitlines() == [
        "<LAVA_SIGNAL_STARTTC words>",
        "a b|",
        "c|",
        "<LAVA_SIGNAL_ENDTC words>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=words RESULT=pass>",
    ]


def test_lava_test_case_output_file(overlay: Overlay) -> None:
    log = overlay.tmp / "case.log"
    log.write_text("line one\nline two\n")
    proc = overlay.helper("lava-test-case", "logged", "--result", "pass", "--output", str(log))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "<LAVA_SIGNAL_STARTTC logged>",
        "line one",
        "line two",
        "<LAVA_SIGNAL_ENDTC logged>",
        "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=logged RESULT=pass>",
    ]


def test_lava_test_case_missing_output_file_still_records_the_case(overlay: Overlay) -> None:
    missing = overlay.tmp / "missing.log"
    proc = overlay.helper("lava-test-case", "c", "--result", "fail", "--output", str(missing))
    assert proc.returncode == 0
    assert signal_lines(proc.stdout)[-1] == "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=c RESULT=fail>"
    assert f"cannot read the --output file '{missing}'" in proc.stderr


def test_lava_test_case_writes_result_files(overlay: Overlay) -> None:
    proc = overlay.helper(
        "lava-test-case",
        "rate",
        "--result",
        "pass",
        "--measurement",
        "9.75",
        "--units",
        "MB/s",
        env={"LAVA_RESULT_DIR": str(overlay.tmp / "out")},
    )
    assert proc.returncode == 0
    case_dir = overlay.tmp / "out" / "results" / "rate"
    assert (case_dir / "result").read_text() == "pass\n"
    assert (case_dir / "measurement").read_text() == "9.75\n"
    assert (case_dir / "units").read_text() == "MB/s\n"


def test_lava_test_case_ignores_lookalike_environment(overlay: Overlay) -> None:
    """RESULT, UNITS or MEASUREMENT exported by the test must not leak into the signal."""
    env = {"RESULT": "fail", "UNITS": "parsecs", "MEASUREMENT": "42"}
    proc = overlay.helper("lava-test-case", "clean", "--result", "pass", env=env)
    assert signal_lines(proc.stdout) == ["<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=clean RESULT=pass>"]


@pytest.mark.parametrize(
    "args",
    [
        [],
        [""],
        ["--result", "pass"],
        ["name"],
        ["name", "--measurement", "3"],
        ["name", "--result"],
        ["name", "--result", "pass", "--bogus", "x"],
        ["name", "--shell"],
        ["name", "--result", "pass", "--shell", "true"],
    ],
    ids=lambda value: " ".join(value) or "no arguments",
)
def test_lava_test_case_usage_errors_exit_1_without_a_signal(
    overlay: Overlay, args: list[str]
) -> None:
    proc = overlay.helper("lava-test-case", *args)
    assert proc.returncode == 1
    assert signal_lines(proc.stdout) == []
    assert "Usage: lava-test-case" in proc.stderr


def test_lava_test_set(overlay: Overlay) -> None:
    start = overlay.helper("lava-test-set", "start", "block-io")
    stop = overlay.helper("lava-test-set", "stop")
    assert (start.returncode, stop.returncode) == (0, 0)
    assert start.stdout == "<LAVA_SIGNAL_TESTSET START block-io>\n"
    assert stop.stdout == "<LAVA_SIGNAL_TESTSET STOP>\n"
    for args in ([], ["start"], ["begin", "x"]):
        proc = overlay.helper("lava-test-set", *args)
        assert proc.returncode == 1, args
        assert proc.stdout == ""
        assert "Usage: lava-test-set" in proc.stderr


def test_lava_test_reference(overlay: Overlay) -> None:
    proc = overlay.helper(
        "lava-test-reference", "cve", "--result", "fail", "--reference", "https://x.org/a?b=c"
    )
    assert proc.returncode == 0
    assert proc.stdout == "<LAVA_SIGNAL_TESTREFERENCE cve fail https://x.org/a?b=c>\n"
    for args in (
        [],
        ["cve", "--result", "pass"],
        ["cve", "--reference", "https://x.org"],
        ["cve", "--result", "pass", "--reference"],
    ):
        proc = overlay.helper("lava-test-reference", *args)
        assert proc.returncode == 1, args
        assert proc.stdout == ""


def test_lava_test_raise_signals_and_fails(overlay: Overlay) -> None:
    proc = overlay.helper("lava-test-raise", "disk", "not", "found")
    assert proc.returncode == 1
    assert proc.stdout == "<LAVA_SIGNAL_TESTRAISE disk not found>\n"
    usage = overlay.helper("lava-test-raise")
    assert usage.returncode == 1
    assert usage.stdout == ""


def test_lava_test_event(overlay: Overlay) -> None:
    proc = overlay.helper("lava-test-event", "firmware-flashed")
    assert proc.returncode == 0
    assert proc.stdout == "<LAVA_SIGNAL_TESTEVENT firmware-flashed>\n"
    words = overlay.helper("lava-test-event", "two", "words")
    assert words.stdout == "<LAVA_SIGNAL_TESTEVENT two words>\n"
    assert overlay.helper("lava-test-event").returncode == 1


def test_lava_test_feedback(overlay: Overlay) -> None:
    proc = overlay.helper("lava-test-feedback", "--namespace", "host")
    assert proc.returncode == 0
    assert proc.stdout == "<LAVA_SIGNAL_TESTFEEDBACK host>\n"
    for args in ([], ["--namespace"], ["host"]):
        bad = overlay.helper("lava-test-feedback", *args)
        assert bad.returncode == 1, args
        assert bad.stdout == ""


def test_kmsg_signals_and_fallback(overlay: Overlay) -> None:
    kmsg = overlay.tmp / "kmsg"
    kmsg.touch()
    env = {"KMSG": "true", "LAVA_KMSG_PATH": str(kmsg)}
    proc = overlay.helper("lava-test-case", "k", "--shell", "echo out", env=env)
    assert proc.stdout == "out\n"
    assert kmsg.read_text().splitlines() == [
        "<0><LAVA_SIGNAL_STARTTC k>",
        "<0><LAVA_SIGNAL_ENDTC k>",
        "<0><LAVA_SIGNAL_TESTCASE TEST_CASE_ID=k RESULT=pass>",
    ]
    # No kernel log to write to: the signal still reaches the console.
    env["LAVA_KMSG_PATH"] = str(overlay.tmp / "no" / "such" / "kmsg")
    proc = overlay.helper("lava-test-set", "stop", env=env)
    assert proc.returncode == 0
    assert proc.stdout == "<LAVA_SIGNAL_TESTSET STOP>\n"
    assert "signalling on stdout instead" in proc.stderr


def test_character_delay(overlay: Overlay) -> None:
    proc = overlay.helper("lava-test-set", "stop", env={"CHARACTER_DELAY": "0.01"})
    assert proc.returncode == 0
    assert proc.stdout == "<LAVA_SIGNAL_TESTSET STOP>\n"


def test_helpers_work_without_bin_on_path(overlay: Overlay) -> None:
    """They find lava-common-functions next to themselves."""
    proc = overlay.run(
        str(overlay.bin / "lava-test-case"),
        "x",
        "--result",
        "pass",
        env={"PATH": overlay.tools},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x RESULT=pass>\n"
