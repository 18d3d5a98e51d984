"""LogStore: append with retries and gaps, reads, torn-tail repair, locking, kept files."""

from __future__ import annotations

import itertools
import multiprocessing
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lava.common import log
from lava.server.logs.store import PACK, LogConflict, LogGap, LogStore, parse_batch


def lines(n: int, start: int = 0) -> list[str]:
    return [
        log.encode("target", f"line {i} ünï", "2026-01-05T10:00:00.000000+00:00") + "\n"
        for i in range(start, start + n)
    ]


def batch(n: int, start: int = 0) -> str:
    return "".join(lines(n, start))


def offsets(store: LogStore, job: int) -> list[int]:
    raw = store._index_path(job).read_bytes()
    return [v for (v,) in struct.iter_unpack(PACK, raw)]


def consistent(store: LogStore, job: int) -> None:
    """The index lists exactly the start of every line of the data file."""
    data = store._path(job).read_bytes()
    starts = [0, *[i + 1 for i, c in enumerate(data) if c == 10][:-1]] if data else []
    assert offsets(store, job) == starts


@pytest.fixture
def store(tmp_path: Path) -> LogStore:
    return LogStore(tmp_path / "jobs")


def test_append_and_read(store: LogStore) -> None:
    assert store.append(7, 0, batch(3)) == 3
    assert store.append(7, 3, batch(2, 3)) == 5
    assert store.count(7) == 5
    assert store._path(7) == store.root / "job-7" / "output.yaml"
    assert store.read(7, 0, None) == batch(5).encode()
    assert store.read(7, 1, 3) == batch(2, 1).encode()
    assert store.read(7, 4, 100) == batch(1, 4).encode()
    assert store.read(7, 5, None) == b""
    assert store.read(7, 3, 2) == b""
    assert store.read_lines(7, 2, 4) == [line[:-1] for line in lines(2, 2)]
    assert store.size(7) == len(batch(5).encode())
    consistent(store, 7)


def test_empty_job(store: LogStore) -> None:
    assert store.count(1) == 0
    assert store.size(1) == 0
    assert store.read(1, 0, None) == b""
    assert store.read_lines(1, 0, 10) == []
    assert store.repair(1) == 0


def test_retry_is_idempotent(store: LogStore) -> None:
    store.append(1, 0, batch(4))
    assert store.append(1, 0, batch(4)) == 4
    assert store.append(1, 2, batch(4, 2)) == 6  # two known, two new
    assert store.read(1) == batch(6).encode()


@pytest.mark.parametrize(
    ("start", "changed", "first"),
    [
        (0, 0, 0),  # the first line differs
        (0, 2, 2),  # a later one
        (1, 2, 2),  # a retry from the middle
        (2, 3, 3),  # the last stored line, with new lines after it
    ],
)
def test_a_resent_line_that_differs_is_refused(
    store: LogStore, start: int, changed: int, first: int
) -> None:
    store.append(1, 0, batch(4))
    resent = lines(6)[start:]
    resent[changed - start] = resent[changed - start].replace("line", "LINE")
    with pytest.raises(LogConflict) as info:
        store.append(1, start, "".join(resent))
    assert info.value.line == first
    assert f"log line {first} of the batch differs from the stored line {first}" in str(info.value)
    assert store.read(1) == batch(4).encode()  # nothing stored, nothing replaced


def test_a_resent_line_of_another_length_is_refused(store: LogStore) -> None:
    store.append(1, 0, batch(3))
    longer = lines(3)
    longer[1] = longer[1].replace("line 1", "line 1 and more")
    with pytest.raises(LogConflict, match="log line 1 "):
        store.append(1, 0, "".join(longer))
    with pytest.raises(LogConflict, match="log line 0 "):
        store.append(1, 0, lines(1)[0].replace("line 0", "l0"))


def test_gap_is_refused(store: LogStore) -> None:
    store.append(1, 0, batch(2))
    with pytest.raises(LogGap) as info:
        store.append(1, 5, batch(1, 5))
    assert (info.value.expected, info.value.got) == (2, 5)
    assert "resend from line 2" in str(info.value)
    assert store.count(1) == 2


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ('- {"dt": "x", "lvl": "info", "msg": "a"}\nnot a line\n', 2),
        ('- {"dt": "x", "lvl": "info", "msg": "a"}', 1),
        ("\n", 1),
        ('- {"dt": "x", "msg": "no level"}\n', 1),
        ('- {"dt": "x", "lvl": "info", "msg": "a"}, {"lvl": "info", "msg": "b"}\n', 1),
        # neither line is one mapping, yet together they read as a JSON array of two
        ('- {"lvl": "info", "msg": "a", "k": [{}\n- {}]}, {"lvl": "info", "msg": "b"}\n', 1),
        # nested past the JSON parser's depth: a refusal, not the parser's RecursionError
        ('- {"lvl": "info", "msg": ' + "[" * 50_000 + "]" * 50_000 + "}\n", 1),
    ],
)
def test_bad_lines_are_refused(store: LogStore, text: str, number: int) -> None:
    with pytest.raises(ValueError, match=f"log line {number} "):
        store.append(1, 0, text)
    assert store.count(1) == 0


