import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import { freePort } from '#local/services/ports';
import { startSecretsManager } from '#local/services/secrets-manager';
import type { RunningService } from '#local/services/service';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { MysqlWarehouse, RetryableWriteError, WarehouseRowError } from '#shared/adapters/warehouse';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';
import { type AggregateRow, rowKey } from '#shared/core/aggregate-row';
import { createLogger } from '#shared/core/log';
import { aggregateRows, STORED_COLUMNS, type StoredRow, storedRow } from '../support/aggregate-rows';
import { rootConnection } from '../support/mariadb';

const noWait = async () => undefined;
const FAST = { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 3 };

/** Rows a case-insensitive or lossy table would get wrong. */
const EDGE_ROWS: AggregateRow[] = [
  ['Case.Example.com', 'case.example.com', 'bücher.example', '😀.example'].map((host) => ({
    hour: '2024-07-13T05',
    host,
    status: 200,
    requests: 10,
    bytesSent: 1_000,
    clientErrors: 0,
    serverErrors: 0,
    meanTimeTaken: 0.1 + 0.2,
    p95TimeTaken: 1 / 3,
    distinctClientIps: 4,
  })),
  // Alone in its hour, so the hour's sum is still exact: BIGINT holds it, a double would not.
  {
    hour: '2024-07-13T07',
    host: 'big.example.com',
    status: 206,
    requests: 2 ** 53 - 2,
    bytesSent: Number.MAX_SAFE_INTEGER,
    clientErrors: 0,
    serverErrors: 0,
    meanTimeTaken: 5e-7,
    p95TimeTaken: 123_456.789_012_345_6,
    distinctClientIps: 1,
  },
  // What SQL quoting must get right: every one stored exactly as it is, none ending a literal.
  ...[
    "o'brien.example",
    'back\\slash.example',
    'trailing-backslash.example\\',
    '"double".example',
    'new\nline\ttab\r.example',
    'nul\u0000byte.example',
    'percent%_underscore.example',
    'question?mark.example',
    "x'); DROP TABLE cloudfront_hourly; -- ",
    "\\'; SELECT 1; #",
    'ß'.repeat(255),
    '😀'.repeat(255),
  ].map((host) => ({
    hour: '2024-07-13T06',
    host,
    status: 200,
    requests: 3,
    bytesSent: 300,
    clientErrors: 0,
    serverErrors: 0,
    meanTimeTaken: null,
    p95TimeTaken: null,
    distinctClientIps: 1,
  })),
].flat();

const byKey = <Row extends AggregateRow>(rows: readonly Row[]): Row[] =>
  [...rows].sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));

