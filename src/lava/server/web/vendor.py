"""The pages' third-party CSS and JavaScript, taken from Debian's libjs packages.

A lab often has no internet, so nothing is fetched from a CDN: the lab serves
Bootstrap (``libjs-bootstrap5``) and Chart.js (``libjs-chart.js``) itself, from
where Debian installs them, under ``/static/vendor/<name>/``. Without a package
the pages still work, unstyled or without charts; ``lava-server manage check``
says which package to install.
"""

from __future__ import annotations

from pathlib import Path

JAVASCRIPT = Path("/usr/share/javascript")
# URL prefix under /static/vendor/ -> (Debian package, its directory, a file the pages load)
PACKAGES = {
    "bootstrap5": ("libjs-bootstrap5", JAVASCRIPT / "bootstrap5", "css/bootstrap.min.css"),
    "chart.js": ("libjs-chart.js", JAVASCRIPT / "chart.js", "chart.min.js"),
}


def static_dirs() -> list[tuple[str, str]]:
    """``STATICFILES_DIRS`` entries for the packages installed on this host."""
    return [
        (f"vendor/{name}", str(directory))
        for name, (_package, directory, _file) in PACKAGES.items()
        if directory.is_dir()
    ]


def missing() -> list[str]:
    """The Debian packages the pages need that this host lacks."""
    return [
        package
        for _name, (package, directory, file) in PACKAGES.items()
        if not (directory / file).is_file()
    ]
