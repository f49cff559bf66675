"""Redshift SQL that must execute on the local warehouse. Grow this list as pipelines need more.

The statements run in order in one database. Every statement that returns rows carries the WHOLE result it must
give on Redshift: every row, every column, each value with its Data API type (longValue -> int, doubleValue ->
float, booleanValue -> bool, stringValue -> str, isNull -> None), compared exactly; a statement without an
expectation must not return rows. A third element marks a known gap of the local Redshift: the entry is
xfail(strict=True), so fixing the gap makes the test fail until the mark is removed.
"""

from __future__ import annotations

import pytest

Rows = list[list[object]]

ORDERS_AS_INSERTED = [
    [1, 1, 1, 2, "19.98", "shipped", "2024-01-05 10:00:00", "2024-01-05"],
    [2, 2, 2, 1, "19.50", "open", "2024-02-10 12:30:00", "2024-02-10"],
    [3, 1, 2, 3, "58.50", "shipped", "2024-02-11 08:15:00", "2024-02-11"],
]

CORPUS: list[tuple] = [
    # DDL with physical options Redshift tunes storage with (accepted, ignored)
    ("CREATE TABLE customers (customer_id BIGINT IDENTITY(1,1), email VARCHAR(256) NOT NULL ENCODE zstd, "
     "country CHAR(2) ENCODE bytedict, created_at TIMESTAMP DEFAULT GETDATE(), PRIMARY KEY (customer_id)) "
     "DISTSTYLE KEY DISTKEY(customer_id) COMPOUND SORTKEY(created_at, country)", None),
    ("CREATE TABLE products (product_id INT DISTKEY, name VARCHAR(100) ENCODE lzo, price NUMERIC(10,2) SORTKEY, "
     "active BOOLEAN DEFAULT TRUE) DISTSTYLE ALL BACKUP NO", None),
    ("CREATE TABLE IF NOT EXISTS orders (order_id BIGINT NOT NULL, customer_id BIGINT, product_id INT, qty INT, "
     "amount DECIMAL(12,2), status VARCHAR(16), ordered_at TIMESTAMP, order_date DATE) "
     "DISTSTYLE AUTO SORTKEY AUTO ENCODE AUTO", None),
    ("CREATE TABLE events (id INT, payload VARCHAR(MAX)) INTERLEAVED SORTKEY (id)", None),
    ("INSERT INTO customers (email, country) VALUES ('a@x.io', 'DE'), ('b@x.io', 'FR'), ('c@x.io', 'DE')", None),
    ("SELECT max(customer_id) FROM customers", [[3]]),
    ("SELECT customer_id, email, country, created_at IS NOT NULL FROM customers ORDER BY customer_id",
     [[1, "a@x.io", "DE", True], [2, "b@x.io", "FR", True], [3, "c@x.io", "DE", True]]),
    ("INSERT INTO products VALUES (1, 'widget', 9.99, true), (2, 'gadget', 19.50, true), (3, 'old', 1.00, false)",
     None),
    ("SELECT product_id, name, price, active FROM products ORDER BY product_id",
     [[1, "widget", "9.99", True], [2, "gadget", "19.50", True], [3, "old", "1.00", False]]),
    ("INSERT INTO orders VALUES (1, 1, 1, 2, 19.98, 'shipped', '2024-01-05 10:00:00', '2024-01-05'), "
     "(2, 2, 2, 1, 19.50, 'open', '2024-02-10 12:30:00', '2024-02-10'), "
     "(3, 1, 2, 3, 58.50, 'shipped', '2024-02-11 08:15:00', '2024-02-11')", None),
    ("SELECT count(*) FROM orders", [[3]]),
    ("SELECT * FROM orders ORDER BY order_id", ORDERS_AS_INSERTED),
    # functions Redshift users reach for
    ("SELECT GETDATE() IS NOT NULL", [[True]]),
    ("SELECT SYSDATE IS NOT NULL", [[True]]),
    ("SELECT DATEADD(day, 30, '2024-01-01'::date)::date", [["2024-01-31"]]),
    ("SELECT DATEADD(month, -1, '2024-03-31 00:00:00'::timestamp)::date", [["2024-02-29"]]),
    ("SELECT DATEDIFF(day, '2024-01-01', '2024-03-01')", [[60]]),
    ("SELECT DATEDIFF(month, '2024-01-31'::date, '2024-02-01'::date)", [[1]]),
    ("SELECT NVL(NULL, 'fallback')", [["fallback"]]),
    ("SELECT NVL2(NULL, 'a', 'b')", [["b"]]),
    ("SELECT COALESCE(NULL, NULL, 3)", [[3]]),
    ("SELECT DECODE(2, 1, 'one', 2, 'two', 'many')", [["two"]]),
    ("SELECT LISTAGG(country, ',') WITHIN GROUP (ORDER BY country) FROM customers", [["DE,DE,FR"]]),
    ("SELECT LEN('hello')", [[5]]),
    ("SELECT CHARINDEX('l', 'hello')", [[3]]),
    ("SELECT SPLIT_PART('a,b,c', ',', 2)", [["b"]]),
    ("SELECT TRUNC('2024-05-06 07:08:09'::timestamp)", [["2024-05-06"]]),
    ("SELECT DATE_TRUNC('month', '2024-05-06 07:08:09'::timestamp)::date", [["2024-05-01"]]),
    ("SELECT TO_CHAR('2024-05-06'::date, 'YYYY-MM-DD')", [["2024-05-06"]]),
    ("SELECT EXTRACT(year FROM ordered_at) FROM orders WHERE order_id = 1", [[2024]]),  # INTEGER for TIMESTAMP
    ("SELECT DATE_PART(month, ordered_at) FROM orders WHERE order_id = 2", [[2.0]]),  # DOUBLE, unlike EXTRACT
    ("SELECT CONVERT(INTEGER, '42')", [[42]]),
    ("SELECT '7'::int + 1", [[8]]),
    ("SELECT CAST(amount AS VARCHAR) FROM orders WHERE order_id = 1", [["19.98"]]),
    ("SELECT TOP 1 order_id FROM orders ORDER BY amount DESC", [[3]]),
    ("SELECT email FROM customers WHERE email ILIKE 'A@%'", [["a@x.io"]]),
    ("SELECT REGEXP_SUBSTR('order-123', '[0-9]+')", [["123"]]),
    ("SELECT MEDIAN(amount) FROM orders", [["19.98"]]),
    ("SELECT APPROXIMATE COUNT(DISTINCT customer_id) FROM orders", [[2]]),
    # arithmetic: integer division truncates toward zero; numeric keeps its scale
    ("SELECT 7 / 2, -7 / 2, 1 / 2, qty / 2 FROM orders WHERE order_id = 3", [[3, -3, 0, 1]]),
    ("SELECT amount * 2, amount + 0.01 FROM orders WHERE order_id = 2", [["39.00", "19.51"]]),
    # window functions, CTEs, set operations
    ("SELECT order_id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY ordered_at DESC) AS rn FROM orders "
     "ORDER BY order_id", [[1, 2], [2, 1], [3, 1]]),
    ("SELECT SUM(amount) OVER (ORDER BY order_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM orders "
     "ORDER BY order_id DESC LIMIT 1", [["97.98"]]),
    ("WITH big AS (SELECT * FROM orders WHERE amount > 19.90) SELECT count(*) FROM big", [[2]]),
    ("SELECT customer_id FROM orders UNION SELECT customer_id FROM customers ORDER BY 1", [[1], [2], [3]]),
    ("SELECT c.country, sum(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
     "GROUP BY 1 ORDER BY 1", [["DE", "78.48"], ["FR", "19.50"]]),
    # staging pattern: temp table LIKE, COPY-free upserts
    ("CREATE TEMP TABLE stage_orders (LIKE orders)", None),
    ("CREATE TABLE orders_stage (LIKE orders)", None),
    ("INSERT INTO orders_stage VALUES (3, 1, 2, 4, 78.00, 'shipped', '2024-02-11 08:15:00', '2024-02-11'), "
     "(4, 3, 1, 1, 9.99, 'open', '2024-03-01 09:00:00', '2024-03-01')", None),
    ("MERGE INTO orders USING orders_stage s ON orders.order_id = s.order_id "
     "WHEN MATCHED THEN UPDATE SET qty = s.qty, amount = s.amount "
     "WHEN NOT MATCHED THEN INSERT VALUES (s.order_id, s.customer_id, s.product_id, s.qty, s.amount, s.status, "
     "s.ordered_at, s.order_date)", None),
    ("SELECT count(*) || ':' || sum(qty) FROM orders", [["4:8"]]),
    ("SELECT order_id, qty, amount, status FROM orders ORDER BY order_id",
     [[1, 2, "19.98", "shipped"], [2, 1, "19.50", "open"], [3, 4, "78.00", "shipped"], [4, 1, "9.99", "open"]]),
    ("DELETE FROM orders USING orders_stage WHERE orders.order_id = orders_stage.order_id "
     "AND orders_stage.status = 'open'", None),
    ("SELECT order_id FROM orders ORDER BY order_id", [[1], [2], [3]]),
    ("UPDATE orders SET status = 'closed' FROM customers c WHERE orders.customer_id = c.customer_id "
     "AND c.country = 'FR'", None),
    ("SELECT order_id, status FROM orders ORDER BY order_id", [[1, "shipped"], [2, "closed"], [3, "shipped"]]),
    ("CREATE TABLE order_summary DISTKEY(customer_id) SORTKEY(customer_id) AS "
     "SELECT customer_id, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer_id", None),
    ("SELECT customer_id, n, total FROM order_summary ORDER BY customer_id", [[1, 2, "97.98"], [2, 1, "19.50"]]),
    ("CREATE VIEW v_open AS SELECT * FROM orders WHERE status <> 'closed'", None),
    ("SELECT order_id FROM v_open ORDER BY order_id", [[1], [3]]),
    ("ALTER TABLE orders ADD COLUMN channel VARCHAR(10) DEFAULT 'web'", None),
    ("SELECT order_id, channel FROM orders ORDER BY order_id", [[1, "web"], [2, "web"], [3, "web"]]),
    ("ALTER TABLE orders ALTER DISTKEY customer_id", None),
    ("ALTER TABLE orders RENAME COLUMN channel TO sales_channel", None),
    ("SELECT sales_channel FROM orders WHERE order_id = 1", [["web"]]),
    ("COMMENT ON TABLE orders IS 'fact table'", None),
    ("ANALYZE orders", None),
    ("VACUUM DELETE ONLY orders", None),
    ("GRANT SELECT ON orders TO GROUP analysts", None),
    ("SET search_path TO public", None),
    ("TRUNCATE orders_stage", None),
    ("SELECT count(*) FROM orders_stage", [[0]]),
    ("BEGIN; INSERT INTO orders_stage SELECT order_id, customer_id, product_id, qty, amount, status, ordered_at, "
     "order_date FROM orders; END;", None),
    ("SELECT order_id, qty, amount FROM orders_stage ORDER BY order_id",
     [[1, 2, "19.98"], [2, 1, "19.50"], [3, 4, "78.00"]]),
    ("DROP TABLE IF EXISTS orders_stage", None),
    ("DROP VIEW v_open", None),
    ("SELECT order_id, CASE WHEN amount > 50 THEN 'big' ELSE 'small' END FROM orders ORDER BY order_id",
     [[1, "small"], [2, "small"], [3, "big"]]),
    ("SELECT current_database()", [["sql_corpus"]]),
    ("SELECT NULL::int, NULL::varchar, 0, ''", [[None, None, 0, ""]]),
]


