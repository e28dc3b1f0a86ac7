/**
 * An ordered SHA-256 of the warehouse table's contents, comparable with the same hash of the source
 * rows, so a benchmark can prove that two load paths left identical tables (and lost nothing).
 *
 * `CHECKSUM TABLE` would not do: it covers every column, and `updated_at` is the time of the load,
 * which differs between the two paths by construction. Everything else is hashed, `loaded_by_run`
 * included.
 */
import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { AggregateRow } from '#shared/core/aggregate-row';

export interface TableContents {
  rows: number;
  sha256: string;
}

type HashedRow = [
  hour: string,
  host: string,
  status: string,
  requests: string,
  bytesSent: string,
  clientErrors: string,
  serverErrors: string,
  meanTimeTaken: number | null,
  p95TimeTaken: number | null,
  distinctClientIps: string,
  loadedByRun: string,
];

/** Key order of the table's primary key under utf8mb4_bin: hour, host by UTF-8 bytes, status. */
function compareRows(a: HashedRow, b: HashedRow): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  const byHost = Buffer.compare(Buffer.from(a[1], 'utf8'), Buffer.from(b[1], 'utf8'));
  if (byHost !== 0) return byHost;
  return Number(a[2]) - Number(b[2]);
}

function digest(rows: HashedRow[]): TableContents {
  rows.sort(compareRows);
  const hash = createHash('sha256');
  // Doubles through JSON: the shortest text that round-trips, so equal text means equal bits.
  for (const row of rows) hash.update(`${JSON.stringify(row)}\n`);
  return { rows: rows.length, sha256: hash.digest('hex') };
}

/** The contents the table must hold after loading `rows` as run `runId`. */
export function expectedContents(runId: string, rows: readonly AggregateRow[]): TableContents {
  return digest(
    rows.map((row) => [
      row.hour,
      row.host,
      String(row.status),
      String(row.requests),
      String(row.bytesSent),
      String(row.clientErrors),
      String(row.serverErrors),
      row.meanTimeTaken,
      row.p95TimeTaken,
      String(row.distinctClientIps),
      runId,
    ]),
  );
}

/**
 * The contents the table holds. `execute` (binary protocol) returns DOUBLEs bit for bit; the
 * connection must use `supportBigNumbers` + `bigNumberStrings` so BIGINTs arrive exact.
 */
export async function tableContents(connection: Connection, table: string): Promise<TableContents> {
  const [rows] = await connection.execute<RowDataPacket[]>(
    `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, host, status, requests, bytes_sent,
            client_errors, server_errors, mean_time_taken, p95_time_taken, distinct_client_ips, loaded_by_run
     FROM \`${table}\``,
  );
  return digest(
    rows.map((row) => [
      String(row.hour),
      String(row.host),
      String(row.status),
      String(row.requests),
      String(row.bytes_sent),
      String(row.client_errors),
      String(row.server_errors),
      row.mean_time_taken === null ? null : Number(row.mean_time_taken),
      row.p95_time_taken === null ? null : Number(row.p95_time_taken),
      String(row.distinct_client_ips),
      String(row.loaded_by_run),
    ]),
  );
}
