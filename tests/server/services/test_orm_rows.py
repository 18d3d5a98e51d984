"""Hand-written SQL written once per database vendor and arguments."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lava.server.services.orm_rows import written_once


def test_a_statement_is_written_once_per_vendor_and_arguments() -> None:
    calls: list[tuple[Any, ...]] = []

    @written_once
    def sql(q: Any, vendor: str, flag: bool) -> str:
        calls.append((vendor, flag))
        return f"SELECT {q('x')} -- {vendor} {flag}"

    def database(vendor: str) -> Any:
        return SimpleNamespace(vendor=vendor, ops=SimpleNamespace(quote_name=lambda n: f'"{n}"'))

    first = sql(database("sqlite"), True)
    assert first == 'SELECT "x" -- sqlite True'
    assert sql(database("sqlite"), True) is first
    sql(database("sqlite"), False)
    sql(database("postgresql"), True)
    sql(database("postgresql"), True)
    assert calls == [("sqlite", True), ("sqlite", False), ("postgresql", True)]
