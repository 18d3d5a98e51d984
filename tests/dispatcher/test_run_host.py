"""`lava-run` as a process keeps job values off the host: paths, local files, fetched URLs.

These jobs reach lava-run directly, as a hostile definition would if the
server's own checks let it through: the dispatcher's checks must hold alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tools import example

DEVICE: dict[str, Any] = {
    "hostname": "host-01",
    "devicetype": "qemu",
    "actions": {"deploy": {"methods": {"image": {}}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
}


def deploy_job(images: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    deploy = {"to": "tmpfs", "images": images, **({"namespace": namespace} if namespace else {})}
    return {
        "job_name": "host paths",
        "device_type": "qemu",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 2}, "action": {"seconds": 30}},
        "actions": [{"deploy": deploy}],
    }


def lava_run(
    tmp_path: Path, definition: dict[str, Any], *args: str, umask: int = -1
) -> dict[str, Any]:
    """Run the job to its end; its result record."""
    proc = example.lava_run(
        yamlio.dump(definition),
        yamlio.dump(DEVICE),
        tmp_path / "out",
        job_id="42",
        extra=["--work-dir", str(tmp_path / "work"), "--quiet", *args],
        umask=umask,
    )
    proc.wait(timeout=60)
    return yamlio.load((tmp_path / "out" / "result.yaml").read_text())


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file of the worker a job must not read (think of the worker's token)."""
    path = tmp_path / "private" / "worker-token"
    path.parent.mkdir()
    path.write_text("the-worker-token\n")
    return path


def copies(tmp_path: Path, secret: Path) -> list[Path]:
    """Files other than `secret` that hold its content."""
    content = secret.read_bytes()
    return [
        path
        for path in tmp_path.rglob("*")
        if path.is_file()
        and not path.is_symlink()
        and path != secret
        and path.read_bytes() == content
    ]


@pytest.mark.parametrize("form", ["file://{}", "{}"])
def test_no_local_paths_refuses_local_images(tmp_path: Path, secret: Path, form: str) -> None:
    result = lava_run(
        tmp_path, deploy_job({"kernel": {"url": form.format(secret)}}), "--no-local-paths"
    )
    assert result["error_type"] == "Job"
    assert "'url' of image 'kernel'" in result["error_msg"]
    assert "local paths are allowed only under nowhere on this worker" in result["error_msg"]
    assert copies(tmp_path, secret) == []


def test_allowed_directory_and_links_out_of_it(tmp_path: Path, secret: Path) -> None:
    allowed = tmp_path / "images"
    allowed.mkdir()
    (allowed / "vmlinuz").write_bytes(b"kernel")
    (allowed / "token").symlink_to(secret)
    option = f"--allow-local-path={allowed}"
    result = lava_run(tmp_path, deploy_job({"kernel": {"url": f"file://{allowed}/token"}}), option)
    assert result["error_type"] == "Job"
    assert f"local paths are allowed only under {allowed}" in result["error_msg"]
    assert copies(tmp_path, secret) == []
    result = lava_run(
        tmp_path, deploy_job({"kernel": {"url": f"file://{allowed}/vmlinuz"}}), option
    )
    assert result["result"] == "pass", result


def test_by_hand_any_local_path_is_accepted(tmp_path: Path, secret: Path) -> None:
    result = lava_run(tmp_path, deploy_job({"kernel": {"url": str(secret)}}))
    assert result["result"] == "pass", result


@pytest.mark.parametrize("namespace", ["../../../victim", "/tmp"])
def test_namespace_cannot_name_a_directory_to_remove(tmp_path: Path, namespace: str) -> None:
    """The download directory is removed at cleanup: a namespace must not point it elsewhere."""
    victim = tmp_path / "victim" / "kernel"
    victim.mkdir(parents=True)
    (victim / "precious").write_text("keep")
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    definition = deploy_job({"kernel": {"url": str(tmp_path / "vmlinuz")}}, namespace)
    result = lava_run(tmp_path, definition)
    assert result["error_type"] == "Job"
    assert f"the name '{namespace}' is not a safe name" in result["error_msg"]
    assert "@ actions[0].deploy.namespace" in result["error_msg"]
    assert (victim / "precious").read_text() == "keep"


@pytest.mark.parametrize(
    ("url", "scheme"), [("ftp://example.org/k", "ftp"), ("gopher://example.org/k", "gopher")]
)
def test_other_schemes_are_refused(tmp_path: Path, url: str, scheme: str) -> None:
    result = lava_run(tmp_path, deploy_job({"kernel": {"url": url}}))
    assert result["error_type"] == "Job"
    assert f"Unsupported url protocol scheme '{scheme}'" in result["error_msg"]


def test_output_and_work_files_are_private(tmp_path: Path) -> None:
    """The job's definition, log and results are for the worker's user only, whatever the umask."""
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    definition = deploy_job({"kernel": {"url": str(tmp_path / "vmlinuz")}})
    definition["secrets"] = {"TOKEN": "s3cr3t"}
    result = lava_run(tmp_path, definition, umask=0)
    assert result["result"] == "pass", result
    out = tmp_path / "out"
    for name in ("output.yaml", "result.yaml", "results.yaml", "description.yaml"):
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    assert (tmp_path / "work").stat().st_mode & 0o777 == 0o700
