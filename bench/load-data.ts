/**
 * The baseline the writer is measured against: the same aggregate rows written to a TSV file and
 * loaded with one `LOAD DATA LOCAL INFILE` statement, MySQL's fastest bulk path, into the table the
 * warehouse's own DDL creates. Columns the writer fills on the server (`updated_at`, `loaded_by_run`)
 * are set the same way here, so both paths leave the same contents.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { type Connection, createConnection, type ResultSetHeader } from 'mysql2/promise';
import type { DatabaseCredentials } from '#shared/adapters/secrets';
import type { AggregateRow } from '#shared/core/aggregate-row';

/** LOAD DATA's default escapes (ESCAPED BY '\\'): a host is the one free-text field. */
function escapeTsv(text: string): string {
  return text.replace(/[\\\t\n\r\0]/g, (char) =>
    char === '\\' ? '\\\\' : char === '\t' ? '\\t' : char === '\n' ? '\\n' : char === '\r' ? '\\r' : '\\0',
  );
}

/** `\N` is LOAD DATA's NULL; a double's `String()` is its shortest round-trip text, parsed back exactly. */
function tsvNumber(value: number | null): string {
  return value === null ? '\\N' : String(value);
}

/** Writes the rows as LOAD DATA's default text format; resolves once the file is flushed. */
export async function writeTsv(path: string, rows: readonly AggregateRow[]): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  let chunk = '';
  for (const row of rows) {
    chunk += `${row.hour.slice(0, 10)} ${row.hour.slice(11, 13)}:00:00\t${escapeTsv(row.host)}\t${row.status}\t${row.requests}\t${row.bytesSent}\t${row.clientErrors}\t${row.serverErrors}\t${tsvNumber(row.meanTimeTaken)}\t${tsvNumber(row.p95TimeTaken)}\t${row.distinctClientIps}\n`;
    if (chunk.length > 1 << 16) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, 'finish');
  return bytes;
}

/**
 * A connection that may answer LOAD DATA LOCAL, as the application user over TCP (the writer's
 * transport). mysql2 3.x streams a local file only through `infileStreamFactory` (the old
 * `localInfile` path reading is gone since 2.0); the factory serves only the files listed, because
 * with LOCAL the *server* names the file, and a hostile server could ask for any path.
 */
export function loadDataConnection(
  credentials: DatabaseCredentials,
  allowedFiles: ReadonlySet<string>,
): Promise<Connection> {
  return createConnection({
    host: credentials.host,
    port: credentials.port,
    user: credentials.username,
    password: credentials.password,
    database: credentials.dbname,
    charset: 'utf8mb4',
    infileStreamFactory: (path: string): Readable => {
      if (allowedFiles.has(path)) return createReadStream(path);
      const refused = new PassThrough();
      process.nextTick(() => refused.destroy(new Error(`server asked for a file not offered: ${path}`)));
      return refused;
    },
  });
}

/** Loads the TSV into `table` as run `runId`; throws on any warning (a truncated or coerced value). */
export async function loadData(
  connection: Connection,
  table: string,
  path: string,
  runId: string,
): Promise<ResultSetHeader> {
  const [result] = await connection.query<ResultSetHeader>(
    `LOAD DATA LOCAL INFILE ? INTO TABLE \`${table}\` CHARACTER SET utf8mb4
     FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'
     (hour_start, host, status, requests, bytes_sent, client_errors, server_errors,
      mean_time_taken, p95_time_taken, distinct_client_ips)
     SET updated_at = UTC_TIMESTAMP(3), loaded_by_run = ?`,
    [path, runId],
  );
  if (result.warningStatus !== 0) {
    const [warnings] = await connection.query('SHOW WARNINGS LIMIT 5');
    throw new Error(`LOAD DATA gave ${result.warningStatus} warning(s): ${JSON.stringify(warnings)}`);
  }
  return result;
}
