-- One row per customer who ordered before the cutoff: features from orders strictly BEFORE the cutoff, the label
-- from orders strictly AFTER it (within label_days). An order at exactly the cutoff feeds neither side, so nothing
-- that happens from the cutoff on can leak into a feature. Cancelled orders count for neither.
-- Placeholders: {cutoff} (a TIMESTAMP literal), {label_days}, {validation_percent}.
WITH past_orders AS (
  SELECT o.order_id, o.customer_id, o.total_amount, o.created_at
  FROM analytics.fact_orders o
  WHERE o.created_at < {cutoff} AND o.status <> 'cancelled'
),
baskets AS (
  SELECT i.order_id, SUM(i.quantity) AS items, COUNT(DISTINCT i.product_id) AS products
  FROM analytics.fact_order_items i
  JOIN past_orders p ON p.order_id = i.order_id
  GROUP BY i.order_id
),
features AS (
  SELECT p.customer_id,
         DATEDIFF(second, MAX(p.created_at), {cutoff}) / 86400.0 AS recency_days,
         DATEDIFF(second, MIN(p.created_at), {cutoff}) / 86400.0 AS tenure_days,
         COUNT(*) AS frequency,
         SUM(p.total_amount) AS monetary,
         AVG(p.total_amount) AS avg_order_value,
         MAX(p.total_amount) AS max_order_value,
         AVG(COALESCE(b.items, 0)) AS avg_basket_items,
         AVG(COALESCE(b.products, 0)) AS avg_basket_products
  FROM past_orders p
  LEFT JOIN baskets b ON b.order_id = p.order_id
  GROUP BY p.customer_id
),
future_buyers AS (
  SELECT DISTINCT o.customer_id
  FROM analytics.fact_orders o
  WHERE o.created_at > {cutoff} AND o.created_at <= DATEADD(day, {label_days}, {cutoff})
    AND o.status <> 'cancelled'
)
SELECT f.customer_id,
       CAST(f.recency_days AS DOUBLE PRECISION) AS recency_days,
       CAST(f.tenure_days AS DOUBLE PRECISION) AS tenure_days,
       f.frequency,
       CAST(f.monetary AS DOUBLE PRECISION) AS monetary,
       CAST(f.avg_order_value AS DOUBLE PRECISION) AS avg_order_value,
       CAST(f.max_order_value AS DOUBLE PRECISION) AS max_order_value,
       CAST(f.avg_basket_items AS DOUBLE PRECISION) AS avg_basket_items,
       CAST(f.avg_basket_products AS DOUBLE PRECISION) AS avg_basket_products,
       CASE WHEN fb.customer_id IS NULL THEN 0 ELSE 1 END AS label,
       -- Reproducible split: a multiplicative hash of the key (Knuth), the same in every engine and every run.
       CASE WHEN MOD(MOD(f.customer_id * 2654435761, 4294967296), 100) < {validation_percent}
            THEN 'validation' ELSE 'train' END AS split
FROM features f
LEFT JOIN future_buyers fb ON fb.customer_id = f.customer_id
