"""Build the Debian packages from this checkout: ``python -m tools.debian OUTDIR``.

The checkout's files (tracked and new, not ignored ones: no .venv, no
caches) are copied to ``OUTDIR/src`` and built there with
``dpkg-buildpackage -us -uc -b``, so the .deb files land in OUTDIR and the
checkout stays clean. ``--version`` builds with another package version (a
changelog entry on the copy): what the upgrade test installs over the first.
"""

from __future__ import annotations

import argparse
import email.utils
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What dpkg-buildpackage needs here (debian/control's Build-Depends, and lintian)
BUILD_PACKAGES = ("debhelper", "dh-python", "python3-pip", "dpkg-dev", "fakeroot", "lintian")
PACKAGES = ("lava-common", "lava-dispatcher", "lava-server", "lava")


class BuildError(RuntimeError):
    """The packages could not be built; the message says why and where the log is."""


def version() -> str:
    """The version debian/changelog gives the packages."""
    first = (ROOT / "debian" / "changelog").read_text(encoding="utf-8").splitlines()[0]
    return first.split("(", 1)[1].split(")", 1)[0]


def _copy_tree(dest: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.split(b"\0")  # fmt: skip
    for raw in listed:
        if not raw:
            continue
        name = raw.decode()
        source = ROOT / name
        if not source.is_file() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in the index
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def _add_changelog_entry(src: Path, new_version: str) -> None:
    changelog = src / "debian" / "changelog"
    date = email.utils.formatdate(time.time(), usegmt=True).replace("GMT", "+0000")
    entry = (
        f"lava ({new_version}) unstable; urgency=medium\n\n"
        "  * Rebuilt with a new version.\n\n"
        f" -- LAVA maintainers <maintainers@users.noreply.r-seed-67ec6157.example>  {date}\n\n"
    )
    changelog.write_text(entry + changelog.read_text(encoding="utf-8"), encoding="utf-8")


def build(
    outdir: Path, new_version: str | None = None, extra_files: dict[str, str] | None = None
) -> list[Path]:
    """Build the four packages into ``outdir``; returns their .deb files.

    ``extra_files`` (path in the tree -> text) are added to the copy first: the
    upgrade test's next release carries a new migration that way.
    """
    missing = [tool for tool in ("dpkg-buildpackage", "dh") if shutil.which(tool) is None]
    if missing:
        raise BuildError(
            f"{', '.join(missing)} not found: install {' '.join(BUILD_PACKAGES)} (make deb does)"
        )
    outdir.mkdir(parents=True, exist_ok=True)
    src = outdir / "src"
    if src.exists():
        shutil.rmtree(src)
    _copy_tree(src)
    for name, text in (extra_files or {}).items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    if new_version:
        _add_changelog_entry(src, new_version)
    log = outdir / "build.log"
    with log.open("w", encoding="utf-8") as handle:
        # Debian's own Python builds the packages, not a virtual environment's
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(Path.home()),
            "LC_ALL": "C.UTF-8",
        }
        status = subprocess.run(
            ["dpkg-buildpackage", "-us", "-uc", "-b"],
            cwd=src, stdout=handle, stderr=subprocess.STDOUT, env=env,
        ).returncode  # fmt: skip
    if status:
        raise BuildError(f"dpkg-buildpackage failed with status {status}: see {log}")
    built = version() if new_version is None else new_version
    debs = [outdir / f"{name}_{built}_all.deb" for name in PACKAGES]
    absent = [str(deb) for deb in debs if not deb.is_file()]
    if absent:
        raise BuildError(f"dpkg-buildpackage did not make {', '.join(absent)}: see {log}")
    return debs


def lintian(changes: Path) -> str:
    """lintian's report on the built packages (``.changes``), with its tags explained
    nowhere: one line a finding."""
    proc = subprocess.run(
        ["lintian", "--tag-display-limit", "0", str(changes)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode not in (0, 1, 2):  # 1, 2: it found errors; its own failure otherwise
        raise BuildError(f"lintian failed with status {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.debian", description=__doc__)
    parser.add_argument("outdir", type=Path, help="where the .deb files go")
    parser.add_argument("--version", help="build with this package version instead")
    options = parser.parse_args(argv)
    try:
        debs = build(options.outdir.absolute(), options.version)
    except BuildError as exc:
        print(f"tools.debian: {exc}", file=sys.stderr)
        return 1
    for deb in debs:
        print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