describe.each(['insert', 'load-data'] as const)(
  'MysqlWarehouse in bulk mode %s (real MariaDB, credentials from the Secrets Manager stand-in)',
  (bulkMode) => {
    let directory: string;
    let mariadb: LocalMariaDb;
    let secretsService: RunningService;
    let clients: AwsClients;
    let root: Connection;
    const warehouses: MysqlWarehouse[] = [];
    const logLines: string[] = [];
    const log = createLogger({ level: 'debug', write: (line) => logLines.push(line) });

    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), 'etl-warehouse-'));
      [mariadb, secretsService] = await Promise.all([
        startMariaDb({ directory }),
        startSecretsManager({ region: 'us-east-1' }),
      ]);
      const endpoint = secretsService.endpoint;
      clients = new AwsClients(
        localAwsSettings({
          region: 'us-east-1',
          s3: endpoint,
          dynamodb: endpoint,
          athena: endpoint,
          secretsmanager: endpoint,
        }),
      );
      await putSecret('etl/test/mysql', mariadb.credentials.password);
      // The test inspects the tables as root over the socket: it must not share the writer's
      // credentials, which the rotation test changes.
      root = await rootConnection(mariadb);
    });

    afterAll(async () => {
      await Promise.all(warehouses.map((warehouse) => warehouse.close()));
      await root?.end();
      clients?.destroy();
      await secretsService?.stop();
      await mariadb?.stop();
      rmSync(directory, { recursive: true, force: true });
    });

    async function putSecret(name: string, password: string, overrides: Record<string, unknown> = {}) {
      const { host, port, user, database } = mariadb.credentials;
      const secretString = JSON.stringify({
        host,
        port,
        username: user,
        password,
        dbname: database,
        ...overrides,
      });
      try {
        await clients.secretsManager.send(
          new CreateSecretCommand({ Name: name, SecretString: secretString }),
        );
      } catch {
        await clients.secretsManager.send(
          new PutSecretValueCommand({ SecretId: name, SecretString: secretString }),
        );
      }
    }

    function warehouse(secretId: string, options: ConstructorParameters<typeof MysqlWarehouse>[1] = {}) {
      const created = new MysqlWarehouse(new DatabaseCredentialsProvider(clients.secretsManager, secretId), {
        sleep: noWait,
        log,
        bulkMode,
        ...options,
      });
      warehouses.push(created);
      return created;
    }

    /** The table as MySQL holds it; `execute` (binary protocol) returns DOUBLEs bit for bit. */
    async function stored(table = 'cloudfront_hourly'): Promise<StoredRow[]> {
      const [rows] = await root.execute<RowDataPacket[]>(`SELECT ${STORED_COLUMNS} FROM \`${table}\``);
      return byKey(rows.map(storedRow));
    }
    const values = (rows: StoredRow[]): AggregateRow[] =>
      rows.map(({ updatedAt, loadedByRun, ...row }) => row);

    async function ledger(runId: string) {
      const [rows] = await root.query<RowDataPacket[]>(
        'SELECT batch_no, row_count, digest, loaded_at FROM etl_load_ledger WHERE run_id = ? ORDER BY batch_no',
        [runId],
      );
      return rows;
    }

    const firstRun = [...aggregateRows(1_200, 11), ...EDGE_ROWS];

    it('creates the table and the ledger, and loads the rows in batches so the table equals them', async () => {
      const writer = warehouse('etl/test/mysql', { batchRows: 250 });
      await writer.ensureSchema();
      await writer.ensureSchema();
      const result = await writer.upsert('run-1', firstRun);
      expect(result).toEqual({ rows: 1_217, batches: 5, skippedBatches: 0 });

      const table = await stored();
      expect(values(table)).toEqual(byKey(firstRun));
      expect(new Set(table.map((row) => row.loadedByRun))).toEqual(new Set(['run-1']));
      expect((await ledger('run-1')).map((row) => [row.batch_no, row.row_count])).toEqual([
        [0, 250],
        [1, 250],
        [2, 250],
        [3, 250],
        [4, 217],
      ]);
      // Hosts differing only in case are two keys (utf8mb4_bin), as they are two Athena groups.
      expect(table.filter((row) => row.host.toLowerCase() === 'case.example.com')).toHaveLength(2);
    });

    it('changes nothing when the same run is written again (ledger skip, no row touched)', async () => {
      const before = { table: await stored(), ledger: await ledger('run-1') };
      const writer = warehouse('etl/test/mysql', { batchRows: 250 });
      // Input order does not matter: batches are cut from the rows sorted by key.
      const result = await writer.upsert('run-1', [...firstRun].reverse());
      expect(result).toEqual({ rows: 1_217, batches: 5, skippedBatches: 5 });
      expect({ table: await stored(), ledger: await ledger('run-1') }).toEqual(before);
    });

    it('updates the rows a later run changed, and leaves the others as they were', async () => {
      const before = new Map((await stored()).map((row) => [rowKey(row), row]));
      const secondRun = firstRun.map((row, index) =>
        index % 3 === 0
          ? {
              ...row,
              requests: row.requests + 1,
              meanTimeTaken: row.meanTimeTaken === null ? 0.25 : null,
              p95TimeTaken: row.p95TimeTaken === null ? 0.5 : null,
            }
          : row,
      );
      const writer = warehouse('etl/test/mysql', { batchRows: 250 });
      expect(await writer.upsert('run-2', secondRun)).toEqual({ rows: 1_217, batches: 5, skippedBatches: 0 });

      const table = await stored();
      expect(values(table)).toEqual(byKey(secondRun));
      const changed = new Set(secondRun.filter((_, index) => index % 3 === 0).map(rowKey));
      for (const row of table) {
        const previous = before.get(rowKey(row));
        if (changed.has(rowKey(row))) {
          expect(row.loadedByRun).toBe('run-2');
        } else {
          expect(row.loadedByRun).toBe('run-1');
          expect(row.updatedAt).toBe(previous?.updatedAt);
        }
      }
    });

    it('reloads only the batch whose rows changed when a run id is written again with other rows', async () => {
      const rows = aggregateRows(600, 12).map((row) => ({
        ...row,
        hour: row.hour.replace('07-13', '07-14'),
      }));
      const writer = warehouse('etl/test/mysql', { batchRows: 200 });
      expect(await writer.upsert('run-3', rows)).toEqual({ rows: 600, batches: 3, skippedBatches: 0 });
      const sorted = byKey(rows);
      const target = sorted[450]!;
      const changed = rows.map((row) =>
        row === target ? { ...row, serverErrors: row.serverErrors + 7 } : row,
      );
      expect(await writer.upsert('run-3', changed)).toEqual({ rows: 600, batches: 3, skippedBatches: 2 });
      const found = (await stored()).find((row) => rowKey(row) === rowKey(target));
      expect(found?.serverErrors).toBe(target.serverErrors + 7);
    });

    it('sums requests and bytes per hour for the report, exactly, with 0 for an hour without rows', async () => {
      const table = values(await stored());
      const sum = (hour: string, pick: (row: AggregateRow) => number) =>
        table.filter((row) => row.hour === hour).reduce((total, row) => total + pick(row), 0);
      const writer = warehouse('etl/test/mysql');
      const summary = await writer.hoursSummary([
        '2024-07-13T06',
        '2024-07-13T05',
        '2024-07-13T07',
        '2024-07-15T00',
      ]);
      expect(summary).toEqual([
        {
          hour: '2024-07-13T05',
          requests: sum('2024-07-13T05', (r) => r.requests),
          bytes: sum('2024-07-13T05', (r) => r.bytesSent),
        },
        {
          hour: '2024-07-13T06',
          requests: sum('2024-07-13T06', (r) => r.requests),
          bytes: sum('2024-07-13T06', (r) => r.bytesSent),
        },
        { hour: '2024-07-13T07', requests: 2 ** 53 - 2, bytes: Number.MAX_SAFE_INTEGER },
        { hour: '2024-07-15T00', requests: 0, bytes: 0 },
      ]);
      expect(summary[0]!.requests).toBeGreaterThan(0);
      expect(await writer.hoursSummary([])).toEqual([]);
    });

    it('refuses a host longer than VARCHAR(255) before sending anything', async () => {
      const [row] = aggregateRows(1, 13);
      const writer = warehouse('etl/test/mysql');
      await expect(writer.upsert('run-long', [{ ...row!, host: 'x'.repeat(256) }])).rejects.toThrow(
        WarehouseRowError,
      );
      expect(await ledger('run-long')).toEqual([]);
    });

    it('refuses rows MySQL would fold into one key, and impossible hours or statuses, before sending anything', async () => {
      const [row] = aggregateRows(1, 17);
      const base = { ...row!, hour: '2024-07-20T01', host: 'fold.example' };
      const writer = warehouse('etl/test/mysql');
      const refused = async (runId: string, rows: AggregateRow[], message: RegExp) => {
        await expect(writer.upsert(runId, rows)).rejects.toThrow(WarehouseRowError);
        await expect(writer.upsert(runId, rows)).rejects.toThrow(message);
        expect(await ledger(runId)).toEqual([]);
      };
      // The same key twice, next to each other or far apart in the input.
      await refused(
        'run-dup',
        [base, { ...base, requests: 1 }],
        /two rows share the warehouse key of 2024-07-20T01#fold\.example#/,
      );
      await refused(
        'run-dup-apart',
        [base, ...aggregateRows(50, 18).map((other) => ({ ...other, hour: '2024-07-20T02' })), { ...base }],
        /two rows share the warehouse key/,
      );
      // utf8mb4_bin pads: 'fold.example' and 'fold.example  ' are one key in MySQL.
      await refused(
        'run-pad',
        [{ ...base, host: 'fold.example  ' }, base],
        /two rows share the warehouse key/,
      );
      await refused('run-hour', [{ ...base, hour: '2024-02-30T00' }], /2024-02-30T00 is not an hour/);
      await refused('run-status', [{ ...base, status: 1000 }], /status 1000 .* is not an HTTP status/);
      // 255 characters fit however many UTF-16 units they take; 256 do not.
      await refused('run-emoji', [{ ...base, host: '😀'.repeat(256) }], /longer than 255 characters/);
      expect(await writer.upsert('run-emoji-ok', [{ ...base, host: '😀'.repeat(255) }])).toEqual({
        rows: 1,
        batches: 1,
        skippedBatches: 0,
      });
    });

    it('stores a run id that needs quoting exactly as given', async () => {
      const runId = "backfill-'2024'\\07; DROP TABLE etl_load_ledger; --";
      const rows = aggregateRows(5, 19).map((row) => ({ ...row, hour: row.hour.replace('07-13', '07-21') }));
      const writer = warehouse('etl/test/mysql');
      expect(await writer.upsert(runId, rows)).toEqual({ rows: 5, batches: 1, skippedBatches: 0 });
      const table = (await stored()).filter((row) => row.hour.startsWith('2024-07-21'));
      expect(values(table)).toEqual(byKey(rows));
      expect(new Set(table.map((row) => row.loadedByRun))).toEqual(new Set([runId]));
      expect((await ledger(runId)).map((row) => row.row_count)).toEqual([5]);
    });

    it('replaces the hours it is told to: groups gone from the rows are deleted with the batch, in every batch layout', async () => {
      const inHours = (rows: AggregateRow[], day: string) =>
        rows.map((row) => ({ ...row, hour: row.hour.replace('07-13', day) }));
      const first = inHours(aggregateRows(300, 21), '07-22');
      const writer = warehouse('etl/test/mysql', { batchRows: 40 });
      await writer.ensureSchema();
      await writer.upsert('run-replace-1', first);
      const hours = [...new Set(first.map((row) => row.hour))];
      // The second aggregate keeps every third group of the first hour and nothing of the second.
      const second = first.filter((row, index) => row.hour === hours[0] && index % 3 === 0);
      const result = await writer.upsert('run-replace-2', second, { replaceHours: hours });
      const table = (await stored()).filter((row) => row.hour.startsWith('2024-07-22'));
      expect(values(table)).toEqual(byKey(second));
      expect(result.deletedRows).toBe(first.length - second.length);
      // Written again, every batch is skipped and nothing more is deleted.
      expect(await writer.upsert('run-replace-2', second, { replaceHours: hours })).toMatchObject({
        skippedBatches: result.batches,
        deletedRows: 0,
      });
      // Without replaceHours an upsert deletes nothing (hours it was not asked to make exact).
      await writer.upsert('run-replace-3', inHours(aggregateRows(5, 22), '07-22').slice(0, 1));
      const keysAfter = new Set((await stored()).map(rowKey));
      expect(second.filter((row) => !keysAfter.has(rowKey(row)))).toEqual([]);
    });

    it('loads two batches at a time without deadlocks (the ledger row is claimed before it is read)', async () => {
      const table = 'cloudfront_hourly_parallel';
      const writer = warehouse('etl/test/mysql', { table, batchRows: 25, log });
      await writer.ensureSchema();
      const rows = aggregateRows(1_000, 20);
      logLines.length = 0;
      // 40 new batches, each ledger row at the end of the index: with SELECT … FOR UPDATE first,
      // two batches would share the gap lock there and InnoDB would kill one of them, again and again.
      expect(await writer.upsert('run-parallel', rows, { log })).toEqual({
        rows: 1_000,
        batches: 40,
        skippedBatches: 0,
      });
      expect(logLines.filter((line) => line.includes('transient failure'))).toEqual([]);
      expect(values(await stored(table))).toEqual(byKey(rows));
      expect((await ledger('run-parallel')).map((row) => row.batch_no)).toEqual(
        Array.from({ length: 40 }, (_, batchNo) => batchNo),
      );
    });

    it('lets two writers of the same run at once load each batch exactly once', async () => {
      const table = 'cloudfront_hourly_twice';
      const rows = aggregateRows(600, 21);
      const [first, second] = [1, 2].map(() => warehouse('etl/test/mysql', { table, batchRows: 50 }));
      await first!.ensureSchema();
      const results = await Promise.all([
        first!.upsert('run-twice', rows),
        second!.upsert('run-twice', rows),
      ]);

      for (const result of results) expect(result).toMatchObject({ rows: 600, batches: 12 });
      // A batch one writer loaded, the other waited for on the ledger row and then skipped.
      expect(results[0]!.skippedBatches + results[1]!.skippedBatches).toBe(12);
      expect(values(await stored(table))).toEqual(byKey(rows));
      expect(await ledger('run-twice')).toHaveLength(12);
    });

    it('rolls back a batch whose connection drops mid-transaction and retries it on a fresh connection', async () => {
      const table = 'cloudfront_hourly_drop';
      const writer = warehouse('etl/test/mysql', { table, batchRows: 100 });
      await writer.ensureSchema();
      const rows = aggregateRows(300, 14);
      const blockedKey = byKey(rows)[100]!;

      // Another transaction holds the first key of batch 1, so the writer's INSERT of batch 1 waits
      // on its lock after the ledger row was read: the writer's connection is killed right there.
      const blocker = await createConnection({ socketPath: mariadb.socket, user: 'root', database: 'etl' });
      try {
        await blocker.beginTransaction();
        await blocker.query(
          `INSERT INTO ${table} (hour_start, host, status, requests, bytes_sent, client_errors, server_errors,
           distinct_client_ips, updated_at, loaded_by_run)
         VALUES (?, ?, ?, 1, 1, 1, 1, 1, UTC_TIMESTAMP(3), 'blocker')`,
          [
            `${blockedKey.hour.slice(0, 10)} ${blockedKey.hour.slice(11)}:00:00`,
            blockedKey.host,
            blockedKey.status,
          ],
        );
        const writing = writer.upsert('run-drop', rows, { log });
        let victim: number | undefined;
        for (let tries = 0; victim === undefined && tries < 500; tries++) {
          const [threads] = await root.query<RowDataPacket[]>(
            `SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'etl' AND INFO LIKE 'INSERT INTO \`${table}\`%'`,
          );
          victim = threads[0]?.ID as number | undefined;
          if (victim === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(victim).toBeDefined();
        await root.query(`KILL CONNECTION ${Number(victim)}`);
        await blocker.rollback();
        expect(await writing).toEqual({ rows: 300, batches: 3, skippedBatches: 0 });
      } finally {
        await blocker.end();
      }
      expect(values(await stored(table))).toEqual(byKey(rows));
      // The end state proves the retry: the killed connection's batch is in the table and the
      // ledger exactly once (no assertion on when a log line was written).
      expect((await ledger('run-drop')).map((row) => row.batch_no)).toEqual([0, 1, 2]);
    });

    it('recovers from a password rotation by re-reading the secret once and rebuilding the pool', async () => {
      // The real provider, with its calls counted: two batches in flight are refused together.
      const provider = new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/mysql');
      let refreshes = 0;
      const counted = {
        get: () => provider.get(),
        refresh: () => {
          refreshes++;
          return provider.refresh();
        },
      };
      const writer = new MysqlWarehouse(counted, { sleep: noWait, log, batchRows: 10, bulkMode });
      warehouses.push(writer);
      await writer.ensureSchema();
      await writer.upsert('run-before-rotation', aggregateRows(10, 15));

      const rotated = 'Rotated-Password-4f9d2c';
      for (const host of ['127.0.0.1', 'localhost']) {
        await root.query('ALTER USER ?@? IDENTIFIED BY ?', [mariadb.credentials.user, host, rotated]);
      }
      await putSecret('etl/test/mysql', rotated);
      // Existing sessions survive a password change; a recycled one (idle timeout, failover) does not.
      const [threads] = await root.query<RowDataPacket[]>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'etl'",
      );
      for (const thread of threads) await root.query(`KILL CONNECTION ${Number(thread.ID)}`);

      logLines.length = 0;
      const rows = aggregateRows(40, 16).map((row) => ({ ...row, hour: row.hour.replace('07-13', '07-16') }));
      expect(await writer.upsert('run-after-rotation', rows, { log })).toEqual({
        rows: 40,
        batches: 4,
        skippedBatches: 0,
      });
      expect(refreshes).toBe(1);
      expect(logLines.some((line) => line.includes('login refused, re-reading the database secret'))).toBe(
        true,
      );
      expect((await stored()).filter((row) => row.hour.startsWith('2024-07-16'))).toHaveLength(40);
      expect(logLines.join('\n')).not.toContain(rotated);
    });

    it('gives up with RetryableWriteError after bounded retries when the server is unreachable', async () => {
      const closedPort = await freePort();
      await putSecret('etl/test/unreachable', 'whatever', { port: closedPort });
      const writer = warehouse('etl/test/unreachable', { backoff: FAST });
      const error = await writer.ensureSchema().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RetryableWriteError);
      expect((error as Error).name).toBe('RetryableWriteError');
      expect((error as Error).message).toMatch(/ensure schema failed 3 time\(s\); last: ECONNREFUSED/);
    });

    it('keeps the password out of errors and logs when MySQL refuses it', async () => {
      const wrong = 'Wrong-Password-77a1e0';
      // mysql2's own error names the user, never the password.
      const raw = await createConnection({ ...mariadb.credentials, password: wrong }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(String(raw)).toMatch(/Access denied for user 'etl'/);
      expect(inspect(raw, { depth: 10, showHidden: true })).not.toContain(wrong);

      await putSecret('etl/test/wrong', wrong);
      logLines.length = 0;
      const writer = warehouse('etl/test/wrong');
      const error = await writer.ensureSchema().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RetryableWriteError);
      expect((error as Error).message).toMatch(/refused the credentials even after re-reading the secret/);
      expect(inspect(error, { depth: 10, showHidden: true })).not.toContain(wrong);
      expect(logLines.length).toBeGreaterThan(0);
      expect(logLines.join('\n')).not.toContain(wrong);
    });
  },
);
