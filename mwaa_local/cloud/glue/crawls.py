"""Crawler runs: state RUNNING -> STOPPING -> READY, LastCrawl and metrics (persisted), one thread per crawl.
The crawler definition (targets, database, policies) is moto's; GetCrawler is answered from it plus our state."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import statistics
import threading
import time
from typing import Any

from mwaa_local.cloud import faults
from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.glue import catalog, crawler
from mwaa_local.cloud.glue.backends import mutating, reading
from mwaa_local.cloud.glue.exceptions import CrawlerNotRunning, CrawlerRunning, EntityNotFound, InvalidInput
from mwaa_local.cloud.glue.logs import LogWriter
from mwaa_local.cloud.service import ServiceError

log = logging.getLogger(__name__)

STATE = "glue.crawls"
LOG_GROUP = "/aws-glue/crawlers"


@dataclasses.dataclass
class CrawlerStatus:
    state: str = "READY"
    crawl_id: str | None = None
    started: float | None = None
    ended: float | None = None
    status: str | None = None  # LastCrawl.Status: SUCCEEDED / CANCELLED / FAILED
    error: str | None = None
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0
    runtimes: list[float] = dataclasses.field(default_factory=list)


def _not_found(name: str) -> ServiceError:
    return EntityNotFound(f"Crawler entry with name {name} does not exist")


class Crawls:
    def __init__(self, context: CloudContext):
        self.context = context
        self.status: dict[str, CrawlerStatus] = {}
        self._stops: dict[str, threading.Event] = {}
        context.store.register(STATE, lambda: {k: dataclasses.asdict(v) for k, v in self.status.items()},
                               self._restore)

    def _restore(self, saved: dict) -> None:
        self.status = {k: CrawlerStatus(**v) for k, v in saved.items()}
        for status in self.status.values():
            if status.state != "READY":  # its thread died with the cloud
                status.state, status.status, status.ended = "READY", "FAILED", time.time()
                status.error = ("The local cloud restarted during this crawl, which was lost before it wrote the "
                                "catalog; start the crawler again.")

    def _definition(self, name: str) -> Any:
        found = reading("glue", self.context.region).crawlers.get(name)
        if found is None:
            raise _not_found(name)
        return found

    def names(self) -> list[str]:
        return list(reading("glue", self.context.region).crawlers)

    def _set(self, name: str, **changes: Any) -> None:
        with self.context.store.mutation(STATE):
            status = self.status.setdefault(name, CrawlerStatus())
            for key, value in changes.items():
                setattr(status, key, value)

    # -- API --------------------------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        definition = self._definition(name)
        with self.context.store.mutation(STATE):
            status = self.status.setdefault(name, CrawlerStatus())
            if status.state != "READY":
                raise CrawlerRunning(f"Crawler with name {name} has already started")
            status.state, status.crawl_id, status.started, status.ended = "RUNNING", secrets.token_hex(16), \
                time.time(), None
            status.status, status.error = None, None
            self._stops[name] = threading.Event()
        threading.Thread(target=self._crawl, args=(name, definition), daemon=True, name=f"crawl-{name}").start()

    def stop(self, name: str) -> None:
        self._definition(name)
        with self.context.store.mutation(STATE):
            status = self.status.get(name)
            if status is None or status.state != "RUNNING":
                raise CrawlerNotRunning(f"Crawler with name {name} isn't running")
            status.state = "STOPPING"
            self._stops[name].set()

    def delete(self, name: str) -> None:
        self._definition(name)
        status = self.status.get(name)
        if status is not None and status.state != "READY":
            raise CrawlerRunning(f"Crawler with name {name} is running; stop it first")
        with mutating(self.context.store, "glue", self.context.region) as glue:
            glue.delete_crawler(name)
        with self.context.store.mutation(STATE):
            self.status.pop(name, None)

    _FIELDS = {"Role": "role", "DatabaseName": "database_name", "Description": "description",
               "Targets": "targets", "Schedule": "schedule", "Classifiers": "classifiers",
               "TablePrefix": "table_prefix", "SchemaChangePolicy": "schema_change_policy",
               "RecrawlPolicy": "recrawl_policy", "LineageConfiguration": "lineage_configuration",
               "Configuration": "configuration", "CrawlerSecurityConfiguration": "crawler_security_configuration"}

    def update(self, name: str, changes: dict) -> None:
        """UpdateCrawler (moto lacks it): only the given fields change, as on Glue."""
        self._definition(name)
        status = self.status.get(name)
        if status is not None and status.state != "READY":
            raise CrawlerRunning(f"Crawler with name {name} is running; cannot update it")
        unknown = sorted(set(changes) - set(self._FIELDS))
        if unknown:
            raise InvalidInput(f"UpdateCrawler: unknown fields {', '.join(unknown)}")
        from moto.core.utils import utcnow

        with mutating(self.context.store, "glue", self.context.region) as glue:
            definition = glue.crawlers[name]
            for key, value in changes.items():
                setattr(definition, self._FIELDS[key], value)
            definition.version += 1
            definition.last_updated = utcnow()

    def describe(self, name: str) -> dict:
        out = self._definition(name).as_dict()
        status = self.status.get(name) or CrawlerStatus()
        out["State"] = status.state
        out["CrawlElapsedTime"] = int((time.time() - status.started) * 1000) if status.state != "READY" else 0
        out.pop("LastCrawl", None)
        if status.status:
            out["LastCrawl"] = {"Status": status.status, "LogGroup": LOG_GROUP, "LogStream": name,
                                "MessagePrefix": status.crawl_id, "StartTime": status.started,
                                **({"ErrorMessage": status.error} if status.error else {})}
        return {k: v for k, v in out.items() if v is not None}

    def metrics(self, name: str) -> dict:
        self._definition(name)
        status = self.status.get(name) or CrawlerStatus()
        running = status.state != "READY"
        return {"CrawlerName": name, "TimeLeftSeconds": 0.0, "StillEstimating": running,
                "LastRuntimeSeconds": status.runtimes[-1] if status.runtimes else 0.0,
                "MedianRuntimeSeconds": statistics.median(status.runtimes) if status.runtimes else 0.0,
                "TablesCreated": status.tables_created, "TablesUpdated": status.tables_updated,
                "TablesDeleted": status.tables_deleted}

    # -- the crawl --------------------------------------------------------------------------------------------
    def _crawl(self, name: str, definition: Any) -> None:
        status = self.status[name]
        stop = self._stops[name]
        logs = LogWriter(self.context.store, LOG_GROUP, name, self.context.region)
        logs.write(f"[{status.crawl_id}] BENCHMARK : Running Start Crawl for Crawler {name}")
        outcome, error, changes = "SUCCEEDED", None, catalog.CatalogChanges()
        try:
            faults.hold_crawl(name)  # tests' crawl holds (cloud/faults.py): the crawl stays in flight meanwhile
            targets = (definition.targets or {}).get("S3Targets") or []
            scans = crawler.scan(self.context.s3, targets, definition.table_prefix or "", stop.is_set)
            for table in scans.values():
                for warning in table.warnings:
                    logs.write(f"[{status.crawl_id}] WARN : {warning}")
            if stop.is_set():
                outcome = "CANCELLED"
            else:
                self._set(name, state="STOPPING")  # Glue's finishing phase: the catalog is written now
                changes = catalog.apply(self.context.store, self.context.region, definition.database_name, name,
                                        scans, definition.schema_change_policy, [t["Path"] for t in targets])
                for line in ([f"Created table {t} in database {definition.database_name}" for t in changes.created]
                             + [f"Updated table {t}" for t in changes.updated]
                             + [f"Deleted (or deprecated) table {t}" for t in changes.deleted]
                             + [f"Added {changes.partitions_added} partitions"] + changes.messages):
                    logs.write(f"[{status.crawl_id}] INFO : {line}")
        except crawler.CrawlError as exc:
            outcome, error = "FAILED", str(exc)
        except Exception as exc:  # a bug of ours must still end the crawl
            log.exception("crawl of %s crashed", name)
            outcome, error = "FAILED", f"Internal error in the local cloud: {exc}"
        if error:
            logs.write(f"[{status.crawl_id}] ERROR : {error}")
        ended = time.time()
        logs.write(f"[{status.crawl_id}] BENCHMARK : Crawler has finished running and is in state READY")
        try:
            logs.flush()
        except Exception:
            log.exception("could not write the crawl log of %s", name)
        self._set(name, state="READY", status=outcome, error=error, ended=ended,
                  tables_created=len(changes.created), tables_updated=len(changes.updated),
                  tables_deleted=len(changes.deleted), runtimes=[*status.runtimes[-19:], ended - status.started])