def typed(rows: Rows) -> list[list[tuple[str, object]]]:
    """Rows as (type name, value) pairs, so 3 != 3.0 != True != '3' and every row and column counts."""
    return [[(type(value).__name__, value) for value in row] for row in rows]


def _params():
    for n, (sql, expected, *gap) in enumerate(CORPUS):
        marks = [pytest.mark.xfail(strict=True, reason=gap[0])] if gap else []
        yield pytest.param(sql, expected, id=f"{n:02d}", marks=marks)


@pytest.fixture(scope="module")
def corpus_db(redshift_client_module):
    from tests.cloud.redshift_data.conftest import Redshift

    Redshift(redshift_client_module).run("CREATE DATABASE sql_corpus")
    return Redshift(redshift_client_module, database="sql_corpus")


@pytest.fixture(scope="module")
def redshift_client_module(local_cloud):
    import boto3

    return boto3.session.Session(region_name="us-east-1").client("redshift-data", endpoint_url=local_cloud.endpoint_url)


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 40
    assert sum(1 for entry in CORPUS if entry[1] is not None) >= 40, "most entries must check what they return"


def test_the_comparison_is_exact_typed_and_whole():
    """The comparison must tell apart what a lenient one would accept."""
    assert typed([[3]]) == typed([[3]])
    for actual, expected in [([[30]], [[3]]), ([["3"]], [[3]]), ([[3.0]], [[3]]), ([[1]], [[True]]),
                             ([[None]], [["None"]]), ([[3], [4]], [[3]]), ([[3, 1]], [[3]]), ([], [[3]]),
                             ([["19.980"]], [["19.98"]]), ([[2], [1]], [[1], [2]])]:
        assert typed(actual) != typed(expected), (actual, expected)


@pytest.mark.parametrize(("sql", "expected"), list(_params()))
def test_statement_executes(corpus_db, sql, expected):
    described = corpus_db.run(sql)
    if expected is None:
        assert not described["HasResultSet"], f"{sql} returns rows: give the corpus entry its expected rows"
        return
    assert described["HasResultSet"], f"{sql} returned no result set"
    rows = corpus_db.records(described["Id"])
    assert typed(rows) == typed(expected), f"{sql}\n  got      {rows}\n  expected {expected}"
