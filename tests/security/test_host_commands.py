"""Job values on host command lines: QEMU's options from the context and from image_arg.

QEMU can write host files, run host commands and read host files into the
guest. mallory tries each through the job's `context` (which the device-type
template renders into QEMU's options) and through an image's `image_arg`:
the job is refused naming the option, before QEMU starts.
"""

from __future__ import annotations

from typing import Any

import pytest

from lava.common import yamlio

pytestmark = pytest.mark.slow


def demo(security_lab: Any) -> dict[str, Any]:
    return yamlio.load(security_lab.demo_job())


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (
            {"extra_options": ["-chardev", "file,id=c0,path={pwned}", "-serial", "chardev:c0"]},
            "QEMU option -chardev file is not allowed",
        ),
        ({"extra_options": ["-pidfile {pwned}"]}, "QEMU option -pidfile is not allowed"),
        (
            {
                "extra_options": [
                    "-netdev",
                    "user,id=n1,guestfwd=tcp:10.0.2.100:80-cmd:touch {pwned}",
                ]
            },
            "QEMU option -netdev: 'guestfwd=' is not allowed",
        ),
        ({"monitor": "unix:{pwned},server,nowait"}, "QEMU option -monitor unix:"),
    ],
)
def test_context_cannot_make_qemu_touch_the_host(
    security_lab: Any, refused: Any, canary: Any, context: dict[str, Any], reason: str
) -> None:
    pwned = str(canary.path("pwned"))
    definition = demo(security_lab)
    for key, value in context.items():
        if isinstance(value, list):
            definition["context"][key] = [item.format(pwned=pwned) for item in value]
        else:
            definition["context"][key] = value.format(pwned=pwned)
    refused(yamlio.dump(definition), reason)
    assert not canary.path("pwned").exists()
    canary.assert_untouched()
    security_lab.assert_runs_jobs()


@pytest.mark.parametrize(
    ("image_arg", "reason"),
    [
        ("-initrd {{initrd}} -device loader,file={token},addr=0x100000", "is outside the job's"),
        ("-initrd {{initrd}} -drive file={token},format=raw,if=virtio", "is outside the job's"),
    ],
)
def test_image_arg_cannot_read_worker_files(
    security_lab: Any, refused: Any, image_arg: str, reason: str
) -> None:
    token = security_lab.lab.instance / "worker-token"
    definition = demo(security_lab)
    initrd = definition["actions"][0]["deploy"]["images"]["initrd"]
    initrd["image_arg"] = image_arg.format(token=token)
    refused(yamlio.dump(definition), "QEMU option", reason, str(token))
    security_lab.assert_runs_jobs()
