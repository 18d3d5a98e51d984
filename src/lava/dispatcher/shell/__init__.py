"""The helper scripts that go into the overlay's ``bin/`` on the device under test.

``lava-test-runner``, ``lava-test-case`` and the other ``lava-*`` files here are
POSIX sh (they run under busybox ash and dash alike). The overlay builder
copies :func:`helper_scripts` into ``/lava-<job id>/bin/``, each through
:func:`render_script`, which puts the device's ``lava_test_sh_cmd`` in the
shebang and fills in the values the dispatcher knows (:data:`PLACEHOLDERS`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

SHELL_DIR: Path = Path(__file__).resolve().parent
DISTRO_DIR: Path = SHELL_DIR / "distro"

# Placeholder variable -> the script that holds it. A placeholder is a whole line
# ``NAME=''  # overlay placeholder`` that render_script replaces by ``NAME=<value>``.
PLACEHOLDERS: dict[str, str] = {
    "TARGET_DEVICE_IP": "lava-target-ip",
    "TARGET_DEVICE_MAC": "lava-target-mac",
    "PROBE_DEVICE_IP": "lava-probe-ip",
    "PROBE_DEVICE_CHANNEL": "lava-probe-channel",
    "LAVA_STORAGE": "lava-target-storage",
}
_PLACEHOLDER_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=''  # overlay placeholder$", re.MULTILINE)


def distros() -> list[str]:
    """The ``os`` values that have overrides in ``distro/``."""
    return sorted(path.name for path in DISTRO_DIR.iterdir() if path.is_dir())


def helper_scripts(os_name: str | None = None) -> dict[str, Path]:
    """Script name -> file, the overrides of ``os_name`` (e.g. ``oe``) replacing generic ones.

    An ``os_name`` without overrides gets the generic scripts, as in LAVA.
    """
    scripts = {path.name: path for path in sorted(SHELL_DIR.glob("lava-*")) if path.is_file()}
    if os_name:
        if "/" in os_name or os_name.startswith("."):
            raise ValueError(f"Invalid os name {os_name!r} for the helper scripts")
        overrides = DISTRO_DIR / os_name
        if overrides.is_dir():
            scripts.update(
                (path.name, path) for path in sorted(overrides.glob("lava-*")) if path.is_file()
            )
    return scripts


def storage_value(storage_info: Iterable[Mapping[str, str]]) -> str:
    """The ``LAVA_STORAGE`` value for a device's ``storage_info``: one ``METHOD<TAB>ID`` line each.

    ``storage_info`` is the device dictionary's list of ``{method: id}`` maps,
    e.g. ``[{"SATA": "/dev/disk/by-id/ata-ST500DM002"}]``.
    """
    lines = []
    for entry in storage_info:
        for method, ident in entry.items():
            for part in (str(method), str(ident)):
                if any(char in part for char in "\t\n"):
                    raise ValueError(f"storage_info entry {part!r} contains a tab or a newline")
            lines.append(f"{method}\t{ident}")
    return "\n".join(lines)


def render_script(
    path: Path, sh_cmd: str = "/bin/sh", values: Mapping[str, str] | None = None
) -> bytes:
    """The content of helper ``path`` for the device: shebang ``#!<sh_cmd>``, placeholders filled.

    ``values`` maps names of :data:`PLACEHOLDERS` to their values; names the
    script does not hold are ignored, so one mapping can serve every script.
    Unfilled placeholders stay empty.
    """
    if not sh_cmd or "\n" in sh_cmd:
        raise ValueError(f"Invalid lava_test_sh_cmd {sh_cmd!r}: one command line is needed")
    values = dict(values or {})
    unknown = sorted(set(values) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError(
            f"Unknown placeholder(s) {', '.join(unknown)} for {path.name}; "
            f"known: {', '.join(sorted(PLACEHOLDERS))}"
        )
    text = Path(path).read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if text.startswith("#!") else text

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return f"{name}={shlex.quote(str(values[name]))}"

    return f"#!{sh_cmd}\n{_PLACEHOLDER_LINE.sub(fill, body)}".encode()
