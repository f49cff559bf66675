"""Writes what a crawl found into moto's Glue Data Catalog in-process: tables created or updated (columns added,
never dropped), new partitions registered, vanished tables handled by the SchemaChangePolicy."""

from __future__ import annotations

import dataclasses

from mwaa_local.cloud.glue.backends import mutating
from mwaa_local.cloud.glue.crawler import CrawlError, TableScan, merge_columns
from mwaa_local.cloud.state import StateStore

_STORAGE = {
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                      "Parameters": {"serialization.format": "1"}},
    },
    "csv": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                      "Parameters": {"field.delim": ","}},
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": {"paths": ""}},
    },
}


@dataclasses.dataclass
class CatalogChanges:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    deleted: list[str] = dataclasses.field(default_factory=list)
    partitions_added: int = 0
    messages: list[str] = dataclasses.field(default_factory=list)


def _parameters(fmt: str, crawler: str, objects: int, size: int, records: int) -> dict[str, str]:
    params = {"classification": fmt, "compressionType": "none", "typeOfData": "file", "UPDATED_BY_CRAWLER": crawler,
              "CrawlerSchemaSerializerVersion": "1.0", "CrawlerSchemaDeserializerVersion": "1.0",
              "objectCount": str(objects), "recordCount": str(records),
              "averageRecordSize": str(size // records if records else 0), "sizeKey": str(size)}
    if fmt == "csv":
        params.update({"skip.header.line.count": "1", "delimiter": ",", "areColumnsQuoted": "false"})
    return params


def _storage(fmt: str, location: str, columns: list[tuple[str, str]], params: dict) -> dict:
    spec = _STORAGE[fmt]
    return {"Columns": [{"Name": n, "Type": t} for n, t in columns], "Location": location,
            "InputFormat": spec["InputFormat"], "OutputFormat": spec["OutputFormat"], "Compressed": False,
            "NumberOfBuckets": -1, "SerdeInfo": dict(spec["SerdeInfo"]), "BucketColumns": [], "SortColumns": [],
            "Parameters": params, "StoredAsSubDirectories": False}


def table_input(scan: TableScan, crawler: str, columns: list[tuple[str, str]]) -> dict:
    params = _parameters(scan.format, crawler, scan.objects, scan.size, scan.records)
    return {"Name": scan.name, "Owner": "owner", "Retention": 0, "TableType": "EXTERNAL_TABLE",
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in scan.partition_keys],
            "StorageDescriptor": _storage(scan.format, scan.location, columns, params), "Parameters": params}


def _existing_columns(table_dict: dict) -> list[tuple[str, str]]:
    return [(c["Name"], c["Type"]) for c in table_dict.get("StorageDescriptor", {}).get("Columns", [])]


def apply(store: StateStore, region: str, database: str, crawler: str, scans: dict[str, TableScan],
          policy: dict | None, target_paths: list[str]) -> CatalogChanges:
    policy = policy or {}
    update_behavior = policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE"
    delete_behavior = policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE"
    changes = CatalogChanges()
    with mutating(store, "glue", region) as glue:
        db = glue.databases.get(database)
        if db is None:
            raise CrawlError(f"Database {database} not found; create it (CreateDatabase) before crawling into it")
        for name, scan in scans.items():
            existing = db.tables.get(name)
            if existing is None:
                glue.create_table(database, name, table_input(scan, crawler, scan.columns))
                changes.created.append(name)
            else:
                current = existing.as_dict()
                if [k["Name"] for k in current.get("PartitionKeys", [])] != scan.partition_keys:
                    changes.messages.append(f"table {name}: partition keys changed to {scan.partition_keys}; "
                                            "left as it is (delete the table to re-create it)")
                    continue
                # Columns only ever get added (or widened): data in old partitions must stay readable.
                columns = merge_columns(_existing_columns(current), scan.columns)
                if update_behavior == "LOG":
                    if columns != _existing_columns(current):
                        changes.messages.append(f"table {name}: schema changed, not updated (UpdateBehavior LOG)")
                else:
                    new = table_input(scan, crawler, columns)
                    comparable = {k: current.get(k) for k in new}
                    if comparable != new:
                        glue.update_table(database, name, new)
                        changes.updated.append(name)
            table = db.tables[name]
            fresh = [p for values, p in scan.partitions.items() if str(list(values)) not in table.partitions]
            if fresh:
                glue.batch_create_partition(database, name, [
                    {"Values": p.values, "StorageDescriptor": _storage(
                        scan.format, p.location, p.columns,
                        _parameters(scan.format, crawler, p.objects, p.size, p.records)),
                     "Parameters": {}} for p in fresh])
                changes.partitions_added += len(fresh)
            if delete_behavior == "DELETE_FROM_DATABASE":
                for key in [k for k in table.partitions if tuple(eval_values(k)) not in scan.partitions]:
                    del table.partitions[key]
        _handle_vanished(glue, db, crawler, scans, delete_behavior, target_paths, changes)
    return changes


def eval_values(key: str) -> list[str]:
    """moto keys partitions by str(values), e.g. "['2024-01-01']"."""
    import ast

    return list(ast.literal_eval(key))


def _handle_vanished(glue, db, crawler: str, scans: dict, behavior: str, target_paths: list[str],
                     changes: CatalogChanges) -> None:
    """Tables this crawler made whose data is gone: DeleteBehavior decides (default: mark deprecated)."""
    for name, table in list(db.tables.items()):
        current = table.as_dict()
        params = current.get("Parameters") or {}
        location = (current.get("StorageDescriptor") or {}).get("Location", "")
        if name in scans or params.get("UPDATED_BY_CRAWLER") != crawler:
            continue
        if not any(location.startswith(p.rstrip("/")) for p in target_paths):
            continue
        if behavior == "DELETE_FROM_DATABASE":
            glue.delete_table(db.name, name)
            changes.deleted.append(name)
        elif behavior == "DEPRECATE_IN_DATABASE":
            if params.get("DEPRECATED_BY_CRAWLER") is not None:
                continue  # deprecated by an earlier crawl: nothing new vanished
            updated = {k: v for k, v in current.items()
                       if k in ("Name", "Owner", "Retention", "TableType", "PartitionKeys", "StorageDescriptor")}
            updated["Parameters"] = {**params, "DEPRECATED_BY_CRAWLER": "1"}
            glue.update_table(db.name, name, updated)
            changes.deleted.append(name)
        else:
            changes.messages.append(f"table {name}: its data is gone; left in the catalog (DeleteBehavior LOG)")
