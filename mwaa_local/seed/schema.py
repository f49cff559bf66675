"""The retail source schema (PostgreSQL; stands in for the operational database on Amazon RDS).

The tables model an operational database fed by several applications, with weak constraints: keys are indexed
but NOT declared PRIMARY KEY / NOT NULL. That is how null keys and duplicate rows reach a real pipeline, and it
is what lets the generator inject them. Column types are real PostgreSQL types, so dirt that a type would
forbid cannot exist here; "malformed values" therefore live in the free-text columns the apps write
(customers.email, customers.country_code, orders.currency, orders.status, products.sku), and negative
quantities/amounts in the numeric columns (no CHECK constraints).
"""

from __future__ import annotations

SCHEMA = "retail"
DATABASE = "retail"

# Load order matters only for readability: there are no foreign-key constraints.
TABLES: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("customer_id", "bigint"),
        ("email", "text"),
        ("full_name", "text"),
        ("country_code", "text"),
        ("segment", "text"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    "products": [
        ("product_id", "bigint"),
        ("sku", "text"),
        ("name", "text"),
        ("category", "text"),
        ("unit_price", "numeric(12,2)"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    "orders": [
        ("order_id", "bigint"),
        ("customer_id", "bigint"),
        ("status", "text"),
        ("currency", "text"),
        ("total_amount", "numeric(14,2)"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
    "order_items": [
        ("order_item_id", "bigint"),
        ("order_id", "bigint"),
        ("product_id", "bigint"),
        ("quantity", "integer"),
        ("unit_price", "numeric(12,2)"),
        ("amount", "numeric(14,2)"),
        ("created_at", "timestamptz"),
        ("updated_at", "timestamptz"),
    ],
}

KEYS = {"customers": "customer_id", "products": "product_id", "orders": "order_id", "order_items": "order_item_id"}


def columns(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


def create_tables_sql() -> list[str]:
    statements = [f"CREATE SCHEMA {SCHEMA}"]
    for table, cols in TABLES.items():
        body = ",\n  ".join(f"{name} {kind}" for name, kind in cols)
        statements.append(f"CREATE TABLE {SCHEMA}.{table} (\n  {body}\n)")
    return statements


def create_indexes_sql() -> list[str]:
    """Built after the bulk load (much faster than maintaining them row by row). updated_at serves the
    incremental extract; the key index serves lookups and late updates."""
    statements = []
    for table, key in KEYS.items():
        statements.append(f"CREATE INDEX {table}_updated_at_idx ON {SCHEMA}.{table} (updated_at)")
        statements.append(f"CREATE INDEX {table}_key_idx ON {SCHEMA}.{table} ({key})")
    return statements
