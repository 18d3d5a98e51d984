from __future__ import annotations

from django.db import models

from ..states import HealthDenominator


class DeviceType(models.Model):
    """A kind of board (``qemu``, ``beaglebone-black``); its template renders each device."""

    name = models.SlugField(primary_key=True, max_length=50)
    architecture = models.CharField(max_length=100, blank=True, default="")
    processor = models.CharField(max_length=100, blank=True, default="")
    cpu_model = models.CharField(max_length=100, blank=True, default="")
    bits = models.PositiveSmallIntegerField(null=True, blank=True)
    core_count = models.PositiveSmallIntegerField(null=True, blank=True)
    description = models.TextField(blank=True, default="")
    health_frequency = models.IntegerField(default=24)
    health_denominator = models.IntegerField(
        choices=HealthDenominator.choices, default=HealthDenominator.HOURS
    )
    disable_health_check = models.BooleanField(default=False)
    display = models.BooleanField(default=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Alias(models.Model):
    """Another name for a device type that job definitions may use in ``device_type``."""

    name = models.CharField(primary_key=True, max_length=200)
    device_type = models.ForeignKey(DeviceType, on_delete=models.CASCADE, related_name="aliases")

    class Meta:
        ordering = ("name",)
        verbose_name_plural = "aliases"

    def __str__(self) -> str:
        return self.name