def test_a_batch_is_parsed_once_into_its_records() -> None:
    results = log.encode("results", {"definition": "0_smoke", "case": "a", "result": "pass"})
    text = batch(2) + results + "\n" + batch(1, 2)
    fast = parse_batch(text.encode())
    assert fast.lines == text.encode().splitlines()
    assert fast.records == [log.decode(line) for line in fast.lines]
    yaml = '- {"dt": 2026-01-05 10:00:00, "lvl": "info", "msg": !!float "1.5"}\n'
    slow = parse_batch((text + yaml).encode())  # LAVA's YAML: every line through the codec
    assert slow.records == [log.decode(line) for line in slow.lines]
    assert parse_batch(b"") == ([], [])


@pytest.mark.parametrize(
    "line",
    [
        '- {"dt": "x", "lvl": "info", "msg": "a\\x"}',  # not a JSON escape
        '- {"dt": "x", "lvl": "info", "msg": "a\tb"}',  # a raw control character
        '- {"dt": "x", "lvl": "info", "msg": "a"} ',  # YAML reads it: the codec does
        '- {"dt": "x", "lvl": "info", "msg": "a"}, 1',
    ],
)
def test_lines_the_fast_path_refuses_go_through_the_codec(line: str) -> None:
    text = batch(1) + line + "\n"
    try:
        expected = [log.decode(item) for item in text.splitlines()]
    except ValueError:
        with pytest.raises(ValueError, match="log line 2 "):
            parse_batch(text.encode())
    else:
        assert parse_batch(text.encode()).records == expected


def test_a_parsed_batch_is_appended_as_its_text(store: LogStore) -> None:
    assert store.append(1, 0, parse_batch(batch(3).encode())) == 3
    assert store.append(1, 0, parse_batch(batch(4).encode())) == 4  # a resent line: compared
    assert store.read(1) == batch(4).encode()
    with pytest.raises(LogConflict):
        store.append(1, 3, parse_batch(batch(1).encode()))


def test_lava_yaml_lines_are_accepted(store: LogStore) -> None:
    text = (
        '- {"dt": "2026-01-05T10:00:30.500000", "lvl": "results", "msg": {"definition": '
        '"0_smoke", "case": "ping", "result": "pass", "measurement": !!float "1.5"}}\n'
    )
    assert store.append(1, 0, text) == 1
    assert log.decode(store.read_lines(1)[0])["msg"]["measurement"] == 1.5


def test_repair_reindexes_unindexed_whole_lines(store: LogStore) -> None:
    store.append(1, 0, batch(2))
    with store._path(1).open("ab") as data:  # crash after the data, before the index
        data.write(batch(2, 2).encode())
    assert store.count(1) == 2
    assert store.read(1) == batch(2).encode()  # readers see indexed lines only
    assert store.read(1, 1, None) == batch(1, 1).encode()
    assert store.append(1, 2, batch(3, 2)) == 5  # the retry does not double them
    assert store.read(1) == batch(5).encode()
    consistent(store, 1)


def test_repair_drops_a_partial_line(store: LogStore) -> None:
    store.append(1, 0, batch(2))
    with store._path(1).open("ab") as data:
        data.write(batch(1, 2).encode() + batch(1, 3).encode()[:10])
    assert store.repair(1) == 3
    assert store.read(1) == batch(3).encode()
    consistent(store, 1)


def test_repair_drops_index_entries_past_the_data(store: LogStore) -> None:
    store.append(1, 0, batch(3))
    size = store.size(1)
    with store._index_path(1).open("ab") as idx:
        idx.write(struct.pack(PACK, size) + struct.pack(PACK, size + 50) + b"\x01\x02")
    assert store.repair(1) == 3
    consistent(store, 1)


def test_repair_drops_a_torn_indexed_line(store: LogStore) -> None:
    store.append(1, 0, batch(3))
    data = store._path(1).read_bytes()
    store._path(1).write_bytes(data[:-7])  # host crash: index written, data tail lost
    assert store.repair(1) == 2
    assert store.read(1) == batch(2).encode()
    consistent(store, 1)


