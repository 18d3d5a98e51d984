from __future__ import annotations

from django.db import models


class Tag(models.Model):
    """A label on devices; a job that names tags only runs on a device carrying all of them."""

    name = models.SlugField(unique=True, max_length=100)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
