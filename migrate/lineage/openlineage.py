"""OpenLineage run events for each migration run and each entity in it.

Data catalogues (Marquez, DataHub, OpenMetadata) speak OpenLineage, so a run is reported in
that standard: a START and a COMPLETE or FAIL event for the run (job ``migration``) and for
every entity (job named after the entity, with the run as parent). Entity events carry the
legacy tables as inputs, the staging table as output with the ``columnLineage`` facet read
from the mapping, and on COMPLETE the loaded row count.

Run ids are UUIDs derived from the migration run id, so START and COMPLETE pair up and
events can be re-sent without creating phantom runs. Events always go to
``artifacts/openlineage.jsonl`` (no network needed) and also to ``OPENLINEAGE_URL`` when set.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset as cl,
)
from openlineage.client.facet_v2 import (
    documentation_job,
    error_message_run,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    tags_run,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport

from migrate.config import Settings, redact
from migrate.extract.flat_file import resolve_path
from migrate.lineage.rules import column_rules, filter_columns
from migrate.spec.model import EntitySpec

log = logging.getLogger("migrate.lineage")

NAMESPACE = "erp-migrate"
RUN_JOB = "migration"
EVENTS_FILE = "openlineage.jsonl"
PRODUCER = "https://pypi.org/project/erp-migrate/"
_RUN_NS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:erp-migrate:run")


def run_uuid(run_id: str, entity: str | None = None) -> str:
    """The OpenLineage runId for a migration run (or one entity of it): stable, a UUID."""
    return str(uuid.uuid5(_RUN_NS, run_id if entity is None else f"{run_id}/{entity}"))


def staging_namespace(staging_url: str) -> str:
    return redact(staging_url)


def _dataset_name(table: str, schema: str | None) -> str:
    return f"{schema}.{table}" if schema else table


def source_dataset(spec: EntitySpec, settings: Settings) -> tuple[str, str]:
    """(namespace, name) of an entity's legacy input: redacted URL and table, or a file."""
    src = spec.source
    if src.file is not None:
        return "file", str(resolve_path(spec, settings.workdir))
    url = settings.urls.get(src.system)
    namespace = redact(url) if url else src.system
    return namespace, src.table or f"query:{spec.entity}"


def column_lineage(spec: EntitySpec, namespace: str, name: str) -> cl.ColumnLineageDatasetFacet:
    """Which legacy columns feed which staging column, and whether copied/transformed/masked."""
    fields: dict[str, cl.Fields] = {}
    for rule in column_rules(spec):
        subtype = "IDENTITY" if rule.kind == "identity" else "TRANSFORMATION"
        inputs = [
            cl.InputField(
                namespace,
                name,
                col,
                [
                    cl.Transformation(
                        "DIRECT", subtype, rule.description, masking=rule.kind == "masked"
                    )
                ],
            )
            for col in rule.direct
        ]
        inputs += [
            cl.InputField(
                namespace, name, col, [cl.Transformation("INDIRECT", "CONDITIONAL", rule.origin)]
            )
            for col in rule.indirect
        ]
        if inputs:
            fields[rule.column] = cl.Fields(inputFields=inputs)
    dataset = [
        cl.InputField(namespace, name, col, [cl.Transformation("INDIRECT", "FILTER", rule)])
        for rule, col in filter_columns(spec)
    ]
    return cl.ColumnLineageDatasetFacet(fields=fields, dataset=dataset)