def test_repair_with_no_index(store: LogStore) -> None:
    store._job_dir(1).mkdir(parents=True)
    store._path(1).write_bytes(batch(3).encode() + b'- {"dt"')
    assert store.repair(1) == 3
    consistent(store, 1)


def _sender(root: str, seed: int) -> None:
    """One copy of a retrying sender: fixed batches, each sent with its own index."""
    store = LogStore(root)
    for n in range(0, 400, 20):
        store.append(9, n, batch(20, n))
        if (n // 20 + seed) % 3 == 0:
            start = max(0, n - 10)
            store.append(9, start, batch(n + 20 - start, start))  # a retry overlapping the last


def test_two_processes_append_the_same_lines(store: LogStore) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_sender, args=(str(store.root), seed)) for seed in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert store.count(9) == 400
    assert store.read(9) == batch(400).encode()
    consistent(store, 9)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_split_with_retries_equals_one_append(data: st.DataObject) -> None:
    total = data.draw(st.integers(1, 40))
    text = lines(total)
    cuts = sorted(data.draw(st.sets(st.integers(1, total - 1), max_size=8)) if total > 1 else [])
    bounds = [0, *cuts, total]
    with tempfile.TemporaryDirectory() as tmp:
        store = LogStore(Path(tmp) / "split")
        for a, b in itertools.pairwise(bounds):
            # a retry may start anywhere from the beginning of the batch back to line 0
            back = data.draw(st.integers(0, a))
            for start in sorted({a - back, a}):
                assert store.append(3, start, "".join(text[start:b])) == b
        reference = LogStore(Path(tmp) / "reference")
        reference.append(3, 0, "".join(text))
        assert store._path(3).read_bytes() == reference._path(3).read_bytes()
        assert store._index_path(3).read_bytes() == reference._index_path(3).read_bytes()


def test_read_from_a_byte_offset(store: LogStore) -> None:
    assert store.read_from(4) is None  # no log at all, unlike an empty one
    store.append(4, 0, batch(3))
    whole = batch(3).encode()
    assert store.read_from(4) == whole
    assert store.read_from(4, 10) == whole[10:]
    assert store.read_from(4, -5) == whole
    assert store.read_from(4, len(whole) + 100) == b""


def test_kept_files_are_written_read_and_listed(store: LogStore) -> None:
    assert store.read_file(5, "device.yaml") is None and not store.has_file(5, "device.yaml")
    assert not store.exists(5) and store.files(5) == []
    store.write_file(5, "device.yaml", "device_type: qemu\n")
    store.write_file(5, "metadata/lava-deploy-1.1.yaml", "url: ünï\n")
    store.write_file(5, "device.yaml", "device_type: x86\n")  # replaced whole
    assert store.exists(5) and store.has_file(5, "device.yaml")
    assert store.read_file(5, "device.yaml") == "device_type: x86\n"
    assert store.read_file(5, "metadata/lava-deploy-1.1.yaml") == "url: ünï\n"
    assert store.read_file(5, "metadata") is None and not store.has_file(5, "metadata")
    assert store.read_file(5, "device.yaml/x") is None
    store.append(5, 0, batch(1))
    assert store.files(5) == ["device.yaml", "metadata/lava-deploy-1.1.yaml"]
    assert store.read_from(5) == batch(1).encode()  # the kept files do not touch the log
    store.remove(5)
    assert not store.exists(5) and store.read_file(5, "device.yaml") is None


def test_a_failed_write_leaves_the_old_file_and_no_temporary(store: LogStore) -> None:
    store.write_file(6, "job.yaml", "old\n")
    with pytest.raises(UnicodeEncodeError):
        store.write_file(6, "job.yaml", "half \udc80 written\n")
    assert store.read_file(6, "job.yaml") == "old\n"
    assert sorted(p.name for p in store._job_dir(6).iterdir()) == ["job.yaml"]


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/etc/passwd",
        "..",
        "../job-2/device.yaml",
        "metadata/../../job-2/x",
        "./device.yaml",
        "metadata//x.yaml",
        "metadata/",
        "nul\0.yaml",
        "output.yaml",
        "output.idx",
    ],
)
def test_names_that_could_lead_elsewhere_are_refused(store: LogStore, name: str) -> None:
    store.write_file(1, "device.yaml", "kept\n")
    for call in (
        lambda: store.write_file(2, name, "x\n"),
        lambda: store.read_file(2, name),
        lambda: store.has_file(2, name),
    ):
        with pytest.raises(ValueError, match="job 2: "):
            call()
    assert not store.exists(2) and store.read_file(1, "device.yaml") == "kept\n"
    assert sorted(p.name for p in store.root.iterdir()) == ["job-1"]
