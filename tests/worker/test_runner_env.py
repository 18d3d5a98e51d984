"""lava-run's environment from the server's env.yaml, with LAVA's purge, removes and overrides."""

from __future__ import annotations

from lava.common.fetch_policy import FetchPolicy, parse_rule
from lava.dispatcher import run
from lava.worker.runner import FetchRules, environment, local_path_options

BASE = {"PATH": "/usr/bin", "HOME": "/root", "LANG": "C.UTF-8"}


def test_empty_keeps_the_base() -> None:
    assert environment("", BASE) == BASE
    assert environment("  \n", BASE) == BASE


def test_purge_then_overrides() -> None:
    text = "purge: true\noverrides:\n  PATH: /bin\n  DEBUG: 1\n"
    assert environment(text, BASE) == {"PATH": "/bin", "DEBUG": "1"}


def test_removes_and_overrides() -> None:
    text = "removes: [HOME, NOT_SET]\noverrides: {LANG: en_GB.UTF-8}\n"
    assert environment(text, BASE) == {"PATH": "/usr/bin", "LANG": "en_GB.UTF-8"}


def test_bad_yaml_or_a_list_keeps_the_base() -> None:
    assert environment("purge: [\n", BASE) == BASE
    assert environment("- PATH\n", BASE) == BASE


def test_the_base_is_not_changed() -> None:
    base = dict(BASE)
    environment("purge: true\n", base)
    assert base == BASE


def test_the_worker_token_never_reaches_lava_run() -> None:
    base = {**BASE, "LAVA_WORKER_TOKEN": "w" * 32}
    assert environment("", base) == BASE
    assert "LAVA_WORKER_TOKEN" not in environment("removes: [HOME]\n", base)


def test_local_paths_are_only_those_the_admin_lists() -> None:
    assert local_path_options(()) == ["--no-local-paths"]
    assert local_path_options(("/srv/images", "/srv/tests")) == [
        "--allow-local-path",
        "/srv/images",
        "--allow-local-path",
        "/srv/tests",
    ]


def test_jobs_always_run_under_the_fetch_policy() -> None:
    """lava-run is restricted even when the admin gave no rule; its parser takes the rules."""
    assert FetchRules().options() == ["--restrict-fetches"]
    rules = FetchRules(("127.0.0.1:8080", "[::1]:8080"), ("10.20.0.0/16",))
    assert rules.options() == [
        "--restrict-fetches",
        "--allow-fetch-from=127.0.0.1:8080",
        "--allow-fetch-from=[::1]:8080",
        "--refuse-fetch-from=10.20.0.0/16",
    ]
    for given, expected in [
        (FetchRules(), FetchPolicy()),
        (rules, FetchPolicy(tuple(map(parse_rule, rules.allow)), (parse_rule("10.20.0.0/16"),))),
    ]:
        argv = ["--device", "d.yaml", "--output-dir", "out", *given.options(), "job.yaml"]
        assert run.fetch_policy(run.build_parser().parse_args(argv)) == expected
