import { createPool, format as formatSql, type Pool, type PoolOptions } from 'mysql2/promise';
import type { DatabaseCredentials } from '#shared/adapters/secrets';

/**
 * The one way a MySQL pool is built (the warehouse writer, the db-sync source reader): small and
 * bounded, values read exactly (BIGINT and DECIMAL as text, DATETIME as text with no time zone
 * conversion), utf8mb4, keep-alive, idle connections closed before RDS or a NAT drops them.
 */
export function createMysqlPool(
  credentials: DatabaseCredentials,
  options: {
    connectionLimit: number;
    ssl?: PoolOptions['ssl'];
    /** Each session's time_zone set to UTC: TIMESTAMP values then read as UTC text. */
    utcSessions?: boolean;
  },
): Pool {
  const pool = createPool({
    host: credentials.host,
    port: credentials.port,
    user: credentials.username,
    password: credentials.password,
    database: credentials.dbname,
    connectionLimit: options.connectionLimit,
    // Idle connections go before RDS's wait_timeout or a NAT drops them silently.
    maxIdle: options.connectionLimit,
    idleTimeout: 60_000,
    enableKeepAlive: true,
    connectTimeout: 10_000,
    // BIGINT and DECIMAL (SUM) as strings: converted only where they are exact.
    supportBigNumbers: true,
    bigNumberStrings: true,
    // DATETIME as text: no conversion through the Lambda's local time zone.
    dateStrings: true,
    charset: 'utf8mb4',
    // mysql2 passes every statement through `format`, which scans all of its text for
    // placeholders even when there are no values: ~110 ms of CPU per 270,000 rows of upsert
    // text. A statement without values goes as it is, which is what `format` returns for it.
    queryFormat: (sql: string, values: Parameters<typeof formatSql>[1]) =>
      Array.isArray(values) && values.length === 0 ? sql : formatSql(sql, values),
    ...(options.ssl !== undefined && { ssl: options.ssl }),
  });
  if (options.utcSessions === true) {
    // Queued on the new connection before any statement of the caller's.
    pool.pool.on('connection', (connection) => {
      connection.query("SET time_zone = '+00:00'");
    });
  }
  return pool;
}
