"""Device types, their aliases and health checks, as ``manage device-types``/``aliases`` do."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from lava.common.schema import JobSchemaError, JobSyntaxError, load_job, validate_submission

from ..scheduler import dispatcher_config, permissions
from ..scheduler.dispatcher_config import write_atomic
from ..scheduler.models import Alias, DeviceType
from ..scheduler.states import HealthDenominator
from ..scheduler.submission import full_schema_problems
from .actors import Actor
from .errors import Conflict, Invalid, Missing
from .names import check_length, check_name, get_device_type


def available_templates() -> list[str]:
    """Device types with a template in the search path (``base*`` ones are not types)."""
    names: set[str] = set()
    for directory in dispatcher_config.search_dirs():
        if directory.is_dir():
            names.update(
                path.name.removesuffix(".jinja2")
                for path in directory.glob("*.jinja2")
                if not path.name.startswith("base")
            )
    return sorted(names)


def _require_template(name: str) -> None:
    if dispatcher_config.device_type_template(name) is None:
        where = ", ".join(str(d) for d in dispatcher_config.search_dirs())
        raise Invalid(
            f"no template for device type {name!r}: looked for {name}.jinja2 in {where}; "
            f"write one into {settings.LAVA.device_types_dir} first"
        )


def _check_alias(alias: str, device_type: DeviceType) -> None:
    """Refuse an alias that is not a valid name, another type holds or is a type's name."""
    check_name("alias", alias)
    existing = Alias.objects.filter(name=alias).first()
    if existing is not None and existing.device_type_id != device_type.name:
        raise Conflict(
            f"alias {alias!r} already belongs to device type {existing.device_type_id!r}"
        )
    if DeviceType.objects.filter(name=alias).exists():
        raise Invalid(f"alias {alias!r} is the name of a device type")


def add_device_type(
    actor: Actor,
    name: str,
    *,
    alias: str = "",
    health_frequency: int = 24,
    health_denominator: int = HealthDenominator.HOURS,
    display: bool = True,
    require_template: bool = True,
    description: str = "",
    owners_only: bool = False,
) -> DeviceType:
    """Create a device type, with an optional alias.

    Its template must exist, unless ``require_template`` is False (LAVA's API
    adds the type first and uploads its template next).
    """
    actor.require("add_devicetype")
    check_name("device type", name)
    check_length(DeviceType, "description", description)
    _no_owners_only(owners_only)
    check_frequency(health_frequency, health_denominator)
    if DeviceType.objects.filter(name=name).exists():
        raise Conflict(f"device type {name!r} already exists")
    taken = Alias.objects.filter(name=name).first()
    if taken is not None:
        raise Conflict(f"{name!r} is already an alias of device type {taken.device_type_id!r}")
    if require_template:
        _require_template(name)
    with transaction.atomic():
        device_type = DeviceType.objects.create(
            name=name,
            health_frequency=health_frequency,
            health_denominator=health_denominator,
            display=display,
            description=description,
        )
        if alias:
            _check_alias(alias, device_type)
            Alias.objects.create(name=alias, device_type=device_type)
    return device_type


def add_all_device_types(
    actor: Actor, *, health_frequency: int = 24, health_denominator: int = HealthDenominator.HOURS
) -> list[tuple[str, bool]]:
    """Create every type with a template; (name, created) for each, existing ones skipped."""
    actor.require("add_devicetype")
    check_frequency(health_frequency, health_denominator)
    existing = set(DeviceType.objects.values_list("name", flat=True))
    added = []
    with transaction.atomic():
        for name in available_templates():
            if name in existing:
                added.append((name, False))
                continue
            DeviceType.objects.create(
                name=name, health_frequency=health_frequency, health_denominator=health_denominator
            )
            added.append((name, True))
    return added


def health_check_problems(text: str, name: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) of a health-check job for type ``name``; errors refuse it."""
    limit = settings.LAVA.max_job_size
    if len(text.encode("utf-8", errors="surrogatepass")) > limit:
        return [f"the health check is over the job size limit of {limit} bytes"], []
    try:
        data = load_job(text)
    except JobSyntaxError as exc:
        return [f"not valid YAML: {exc}"], []
    protocols = data.get("protocols")
    if isinstance(protocols, dict) and "lava-multinode" in protocols:
        return ["a health check cannot be a MultiNode job"], []
    try:
        validate_submission(
            data, extra_context_variables=tuple(settings.LAVA.extra_context_variables)
        )
    except JobSchemaError as exc:
        return [f"not a valid job: {exc}"], []
    warnings = full_schema_problems(data, strict=True)
    requested = data.get("device_type")
    known = {name, *Alias.objects.filter(device_type_id=name).values_list("name", flat=True)}
    if requested not in known:
        warnings.append(f"it asks for device_type {requested!r}, not {name!r}")
    return [], warnings


def update_device_type(
    actor: Actor,
    name: str,
    *,
    alias: str | None = None,
    health_frequency: int | None = None,
    health_denominator: int | None = None,
    display: bool | None = None,
    disable_health_check: bool | None = None,
    health_check: str | None = None,
    description: str | None = None,
    owners_only: bool | None = None,
) -> list[str]:
    """Change a device type; ``health_check`` is a job's text to install. Returns warnings."""
    actor.require("change_devicetype")
    get_device_type(name, actor=actor)
    if description is not None:
        check_length(DeviceType, "description", description)
    _no_owners_only(owners_only)
    check_frequency(
        1 if health_frequency is None else health_frequency,
        HealthDenominator.HOURS if health_denominator is None else health_denominator,
    )
    warnings: list[str] = []
    if health_check is not None:
        errors, warnings = health_check_problems(health_check, name)
        if errors:
            raise Invalid(f"health check for {name!r} refused: {'; '.join(errors)}")
    with transaction.atomic():
        device_type = DeviceType.objects.select_for_update().filter(name=name).first()
        if device_type is None:
            raise Missing(f"device type {name!r} does not exist")
        if alias:
            _check_alias(alias, device_type)
            Alias.objects.get_or_create(name=alias, device_type=device_type)
        changes = {
            "health_frequency": health_frequency,
            "health_denominator": health_denominator,
            "display": display,
            "disable_health_check": disable_health_check,
            "description": description,
        }
        for field, value in changes.items():
            if value is not None:
                setattr(device_type, field, value)
        device_type.save()
        if health_check is not None:  # last: the file is written only if the rest holds
            write_atomic(dispatcher_config.health_check_file(name), health_check)
    return warnings


