import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import type { DatabaseCredentials, DatabaseCredentialsSource } from '#shared/adapters/secrets';
import { batchTsv, MysqlWarehouse, tsvText, WarehouseWriteError } from '#shared/adapters/warehouse';
import type { AggregateRow } from '#shared/core/aggregate-row';
import type { WarehouseBulkMode } from '#shared/core/bulk-mode';
import { createLogger } from '#shared/core/log';
import { aggregateRows, byKey } from '../support/aggregate-rows';
import { rootConnection } from '../support/mariadb';

const noWait = async () => undefined;

/** Hosts LOAD DATA's text format could misread: its escape, field, line and NULL markers among them. */
const TRICKY_HOSTS = [
  '\\N',
  'N',
  'NULL',
  '\\',
  'ends-with-backslash\\',
  '\\t literal backslash-t',
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'nul\u0000byte',
  '\t',
  '\n',
  "o'brien.example",
  '"double".example',
  "x'); DROP TABLE cloudfront_hourly; -- ",
  "\\'; SELECT 1; #",
  'bücher.example',
  '😀.example',
  '\u2028line-separator',
  'ß'.repeat(255),
  '😀'.repeat(255),
];

function trickyRows(hour: string): AggregateRow[] {
  return TRICKY_HOSTS.map((host, index) => ({
    hour,
    host,
    status: 200 + index,
    requests: 10 + index,
    bytesSent: 1_000 * index,
    clientErrors: index % 3,
    serverErrors: 0,
    meanTimeTaken: index % 2 === 0 ? null : 0.1 + 0.2 * index,
    p95TimeTaken: index % 2 === 0 ? null : 1 / 3 + index,
    distinctClientIps: 1,
  }));
}

describe('LOAD DATA text of a batch', () => {
  it("escapes LOAD DATA's escape, field and line characters and NUL in a host, nothing else", () => {
    expect(tsvText('a\\b\tc\nd\re\u0000f')).toBe('a\\\\b\\tc\\nd\\re\\0f');
    expect(tsvText('\\N')).toBe('\\\\N');
    expect(tsvText("o'brien.example 😀 ß")).toBe("o'brien.example 😀 ß");
  });

  it('writes one line per row, null means and p95s as \\N, doubles in their shortest exact form', () => {
    const [row] = aggregateRows(1, 1);
    const text = batchTsv([
      { ...row!, host: 'tab\there', meanTimeTaken: null, p95TimeTaken: null },
      { ...row!, host: '\\N', status: 404, meanTimeTaken: 0.1 + 0.2, p95TimeTaken: 5e-7 },
    ]);
    const lines = text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]!.split('\t')).toEqual([
      '2024-07-13 05:00:00',
      'tab\\there',
      String(row!.status),
      String(row!.requests),
      String(row!.bytesSent),
      String(row!.clientErrors),
      String(row!.serverErrors),
      '\\N',
      '\\N',
      String(row!.distinctClientIps),
    ]);
    expect(lines[1]!.split('\t').slice(1, 3)).toEqual(['\\\\N', '404']);
    expect(lines[1]!.split('\t').slice(7, 9)).toEqual(['0.30000000000000004', '5e-7']);
  });
});

