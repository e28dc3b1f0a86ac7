-- Hourly aggregate of the curated CloudFront table, one row per (hour, host, status).
-- Trino (Athena engine v3) SQL; also run by the local Athena stand-in (docs/athena-local.md).
-- {{database}}, {{table}}, {{dt}} and {{hour}} are filled in by shared/core/sql.ts after validation
-- (identifiers and the partition values have fixed shapes), so no user text reaches the query.
-- The WHERE on dt and hour prunes to one partition: partition projection, no MSCK REPAIR.
SELECT
  concat(dt, 'T', hour) AS hour,
  coalesce(nullif(host_header, ''), nullif(cs_host, ''), '-') AS host,
  coalesce(sc_status, 0) AS status,
  count(*) AS requests,
  coalesce(sum(sc_bytes), 0) AS bytes_sent,
  count_if(sc_status BETWEEN 400 AND 499) AS client_errors,
  count_if(sc_status >= 500 OR sc_status = 0) AS server_errors,
  -- Not avg(): a floating-point sum depends on the order rows arrive in, so a re-run could change
  -- the last digits. time-taken has millisecond precision: summing whole milliseconds is exact in
  -- any order, and the division is deterministic.
  sum(round(time_taken * 1000)) / count(time_taken) / 1000 AS mean_time_taken,
  approx_percentile(time_taken, 0.95) AS p95_time_taken,
  approx_distinct(client_ip) AS distinct_client_ips
FROM "{{database}}"."{{table}}"
WHERE dt = '{{dt}}' AND hour = '{{hour}}'
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