def entity_event(
    state: RunState,
    settings: Settings,
    spec: EntitySpec,
    run_id: str,
    staging: tuple[str, str | None],
    mapping: tuple[str, str],
    row_count: int | None = None,
    when: datetime | None = None,
) -> RunEvent:
    """One entity's event; ``staging`` is (redacted URL, schema), ``mapping`` (file, sha256)."""
    in_ns, in_name = source_dataset(spec, settings)
    out_name = _dataset_name(spec.target.table, staging[1])
    out_facets: dict[str, Any] = {}
    if row_count is not None:
        out_facets["outputStatistics"] = (
            output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=row_count)
        )
    output = OutputDataset(
        namespace=staging_namespace(staging[0]),
        name=out_name,
        facets={"columnLineage": column_lineage(spec, in_ns, in_name)},
        outputFacets=out_facets,
    )
    tags = [("migRunId", run_id), ("mappingFile", mapping[0]), ("mappingSha256", mapping[1])]
    job_facets: dict[str, Any] = {"jobType": _job_type("ENTITY")}
    if spec.description:
        job_facets["documentation"] = documentation_job.DocumentationJobFacet(spec.description)
    return RunEvent(
        eventType=state,
        eventTime=_time(when),
        run=Run(runId=run_uuid(run_id, spec.entity), facets=_run_facets(run_id, tags)),
        job=Job(namespace=NAMESPACE, name=spec.entity, facets=job_facets),
        inputs=[InputDataset(namespace=in_ns, name=in_name)],
        outputs=[output],
        producer=PRODUCER,
    )


def run_event(
    state: RunState,
    run_id: str,
    mode: str,
    error: str | None = None,
    when: datetime | None = None,
) -> RunEvent:
    """The whole run's event (job ``migration``); FAIL carries the (secret-free) error."""
    facets = _run_facets(None, [("migRunId", run_id), ("mode", mode)])
    if error is not None:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return RunEvent(
        eventType=state,
        eventTime=_time(when),
        run=Run(runId=run_uuid(run_id), facets=facets),
        job=Job(namespace=NAMESPACE, name=RUN_JOB, facets={"jobType": _job_type("RUN")}),
        producer=PRODUCER,
    )


def _run_facets(parent_of: str | None, tags: list[tuple[str, str]]) -> dict[str, Any]:
    facets: dict[str, Any] = {
        "tags": tags_run.TagsRunFacet(
            tags=[tags_run.TagsRunFacetFields(k, v, "erp-migrate") for k, v in tags]
        )
    }
    if parent_of is not None:
        facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_uuid(parent_of)),
            job=parent_run.Job(namespace=NAMESPACE, name=RUN_JOB),
        )
    return facets


def _job_type(kind: str) -> job_type_job.JobTypeJobFacet:
    return job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration="ERP_MIGRATE", jobType=kind
    )


def _time(when: datetime | None) -> str:
    return (when or datetime.now(UTC)).isoformat()


def events_path(settings: Settings) -> Path:
    return settings.artifacts / EVENTS_FILE


def emit(settings: Settings, events: Iterable[RunEvent]) -> None:
    """Append events to the JSON-lines file; also POST them when ``OPENLINEAGE_URL`` is set."""
    clients = [OpenLineageClient(transport=_file_transport(events_path(settings)))]
    url = os.environ.get("OPENLINEAGE_URL")
    if url:
        clients.append(OpenLineageClient(transport=_http_transport(url)))
    for event in events:
        for client in clients:
            try:
                client.emit(event)
            except Exception as exc:  # a catalogue being down must not fail a migration
                if client is clients[0]:
                    raise
                log.warning("OpenLineage endpoint %s: %s", _safe(url or ""), exc)


def _file_transport(path: Path) -> FileTransport:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileTransport(FileConfig(log_file_path=str(path), append=True))


def _http_transport(url: str) -> HttpTransport:
    params: dict[str, Any] = {
        "url": url,
        "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage"),
        "timeout": float(os.environ.get("OPENLINEAGE_TIMEOUT", "5")),
    }
    key = os.environ.get("OPENLINEAGE_API_KEY")
    if key:
        params["auth"] = {"type": "api_key", "apiKey": key}
    return HttpTransport(HttpConfig.from_dict(params))


def _safe(url: str) -> str:
    """The endpoint without any user:password part, for a log line."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