describe('MysqlWarehouse bulk modes on a real MariaDB (LOAD DATA LOCAL allowed, then not)', () => {
  let directory: string;
  let mariadb: LocalMariaDb;
  let root: Connection;
  const warehouses: MysqlWarehouse[] = [];
  const logLines: string[] = [];
  const log = createLogger({ level: 'debug', write: (line) => logLines.push(line) });

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-bulk-mode-'));
    mariadb = await startMariaDb({ directory });
    root = await rootConnection(mariadb);
  });

  afterAll(async () => {
    await Promise.all(warehouses.map((warehouse) => warehouse.close()));
    await root?.end();
    await mariadb?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  afterEach(async () => {
    await root.query('SET GLOBAL local_infile = 1');
  });

  function writer(table: string, bulkMode: WarehouseBulkMode): MysqlWarehouse {
    const { host, port, user, password, database } = mariadb.credentials;
    const credentials: DatabaseCredentials = { host, port, username: user, password, dbname: database };
    const source: DatabaseCredentialsSource = {
      get: async () => credentials,
      refresh: async () => credentials,
    };
    const created = new MysqlWarehouse(source, { table, bulkMode, batchRows: 40, sleep: noWait, log });
    warehouses.push(created);
    return created;
  }

  /** Every column but updated_at and loaded_by_run, in key order; DOUBLEs through the binary protocol, bit for bit. */
  async function contents(table: string) {
    const [rows] = await root.execute<RowDataPacket[]>(
      `SELECT hour_start, HEX(host) AS host, status, requests, bytes_sent, client_errors, server_errors,
              mean_time_taken, p95_time_taken, distinct_client_ips
       FROM \`${table}\` ORDER BY hour_start, host, status`,
    );
    return rows;
  }

  async function loadStatements(): Promise<number> {
    const [[status]] = await root.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_load'");
    return Number(status?.Value);
  }

  async function ledgerDigests(runId: string): Promise<string[]> {
    const [rows] = await root.query<RowDataPacket[]>(
      'SELECT digest FROM etl_load_ledger WHERE run_id = ? ORDER BY batch_no',
      [runId],
    );
    return rows.map((row) => String(row.digest));
  }

  const rows = [...aggregateRows(150, 31), ...trickyRows('2024-07-13T07')];

  it('stores hosts with escape, tab, newline, NUL, NULL-marker and non-ASCII characters, and null means, exactly as the INSERT path does', async () => {
    const before = await loadStatements();
    const viaLoadData = writer('bulk_load_data', 'load-data');
    const viaInsert = writer('bulk_insert', 'insert');
    await Promise.all([viaLoadData.ensureSchema(), viaInsert.ensureSchema()]);
    expect(await viaLoadData.upsert('run-bulk', rows)).toEqual({ rows: 171, batches: 5, skippedBatches: 0 });
    expect(await loadStatements()).toBe(before + 5);
    expect(await viaInsert.upsert('run-bulk-insert', rows)).toEqual({
      rows: 171,
      batches: 5,
      skippedBatches: 0,
    });
    expect(await loadStatements()).toBe(before + 5);

    const loaded = await contents('bulk_load_data');
    expect(loaded).toHaveLength(rows.length);
    expect(loaded).toEqual(await contents('bulk_insert'));
    const hosts = new Set(loaded.map((row) => Buffer.from(String(row.host), 'hex').toString('utf8')));
    for (const host of TRICKY_HOSTS) expect(hosts).toContain(host);
    expect(loaded.filter((row) => row.mean_time_taken === null).length).toBe(
      rows.filter((row) => row.meanTimeTaken === null).length,
    );
  });

  it('skips every batch when the same run is written again through LOAD DATA (same digests, no row touched)', async () => {
    const [before] = await root.query<RowDataPacket[]>('SELECT * FROM bulk_load_data ORDER BY 1, 2, 3');
    const digests = await ledgerDigests('run-bulk');
    const again = writer('bulk_load_data', 'load-data');
    expect(await again.upsert('run-bulk', [...rows].reverse())).toEqual({
      rows: 171,
      batches: 5,
      skippedBatches: 5,
    });
    const [after] = await root.query<RowDataPacket[]>('SELECT * FROM bulk_load_data ORDER BY 1, 2, 3');
    expect(after).toEqual(before);
    expect(await ledgerDigests('run-bulk')).toEqual(digests);
  });

  it('auto: uses LOAD DATA where the server allows it, and INSERT statements where local_infile is off, with the same table', async () => {
    const allowed = writer('bulk_auto_on', 'auto');
    await allowed.ensureSchema();
    logLines.length = 0;
    let before = await loadStatements();
    await allowed.upsert('run-bulk-auto-on', rows, { log });
    expect(await loadStatements()).toBe(before + 5);
    expect(logLines.some((line) => line.includes('"bulkMode":"load-data"'))).toBe(true);

    await root.query('SET GLOBAL local_infile = 0');
    const refused = writer('bulk_auto_off', 'auto');
    await refused.ensureSchema();
    logLines.length = 0;
    before = await loadStatements();
    expect(await refused.upsert('run-bulk-auto-off', rows, { log })).toEqual({
      rows: 171,
      batches: 5,
      skippedBatches: 0,
    });
    expect(await loadStatements()).toBe(before);
    expect(logLines.some((line) => line.includes('"bulkMode":"insert"'))).toBe(true);

    const expected = await contents('bulk_insert');
    expect(await contents('bulk_auto_on')).toEqual(expected);
    expect(await contents('bulk_auto_off')).toEqual(expected);
  });

  it('auto: falls back to INSERT statements when the server refuses LOAD DATA after all, loading every batch once', async () => {
    const table = 'bulk_auto_fallback';
    const target = writer(table, 'auto');
    await target.ensureSchema();
    // The pool found local_infile on; the server turns it off before the next write.
    await target.upsert('run-fallback-1', byKey(rows).slice(0, 40));
    await root.query('SET GLOBAL local_infile = 0');
    logLines.length = 0;
    expect(await target.upsert('run-fallback-2', rows, { log })).toEqual({
      rows: 171,
      batches: 5,
      skippedBatches: 0,
    });
    expect(logLines.filter((line) => line.includes('refused LOAD DATA LOCAL'))).toHaveLength(1);
    const [loaded] = await root.query<RowDataPacket[]>(`SELECT DISTINCT loaded_by_run FROM \`${table}\``);
    // The first 40 rows are the same in both runs: the upsert left them to run-fallback-1.
    expect(loaded.map((row) => row.loaded_by_run).sort()).toEqual(['run-fallback-1', 'run-fallback-2']);
    const [[count]] = await root.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}\``);
    expect(Number(count?.n)).toBe(rows.length);
    expect(await ledgerDigests('run-fallback-2')).toHaveLength(5);
  });

  it('load-data: refuses to write, naming local_infile, when the server does not allow it, and commits nothing', async () => {
    await root.query('SET GLOBAL local_infile = 0');
    const target = writer('bulk_forced', 'load-data');
    await target.ensureSchema();
    await expect(target.upsert('run-forced', rows)).rejects.toThrow(WarehouseWriteError);
    await expect(target.upsert('run-forced', rows)).rejects.toThrow(/local_infile/);
    expect(await ledgerDigests('run-forced')).toEqual([]);
    const [[count]] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM bulk_forced');
    expect(Number(count?.n)).toBe(0);
  });
});
