"""The worker's TFTP root, the address the device fetches from, and the job's TFTP files."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import pytest

from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher.tftp import TftpTransfer, server_ip, tftp_root


def readable_by_others(path: Path) -> bool:
    """Whether a TFTP server running as another user can read `path`."""
    return bool(os.stat(path).st_mode & 0o004)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "srv-tftp"
    path.mkdir()
    return path


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "Image"
    path.parent.mkdir()
    path.write_bytes(b"k" * 100)
    path.chmod(0o600)  # a private download: the copy must still be public
    return path


def defaults_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tftpd-hpa"
    path.write_text(text)
    return path


# -- tftp_root -----------------------------------------------------------------


def test_the_dispatcher_configuration_wins(tmp_path: Path, root: Path) -> None:
    other = defaults_file(tmp_path, f'TFTP_DIRECTORY="{tmp_path}"\n')
    assert tftp_root({"tftp_root": str(root)}, defaults=other) == root


@pytest.mark.parametrize("quote", ['"', "'", ""], ids=["double", "single", "unquoted"])
def test_tftpd_hpa_defaults(tmp_path: Path, root: Path, quote: str) -> None:
    text = (
        "# /etc/default/tftpd-hpa\n"
        'TFTP_USERNAME="tftp"\n'
        f"TFTP_DIRECTORY={quote}{root}{quote}\n"
        'TFTP_ADDRESS=":69"\n'
    )
    assert tftp_root({}, defaults=defaults_file(tmp_path, text)) == root


@pytest.mark.parametrize(
    "text",
    ["", 'TFTP_USERNAME="tftp"\n', 'TFTP_DIRECTORY=""\n', "# TFTP_DIRECTORY=/srv/tftp\n"],
    ids=["empty", "unset", "blank", "commented"],
)
def test_no_directory_anywhere(tmp_path: Path, text: str) -> None:
    defaults = defaults_file(tmp_path, text)
    with pytest.raises(InfrastructureError) as info:
        tftp_root({}, defaults=defaults)
    message = str(info.value)
    assert "tftp_root" in message and "TFTP_DIRECTORY" in message and str(defaults) in message


def test_no_defaults_file(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match="Unable to identify the tftpd directory"):
        tftp_root({}, defaults=tmp_path / "missing")


def test_relative_root_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="absolute path, not 'srv/tftp'"):
        tftp_root({"tftp_root": "srv/tftp"}, defaults=tmp_path / "missing")


def test_relative_directory_in_the_defaults(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="absolute"):
        tftp_root({}, defaults=defaults_file(tmp_path, "TFTP_DIRECTORY=srv/tftp\n"))


def test_missing_root_directory(tmp_path: Path) -> None:
    with pytest.raises(InfrastructureError, match=r"TFTP root .*/nowhere does not exist"):
        tftp_root({"tftp_root": str(tmp_path / "nowhere")})


# -- server_ip -----------------------------------------------------------------


def test_dispatcher_ip_wins() -> None:
    assert server_ip({"dispatcher_ip": "192.0.2.10"}) == "192.0.2.10"


def test_server_ip_defaults_to_an_ipv4_address() -> None:
    try:
        address = server_ip({})
    except InfrastructureError as exc:  # a worker without a default route
        assert "dispatcher_ip" in str(exc)
        pytest.skip("no default route on this host")
    assert isinstance(ipaddress.ip_address(address), ipaddress.IPv4Address)


# -- TftpTransfer ----------------------------------------------------------------


def test_layout_and_relative_name(root: Path, kernel: Path) -> None:
    transfer = TftpTransfer(root, "42", prefix="lab1-")
    name = transfer.put(kernel, "kernel")
    parts = Path(name).parts
    assert parts[0] == "lab1-42"
    assert parts[1].startswith("tftp-deploy-")
    assert parts[2:] == ("kernel", "Image")
    assert (root / name).read_bytes() == kernel.read_bytes()
    assert transfer.deploy_dir == root / "lab1-42" / parts[1]


def test_files_are_readable_by_the_tftp_server(root: Path, kernel: Path) -> None:
    transfer = TftpTransfer(root, "42")
    placed = root / transfer.put(kernel, "kernel")
    assert stat.S_IMODE(placed.stat().st_mode) == 0o644
    for directory in (placed.parent, transfer.deploy_dir, transfer.job_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755
    assert readable_by_others(placed)
    assert not readable_by_others(kernel)


def test_one_deploy_directory_per_transfer(root: Path, kernel: Path, tmp_path: Path) -> None:
    transfer = TftpTransfer(root, "42")
    dtb = tmp_path / "board.dtb"
    dtb.write_bytes(b"d")
    first, second = transfer.put(kernel, "kernel"), transfer.put(dtb, "dtb")
    assert Path(first).parts[:2] == Path(second).parts[:2]
    # Placing the same file again replaces it.
    assert transfer.put(kernel, "kernel") == first


def test_size_limit(root: Path, kernel: Path) -> None:
    transfer = TftpTransfer(root, "42", size_limit=100)
    with pytest.raises(JobError, match=r"'kernel' is 100 bytes.*tftp_size_limit"):
        transfer.put(kernel, "kernel")
    assert TftpTransfer(root, "43", size_limit=101).put(kernel, "kernel")


def test_remove_takes_the_whole_job_directory(root: Path, kernel: Path) -> None:
    transfer = TftpTransfer(root, "42")
    transfer.put(kernel, "kernel")
    (root / "41").mkdir()  # another job's
    transfer.remove()
    assert sorted(p.name for p in root.iterdir()) == ["41"]
    transfer.remove()  # twice is fine


def test_nothing_is_created_before_the_first_file(root: Path) -> None:
    TftpTransfer(root, "42").remove()
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(
    ("job_id", "prefix"),
    [("../x", ""), ("a/b", ""), ("42", "../"), ("42", "a/"), ("", ""), ("-rf", ""), ("42", ".")],
)
def test_hostile_job_directory_is_refused(root: Path, job_id: str, prefix: str) -> None:
    with pytest.raises(JobError, match="TFTP job directory"):
        TftpTransfer(root, job_id, prefix)
    assert list(root.iterdir()) == []


@pytest.mark.parametrize("kind", ["../kernel", "a/b", "..", ""])
def test_hostile_kind_is_refused(root: Path, kernel: Path, kind: str) -> None:
    with pytest.raises(JobError, match="TFTP file kind"):
        TftpTransfer(root, "42").put(kernel, kind)
    assert list(root.iterdir()) == []


def test_unwritable_root_is_an_infrastructure_error(tmp_path: Path, kernel: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(InfrastructureError, match="Unable to create the job's TFTP directory"):
        TftpTransfer(not_a_dir, "42").put(kernel, "kernel")
