from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


def new_secret() -> str:
    # 128 characters like LAVA's tokens, so scripts that check the length keep working
    return secrets.token_hex(64)


class AuthToken(models.Model):
    """An API token: XML-RPC as ``USER:TOKEN``, REST as ``Authorization: Token TOKEN``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auth_tokens"
    )
    secret = models.CharField(max_length=128, unique=True, default=new_secret)
    description = models.TextField(blank=True, default="")
    created_on = models.DateTimeField(auto_now_add=True)
    last_used_on = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("created_on", "id")

    def __str__(self) -> str:
        return f"token {self.id} of {self.user}"
