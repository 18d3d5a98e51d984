"""The admin's URLs (``/admin/``), and with them the apps' ``admin`` modules: see
`lava.server.adminapp`."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from lava.server.ratelimits import limit_sign_in

admin.autodiscover()  # the apps' admin modules register their models on admin.site

urlpatterns = [
    # before the admin's own: the same login view, its attempts rate-limited
    path("login/", limit_sign_in(admin.site.login)),
    *admin.site.get_urls(),
]
