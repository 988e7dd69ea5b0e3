"""One flow per domain (finance, hr, procurement): the cutover restricted to that domain.

Useful to rehearse or re-run one domain alone. Dependencies in other domains are not run:
their keys must already be in the key map (e.g. finance's invoices look up suppliers, which
belong to procurement). The cutover flow itself does not nest these flows: a subflow is a
barrier, and general-ledger accounts should not wait for procurement's suppliers, so the
cutover schedules every entity of every domain on one dependency graph instead. Each
entity task carries its domain as a tag, which the UI filters on.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import flow

from flows.cutover import MAPPINGS, cutover

Mode = Literal["rehearsal", "full", "delta"]


def _run(domain: str, params: dict[str, Any]) -> dict[str, Any]:
    """The cutover body inside this flow run (its tasks and pause belong to this run)."""
    result: dict[str, Any] = cutover.fn(domains=[domain], **params)
    return result


@flow(name="finance")
def finance(
    mode: Mode = "rehearsal",
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
    partitions: int = 1,
    dask: str | None = None,
    signoff: Literal["pause", "skip"] = "skip",
    resume_run_id: str | None = None,
    workdir: str = ".",
    mappings: str = str(MAPPINGS),
    config: str | None = None,
) -> dict[str, Any]:
    """GL accounts and journals, AP invoices, lines and payments."""
    return _run("finance", dict(locals()))


@flow(name="hr")
def hr(
    mode: Mode = "rehearsal",
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
    partitions: int = 1,
    dask: str | None = None,
    signoff: Literal["pause", "skip"] = "skip",
    resume_run_id: str | None = None,
    workdir: str = ".",
    mappings: str = str(MAPPINGS),
    config: str | None = None,
) -> dict[str, Any]:
    """Workers, positions, bank accounts, salaries, payroll history."""
    return _run("hr", dict(locals()))


@flow(name="procurement")
def procurement(
    mode: Mode = "rehearsal",
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
    partitions: int = 1,
    dask: str | None = None,
    signoff: Literal["pause", "skip"] = "skip",
    resume_run_id: str | None = None,
    workdir: str = ".",
    mappings: str = str(MAPPINGS),
    config: str | None = None,
) -> dict[str, Any]:
    """Suppliers (from two systems), requisitions, purchase orders, lines, receipts."""
    return _run("procurement", dict(locals()))
