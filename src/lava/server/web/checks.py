"""``lava-server manage check``: what the web pages need from the host."""

from __future__ import annotations

from typing import Any

from django.core import checks

from . import vendor


@checks.register()
def vendor_packages(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        checks.Warning(
            f"Debian package {package} is not installed: the web pages lack what it provides",
            hint=f"apt install {package}",
            id="web.W001",
        )
        for package in vendor.missing()
    ]