def _health(device_type: DeviceType) -> str:
    if device_type.disable_health_check:
        return "disabled"
    unit = HealthDenominator(device_type.health_denominator).label.lower()
    return f"every {device_type.health_frequency} {unit}"


def device_type_rows(show_all: bool = False) -> list[dict[str, Any]]:
    """One row per device type (devices counted with Retired ones, as LAVA does);
    ``show_all`` adds the templates not yet added as types."""
    templates = set(available_templates())
    types = DeviceType.objects.annotate(count=Count("devices")).prefetch_related("aliases")
    rows = [
        {
            "name": dt.name,
            "installed": True,
            "template": dt.name in templates
            or bool(dispatcher_config.device_type_template(dt.name)),
            "devices": dt.count,
            "display": dt.display,
            "health_check": _health(dt),
            "aliases": [a.name for a in dt.aliases.all()],
        }
        for dt in types
    ]
    if show_all:
        installed = {row["name"] for row in rows}
        rows += [
            {
                "name": name,
                "installed": False,
                "template": True,
                "devices": 0,
                "display": None,
                "health_check": None,
                "aliases": [],
            }
            for name in sorted(templates - installed)
        ]
    return rows


def device_type_details(name: str, with_devices: bool = False) -> dict[str, Any]:
    """What ``device-types details`` prints."""
    device_type = get_device_type(name)
    template = dispatcher_config.device_type_template(name)
    check = dispatcher_config.health_check_file(name)
    devices = device_type.devices.order_by("hostname")
    return {
        "name": device_type.name,
        "description": device_type.description,
        "display": device_type.display,
        "health_check": _health(device_type),
        "health_check_file": str(check) if check.is_file() else None,
        "template": str(template) if template else None,
        "aliases": [a.name for a in device_type.aliases.all()],
        "devices": [d.hostname for d in devices] if with_devices else devices.count(),
    }


# aliases


def add_alias(actor: Actor, alias: str, device_type_name: str) -> Alias:
    """Another name jobs may give as their device_type (``scheduler.add_alias``)."""
    actor.require("add_alias")
    check_name("alias", alias)  # a name jobs give as device_type, and part of URLs
    device_type = get_device_type(device_type_name, actor=actor)
    if Alias.objects.filter(name=alias, device_type=device_type).exists():
        raise Conflict(f"alias {alias!r} already exists for device type {device_type.name!r}")
    _check_alias(alias, device_type)
    return Alias.objects.create(name=alias, device_type=device_type)


def remove_alias(actor: Actor, alias: str, device_type_name: str | None = None) -> None:
    """Delete an alias (``scheduler.delete_alias``); with ``device_type_name``, only if it is
    that type's (an alias of another type is Missing)."""
    actor.require("delete_alias")
    aliases = Alias.objects.filter(name=alias)
    if device_type_name is not None:
        aliases = aliases.filter(device_type=get_device_type(device_type_name, actor=actor))
    elif not actor.at_console:  # one of a type the actor may not see is not theirs to know
        aliases = aliases.filter(device_type__in=permissions.visible_device_types(actor.user))
    deleted, _ = aliases.delete()
    if not deleted:
        where = f" of device type {device_type_name!r}" if device_type_name else ""
        raise Missing(f"alias {alias!r}{where} does not exist")


def delete_device_type(actor: Actor, name: str) -> None:
    """Delete a device type that no device has (``scheduler.delete_devicetype``)."""
    actor.require("delete_devicetype")
    with transaction.atomic():
        device_type = get_device_type(name, actor=actor, lock=True)
        if device_type.devices.exists():
            raise Conflict(f"device type {name!r} still has devices: delete them first")
        device_type.delete()


def check_frequency(frequency: int, denominator: int) -> None:
    """Health checks every ``frequency`` hours or jobs: 1 or more."""
    if denominator not in HealthDenominator.values:
        raise Invalid(f"invalid health_denominator {denominator!r}: hours or jobs")
    if frequency < 1:
        raise Invalid(f"health_frequency must be 1 or more, not {frequency}")


def _no_owners_only(owners_only: bool | None) -> None:
    if owners_only:
        raise Invalid(
            "owners_only is not supported: restrict the device type to groups with "
            "scheduler.device_types.perms_add instead"
        )


def alias_rows() -> list[dict[str, Any]]:
    return [{"alias": a.name, "device_type": a.device_type_id} for a in Alias.objects.all()]


def alias_device_type(alias: str) -> str:
    found = Alias.objects.filter(name=alias).first()
    if found is None:
        raise Missing(f"alias {alias!r} does not exist")
    return found.device_type_id
