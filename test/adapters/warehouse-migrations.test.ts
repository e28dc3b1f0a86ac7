import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import type { DatabaseCredentialsSource } from '#shared/adapters/secrets';
import { MysqlWarehouse, RetryableWriteError, upsertStatement } from '#shared/adapters/warehouse';
import { columnNamed } from '#shared/core/table-declaration';
import { createTableDdl } from '#shared/core/table-sql';
import { canonicalRow, fromSqlRow } from '#shared/core/table-values';
import { aggregateRows, byKey, STORED_COLUMNS, storedRow } from '../support/aggregate-rows';
import { cloudfrontHourlyV2, everyType } from '../support/declared-tables';
import { rootConnection } from '../support/mariadb';

/** The DDL the writer ran before migrations existed (the previous release's `ensureSchema`). */
const PREVIOUS_RELEASE_DDL = (table: string) => [
  `CREATE TABLE IF NOT EXISTS \`${table}\` (
  hour_start DATETIME NOT NULL COMMENT 'UTC start of the hour',
  host VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  status SMALLINT NOT NULL,
  requests BIGINT NOT NULL,
  bytes_sent BIGINT NOT NULL,
  client_errors BIGINT NOT NULL,
  server_errors BIGINT NOT NULL,
  mean_time_taken DOUBLE NULL COMMENT 'seconds',
  p95_time_taken DOUBLE NULL COMMENT 'seconds',
  distinct_client_ips BIGINT NOT NULL,
  updated_at DATETIME(3) NOT NULL COMMENT 'UTC; changes only when a value changes',
  loaded_by_run VARCHAR(128) NOT NULL COMMENT 'run that last changed the row',
  PRIMARY KEY (hour_start, host, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS \`etl_load_ledger\` (
  run_id VARCHAR(128) NOT NULL,
  batch_no INT NOT NULL,
  row_count INT NOT NULL,
  digest CHAR(64) NOT NULL COMMENT 'SHA-256 of the batch rows: same content, same digest',
  loaded_at DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (run_id, batch_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];

describe('warehouse schema migrations (real MariaDB)', () => {
  let directory: string;
  let mariadb: LocalMariaDb;
  let root: Connection;
  const warehouses: MysqlWarehouse[] = [];

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-migrations-'));
    mariadb = await startMariaDb({ directory });
    root = await rootConnection(mariadb);
  });

  afterAll(async () => {
    await Promise.all(warehouses.map((warehouse) => warehouse.close()));
    await root?.end();
    await mariadb?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const credentials: DatabaseCredentialsSource = {
    get: async () => {
      const { host, port, user, password, database } = mariadb.credentials;
      return { host, port, username: user, password, dbname: database };
    },
    refresh: () => credentials.get(),
  };

  function warehouse(options: ConstructorParameters<typeof MysqlWarehouse>[1]) {
    const created = new MysqlWarehouse(credentials, { bulkMode: 'insert', ...options });
    warehouses.push(created);
    return created;
  }

  async function versions(table: string): Promise<number[]> {
    const [rows] = await root.query<RowDataPacket[]>(
      'SELECT version FROM etl_schema_version WHERE table_name = ? ORDER BY version',
      [table],
    );
    return rows.map((row) => Number(row.version));
  }

  async function columns(table: string): Promise<string[]> {
    const [rows] = await root.query<RowDataPacket[]>(
      'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [table],
    );
    return rows.map((row) => String(row.name));
  }

  async function stored(table: string) {
    const [rows] = await root.execute<RowDataPacket[]>(`SELECT ${STORED_COLUMNS} FROM \`${table}\``);
    return byKey(rows.map(storedRow));
  }

  it('brings a populated table of the previous release to version 2: every row kept, the new columns added with their defaults', async () => {
    const table = 'hourly_from_previous_release';
    for (const statement of PREVIOUS_RELEASE_DDL(table)) await root.query(statement);
    const rows = aggregateRows(500, 41);
    await root.query(upsertStatement(table, 'run-before-migrations', rows));
    const before = await stored(table);
    expect(before).toHaveLength(500);

    const writer = warehouse({ table, declaration: cloudfrontHourlyV2 });
    const applied = await writer.migrate();
    expect(applied.map(({ table, version }) => `${table}@${version}`)).toEqual([
      'etl_load_ledger@1',
      `${table}@1`,
      `${table}@2`,
    ]);
    expect(await versions(table)).toEqual([1, 2]);
    expect(await stored(table)).toEqual(before);
    expect(await columns(table)).toEqual([
      ...cloudfrontHourlyV2.columns.map((column) => column.name),
      'updated_at',
      'loaded_by_run',
    ]);
    const [added] = await root.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n, SUM(cached_requests = 0) AS zero, SUM(top_edge IS NULL) AS unset FROM \`${table}\``,
    );
    // COUNT and SUM come as text (bigNumberStrings).
    expect([added[0]?.n, added[0]?.zero, added[0]?.unset].map(Number)).toEqual([500, 500, 500]);

    // The migrated table takes rows with the new column, and nothing is migrated twice.
    const next = aggregateRows(20, 42).map((row) => ({
      ...row,
      hour: row.hour.replace('07-13', '07-14'),
      cachedRequests: row.requests,
      topEdge: 'FRA56-C1',
    }));
    await writer.upsert('run-after-migrations', next);
    const [loaded] = await root.query<RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM \`${table}\` WHERE top_edge = 'FRA56-C1' AND cached_requests = requests`,
    );
    expect(Number(loaded[0]?.n)).toBe(20);
    expect(await warehouse({ table, declaration: cloudfrontHourlyV2 }).migrate()).toEqual([]);
  });

  it('takes a database the writer created at version 1 to version 2 and applies only version 2', async () => {
    const table = 'hourly_at_version_1';
    const first = warehouse({ table });
    await first.ensureSchema();
    await first.upsert('run-v1', aggregateRows(50, 43));
    const before = await stored(table);
    expect(await versions(table)).toEqual([1]);

    const applied = await warehouse({ table, declaration: cloudfrontHourlyV2 }).migrate();
    expect(applied.map(({ table, version }) => `${table}@${version}`)).toEqual([`${table}@2`]);
    expect(await stored(table)).toEqual(before);
    expect(await versions(table)).toEqual([1, 2]);
  });

  it('lets two migrators at once apply each migration exactly once (the schema lock)', async () => {
    const table = 'hourly_two_migrators';
    const [a, b] = [1, 2].map(() => warehouse({ table, declaration: cloudfrontHourlyV2 }));
    const results = await Promise.all([a!.migrate(), b!.migrate()]);
    const ofTable = results.map((applied) =>
      applied.filter((migration) => migration.table === table).map((migration) => migration.version),
    );
    // One of them applied both versions; the other found them recorded and applied none.
    expect([...ofTable].sort((x, y) => y.length - x.length)).toEqual([[1, 2], []]);
    expect(await versions(table)).toEqual([1, 2]);
    expect(await columns(table)).toContain('top_edge');
  });

  it('records a migration whose column is already there (a migrator killed between ALTER and its record)', async () => {
    const table = 'hourly_half_migrated';
    await warehouse({ table }).ensureSchema();
    const cached = columnNamed(cloudfrontHourlyV2, 'cached_requests');
    await root.query(`ALTER TABLE \`${table}\` ADD COLUMN cached_requests BIGINT NOT NULL DEFAULT 0`);
    expect(cached.since).toBe(2);

    const applied = await warehouse({ table, declaration: cloudfrontHourlyV2 }).migrate();
    expect(applied.map((migration) => migration.version)).toEqual([2]);
    expect(await columns(table)).toEqual(expect.arrayContaining(['cached_requests', 'top_edge']));
    expect(await versions(table)).toEqual([1, 2]);
  });

  it('waits for the schema lock another session holds, then gives up with RetryableWriteError', async () => {
    const holder = await createConnection({ socketPath: mariadb.socket, user: 'root', database: 'etl' });
    try {
      await holder.query("SELECT GET_LOCK(CONCAT('etl_schema:', LEFT(SHA2(DATABASE(), 256), 40)), 0)");
      const writer = warehouse({ table: 'hourly_locked_out', schemaLockWaitSeconds: 1 });
      const error = await writer.ensureSchema().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(RetryableWriteError);
      expect((error as Error).message).toMatch(/held the warehouse schema lock for over 1 s/);
      expect(await columns('hourly_locked_out')).toEqual([]);
    } finally {
      await holder.end();
    }
    // The holder's session ended, so the lock is free again.
    await warehouse({ table: 'hourly_locked_out' }).ensureSchema();
    expect(await versions('hourly_locked_out')).toEqual([1]);
  });

  it('stores and reads back every declared type exactly: DATE, DATETIME(6), DECIMAL, utf8mb4 text, BLOB, NULL', async () => {
    await root.query(createTableDdl(everyType, 1));
    const rows = [
      {
        id: Number.MAX_SAFE_INTEGER,
        code: '(empty)',
        small: -128,
        ratio: 0.1 + 0.2,
        price: '-1234567890.05',
        bornOn: '1000-01-01',
        createdAt: '2024-02-29T23:59:59Z',
        updatedAtMicros: '2024-07-13T05:06:07.000001Z',
        title: '',
        note: 'bücher 😀 \u0000 \\ \'"',
        body: '😀'.repeat(300_000),
        payload: new Uint8Array([0, 255, 10, 13, 0x27, 0x5c]),
      },
      {
        id: 0,
        code: 'A',
        small: null,
        ratio: null,
        price: null,
        bornOn: null,
        createdAt: '9999-12-31T23:59:59Z',
        updatedAtMicros: null,
        title: null,
        note: null,
        body: null,
        payload: null,
      },
    ].map((row) => canonicalRow(everyType, row));
    await root.query(upsertStatement(everyType.name, 'run-types', rows, everyType));
    const [read] = await root.execute<RowDataPacket[]>(
      `SELECT ${everyType.columns.map((column) => column.name).join(', ')} FROM every_type ORDER BY id`,
    );
    expect(read.map((record) => fromSqlRow(everyType, record))).toEqual([
      { ...rows[1], payload: null },
      { ...rows[0], payload: Buffer.from(rows[0]!.payload!) },
    ]);
  });
});
