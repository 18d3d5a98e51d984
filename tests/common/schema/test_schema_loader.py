"""YAML problems are reported as JobSyntaxError with 1-based line and column."""

from __future__ import annotations

import pytest

from lava.common.schema import JobSyntaxError, check_job_text, load_job


def syntax_error(text: str | bytes) -> JobSyntaxError:
    with pytest.raises(JobSyntaxError) as info:
        load_job(text)  # type: ignore[arg-type]
    return info.value


def test_loads_a_mapping() -> None:
    assert load_job("job_name: x\ntags: [a, b]\n") == {"job_name": "x", "tags": ["a", "b"]}


def test_yaml_error_has_line_and_column() -> None:
    error = syntax_error("job_name: smoke\ndevice_type: qemu\n  visibility: public\n")
    assert (error.line, error.column) == (3, 13)
    assert str(error).startswith("line 3, column 13: ")
    assert "mapping values are not allowed" in str(error)


def test_unclosed_flow_sequence() -> None:
    error = syntax_error("job_name: x\ntags: [a, b\n")
    assert error.line == 3
    assert "flow sequence" in error.problem


def test_tab_indentation() -> None:
    error = syntax_error("actions:\n\t- deploy: {}\n")
    assert (error.line, error.column) == (2, 1)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("- a\n- b\n", "a list"),
        ("just text", "a string"),
        ("42", "an integer"),
        ("true", "a boolean"),
    ],
)
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    error = syntax_error(text)
    assert (error.line, error.column) == (1, 1)
    assert f"not {kind}" in str(error)


def test_top_level_position_skips_comments() -> None:
    error = syntax_error("# a job\n\n- deploy: {}\n")
    assert (error.line, error.column) == (3, 1)


@pytest.mark.parametrize("text", ["", "# nothing\n", "---\n"])
def test_empty_document(text: str) -> None:
    assert "empty" in str(syntax_error(text))


def test_invalid_date_points_at_the_value() -> None:
    error = syntax_error("job_name: x\nwhen: 2024-13-45\n")
    assert (error.line, error.column) == (2, 7)


def test_bad_bytes() -> None:
    error = syntax_error(b"job_name: \xff\n")
    assert (error.line, error.column) == (1, 11)


def test_unsafe_tags_are_refused() -> None:
    assert "constructor" in str(syntax_error("!!python/object/apply:os.system ['true']"))


def test_two_documents() -> None:
    assert syntax_error("a: 1\n---\nb: 2\n").line == 2


def test_check_job_text_reports_syntax_errors() -> None:
    message = check_job_text("a: b: c")
    assert message is not None
    assert message.startswith("line 1, column 5: mapping values are not allowed")


def test_a_cancel_signal_while_loading_is_not_a_syntax_error(monkeypatch) -> None:
    # lava-run's SIGTERM handler raises JobCanceled wherever Python is, here inside the load
    from lava.common import yamlio
    from lava.common.exceptions import JobCanceled

    def canceled(*_args: object) -> None:
        raise JobCanceled("The job was canceled (SIGTERM)")

    monkeypatch.setattr(yamlio, "load", canceled)
    with pytest.raises(JobCanceled):
        load_job("job_name: x\n")
