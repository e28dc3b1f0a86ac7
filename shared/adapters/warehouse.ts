import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  escape as escapeSql,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type QueryOptions,
  type QueryResult,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import { createMysqlPool } from '#shared/adapters/mysql-pool';
import type { DatabaseCredentialsSource } from '#shared/adapters/secrets';
import {
  groupKey,
  type HourReplacement,
  planHourReplacements,
  replacementDigest,
} from '#shared/adapters/warehouse-hours';
import type { AggregateRow } from '#shared/core/aggregate-row';
import { type BackoffPolicy, fullJitterDelay, sleep as realSleep, type Sleep } from '#shared/core/backoff';
import { WAREHOUSE_BULK_MODES, type WarehouseBulkMode } from '#shared/core/bulk-mode';
import { mapWithLimit } from '#shared/core/concurrency';
import { ConfigError, EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { isStringColumn, type TableDeclaration } from '#shared/core/table-declaration';
import { migrationsOf, RUN_ID_MAX_CHARS, upsertAssignments } from '#shared/core/table-sql';
import { canonicalRow, rowKeyOf, TableValueError } from '#shared/core/table-values';
import { RetryableWriteError, WarehouseRowError, WarehouseWriteError } from '#shared/core/warehouse-errors';
import { HourSchema, hourStart } from '#shared/core/window';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';
import { loadLedger } from '#shared/tables/writer-tables';
import { type AppliedMigration, applyMigrations } from './warehouse-migrations';
import { batchTsv, loadDataCarries, loadDataColumns, upsertStatement, valueProblem } from './warehouse-sql';

export { batchTsv, ledgerTableDdl, targetTableDdl, tsvText, upsertStatement } from './warehouse-sql';
export { RetryableWriteError, WarehouseRowError, WarehouseWriteError };

/** What the write and report steps need from the warehouse. */
export interface WarehouseWriter {
  /**
   * Brings the target table and the load ledger to their declared versions (creating them on a
   * new database): the migrations not yet applied, under the schema lock (warehouse-migrations.ts).
   */
  ensureSchema(): Promise<void>;
  /**
   * Upserts the run's rows in batches, each in one transaction with its ledger row: a batch whose
   * ledger row holds the same content is skipped, so a retried write changes nothing. Each hour of
   * `replaceHours` ends holding exactly the rows' groups of that hour (none, for an hour without
   * rows): groups the table holds for it that the rows lack are deleted in the transaction of the
   * batch holding the hour's first row.
   */
  upsert(
    runId: string,
    rows: readonly object[],
    options?: { log?: Logger; replaceHours?: readonly string[] },
  ): Promise<UpsertResult>;
  /** Requests and bytes per hour (`YYYY-MM-DDTHH`) as the table holds them; 0 for an hour without rows. */
  hoursSummary(hours: readonly string[]): Promise<HourSummary[]>;
  /** Ends the pool (tests and tools; a Lambda container keeps its pool until it is recycled). */
  close(): Promise<void>;
}

export interface UpsertResult {
  rows: number;
  batches: number;
  /** Batches the ledger showed as already loaded with the same rows. */
  skippedBatches: number;
  /** With `replaceHours`: groups deleted because their hour's new aggregate no longer has them. */
  deletedRows?: number;
}

export interface HourSummary {
  hour: string;
  requests: number;
  bytes: number;
}

export interface MysqlWarehouseOptions {
  /** Target table (default `cloudfront_hourly`). */
  table?: string;
  /**
   * The target table's declaration (default: `shared/tables/cloudfront-hourly.ts`). Replacing hours
   * and `hoursSummary` need a version of the aggregate's (a column added: every column and the key
   * of the aggregate kept); any declared table takes plain upserts (db-sync).
   */
  declaration?: TableDeclaration;
  /**
   * Whether the table carries the writer's bookkeeping columns `updated_at` and `loaded_by_run`
   * (default true). A db-sync copy holds the source's columns only (often its own `updated_at`).
   */
  bookkeeping?: boolean;
  /** Longest wait for another migrator's schema lock (default 60 s) before RetryableWriteError. */
  schemaLockWaitSeconds?: number;
  /** Longest wait for one migration statement (default 10 min: an ALTER of a large table takes time). */
  migrationTimeoutMs?: number;
  /** Rows per INSERT and per transaction (default 5,000, at most 5,000). */
  batchRows?: number;
  /**
   * Connections in the pool (default 2), and batches in flight at once, one per connection. Each
   * Lambda container holds its own pool, so the database sees up to reserved concurrency × this;
   * keep both small (RDS `max_connections` scales with memory).
   */
  connectionLimit?: number;
  /**
   * Longest wait for the answer to one statement (default 60 s) before the connection is taken
   * for stalled, destroyed, and the batch retried on a fresh one.
   */
  queryTimeoutMs?: number;
  /**
   * How batches reach the server (default `auto`, see WarehouseBulkMode): `load-data` streams each
   * batch with `LOAD DATA LOCAL INFILE` into a session temporary table and upserts from it.
   */
  bulkMode?: WarehouseBulkMode;
  /** TLS for the connection, e.g. `'Amazon RDS'` (mysql2's bundled RDS CA profile). */
  ssl?: PoolOptions['ssl'];
  /** Attempts per batch on transient errors before RetryableWriteError. */
  backoff?: BackoffPolicy;
  sleep?: Sleep;
  log?: Logger;
}

export const DEFAULT_TABLE = cloudfrontHourly.name;
export const LEDGER_TABLE = loadLedger.name;
/**
 * 5,000 rows are about 750 KB of SQL (at most ~6 MB with 255-character non-ASCII hosts): under
 * `max_allowed_packet` (64 MB on MySQL 8, 16 MB on MariaDB). Measured (bench/README.md): 5,000-row
 * batches load faster than 1,000-row ones, and on RDS (`innodb_flush_log_at_trx_commit=1`, an
 * fsync per commit, plus a network round trip per statement) 5× fewer transactions count more.
 */
export const DEFAULT_BATCH_ROWS = 5_000;
/** Vanished groups per DELETE statement (usually none or a few; a replaced file can drop many). */
const DELETE_CHUNK_ROWS = 500;
const MAX_BATCH_ROWS = 5_000;
/**
 * Longer than InnoDB's default lock wait (`innodb_lock_wait_timeout`, 50 s), so a statement waiting
 * on a lock ends with the server's own (retryable) ER_LOCK_WAIT_TIMEOUT; this one fires only when
 * the server does not answer at all. 4 attempts × 60 s stay well inside the write function's 900 s.
 */
export const DEFAULT_QUERY_TIMEOUT_MS = 60_000;
export const DEFAULT_WRITE_BACKOFF: BackoffPolicy = { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: 4 };
const DEFAULT_MIGRATION_TIMEOUT_MS = 600_000;
/** Pools one call may see retired under it by other batches' refused logins before it gives up. */
const MAX_RETIRED_POOLS = 3;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,63}$/;
/** mysql2's code for a query past its timeout; the warehouse's own QueryTimeoutError uses it too. */
const QUERY_TIMEOUT_CODE = 'PROTOCOL_SEQUENCE_TIMEOUT';

/**
 * Error codes worth another attempt on a fresh connection. mysql2 marks connection-level failures
 * `fatal` as well; both are checked.
 */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  QUERY_TIMEOUT_CODE, // no answer within queryTimeoutMs: a stalled connection
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ER_CONNECTION_KILLED', // MariaDB 1927: KILL, or the server shutting down
  'ER_SERVER_SHUTDOWN', // 1053
  'ER_CON_COUNT_ERROR', // 1040: max_connections reached
  'ER_LOCK_DEADLOCK', // 1213: InnoDB rolled the transaction back
  'ER_LOCK_WAIT_TIMEOUT', // 1205
  'ER_QUERY_INTERRUPTED', // 1317
  'ER_CLIENT_INTERACTION_TIMEOUT', // MySQL 8.0.24+ 4031: idle past wait_timeout
  'ER_OPTION_PREVENTS_STATEMENT', // 1290: --read-only, the old writer during a Multi-AZ failover
]);

interface MysqlError {
  code?: string;
  errno?: number;
  fatal?: boolean;
  message: string;
}

/** By shape, not `instanceof Error`: socket errors come from Node's core, another realm under Jest's VM. */
function asMysqlError(error: unknown): MysqlError | undefined {
  if (typeof error !== 'object' || error === null || !('message' in error)) return undefined;
  const { code, errno, fatal, message } = error as Record<string, unknown>;
  return {
    message: String(message),
    ...(typeof code === 'string' && { code }),
    ...(typeof errno === 'number' && { errno }),
    ...(typeof fatal === 'boolean' && { fatal }),
  };
}

function isAccessDenied(error: unknown): boolean {
  return asMysqlError(error)?.code === 'ER_ACCESS_DENIED_ERROR';
}

function isTransient(error: unknown): boolean {
  const mysql = asMysqlError(error);
  if (mysql === undefined) return false;
  if (mysql.code !== undefined && TRANSIENT_CODES.has(mysql.code)) return true;
  // mysql2 says this, without a code, when a command is sent on a connection that already closed.
  return mysql.fatal === true || /closed state/.test(mysql.message);
}

/** Code and message only: a mysql2 error's `sql` property holds the whole statement, values included. */
function describe(error: unknown): string {
  const mysql = asMysqlError(error);
  if (mysql === undefined) return String(error);
  return mysql.code === undefined ? mysql.message : `${mysql.code}: ${mysql.message}`;
}

/** `YYYY-MM-DDTHH` → the DATETIME literal of the hour start (UTC; the column holds no time zone). */
function hourStartDatetime(hour: string): string {
  hourStart(hour); // throws on an impossible hour such as 2024-02-30T00
  return `${hour.slice(0, 10)} ${hour.slice(11, 13)}:00:00`;
}

/** The session's MEMORY staging table's limit (`max_heap_table_size`): room for 5,000 of the widest rows. */
const STAGING_TABLE_MAX_BYTES = 32 * 1024 * 1024;
/** The only file name the writer offers the server (with LOCAL the server names the file it wants). */
const BATCH_FILE = 'etl-batch.tsv';

/**
 * MySQL and MariaDB refuse LOAD DATA LOCAL when `local_infile` is off on either side: MySQL 8
 * ER_CLIENT_LOCAL_FILES_DISABLED (3948), older servers ER_NOT_ALLOWED_COMMAND (1148), MariaDB 10.5+
 * ER_LOAD_INFILE_CAPABILITY_DISABLED (4166).
 */
const LOAD_DATA_REFUSED_ERRNOS = new Set([1148, 3948, 4166]);

/** How one batch's rows reach the server: the two bulk modes of the one writer. */
interface BulkLoadStrategy {
  readonly mode: Exclude<WarehouseBulkMode, 'auto'>;
  /** The batch's content as sent; its `digest` (SHA-256) goes into the ledger. */
  payload(table: string, runId: string, rows: readonly object[]): string;
  digest(table: string, payload: string): string;
  /** On the batch's connection before its transaction: nothing here reaches the target table. */
  prepare(connection: PoolConnection, runId: string, payload: string): Promise<void>;
  /** Inside the transaction, after the ledger check: upserts the batch's rows into the table. */
  write(connection: PoolConnection, payload: string): Promise<void>;
}

/**
 * Claims the batch's ledger row before reading it. A `SELECT … FOR UPDATE` of a row that does not
 * exist yet locks the gap where it would go (next-key locking under REPEATABLE READ); two batches
 * holding the same gap then both INSERT into it and InnoDB kills one as a deadlock (measured: 492
 * deadlocks in 3 runs with 2 batches in flight, every new batch lands at the end of the index).
 * Inserting the row first takes only a record lock. A concurrent writer of the same batch waits on
 * that lock, then reads the committed digest. The placeholder values never commit: a loaded batch
 * overwrites them below, a skipped or failed one rolls them back.
 */
const LEDGER_CLAIM = `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
VALUES (?, ?, 0, '', UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE run_id = run_id`;
const LEDGER_READ = `SELECT digest FROM \`${LEDGER_TABLE}\` WHERE run_id = ? AND batch_no = ? FOR UPDATE`;
const LEDGER_WRITE = `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))
ON DUPLICATE KEY UPDATE row_count = VALUES(row_count), digest = VALUES(digest), loaded_at = VALUES(loaded_at)`;

/** BIGINT and DECIMAL arrive as strings (bigNumberStrings): converted only when exact. */
function exactCount(value: unknown, what: string): number {
  const number = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isSafeInteger(number)) {
    throw new WarehouseWriteError(`${what} = ${String(value)} is not an integer a JS number holds exactly`);
  }
  return number;
}

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silent,
};

/** The server refused LOAD DATA LOCAL (`local_infile` off): `auto` mode falls back to INSERT text. */
class LoadDataRefusedError extends WarehouseWriteError {}

/**
 * A statement got no answer within `queryTimeoutMs`. Its code is the one mysql2 gives its own
 * query timeouts, so it reads like one in logs and in RetryableWriteError's message.
 */
class QueryTimeoutError extends Error {
  readonly code = QUERY_TIMEOUT_CODE;
}

/**
 * The warehouse in (RDS) MySQL through mysql2's promise pool. The pool is small and bounded
 * (two connections by default), created lazily from the credentials source on first use and kept
 * for the container's life: build one MysqlWarehouse per container, at module top level.
 *
 * Faults: a dropped connection, deadlock or failover rolls the batch's transaction back (the
 * server does so when the session dies) and the batch is retried on a fresh connection with capped
 * full-jitter backoff; after the last attempt RetryableWriteError. A statement unanswered after
 * `queryTimeoutMs` (a stalled connection: the socket stays open, nothing comes back) is treated the
 * same way: the connection is destroyed, which closes the socket and, as far as the close reaches
 * the server, ends its session and rolls its transaction back. (If the close never reaches it, a
 * blackholed flow, the server keeps that session and its locks until its own `wait_timeout` or
 * TCP keepalive ends it: the retry then waits on those locks, ER_LOCK_WAIT_TIMEOUT after 50 s, and
 * may end in RetryableWriteError for the state machine to retry later.) A refused login
 * (ER_ACCESS_DENIED_ERROR) re-reads the secret once (rotation) and rebuilds the pool.
 *
 * A batch's rows reach the server one of two ways (`bulkMode`, BulkLoadStrategy): LOAD DATA
 * LOCAL into a session temporary table and one INSERT … SELECT from it, where the server allows
 * LOAD DATA LOCAL (`auto` asks once per pool), or multi-row INSERT text. Everything else (the
 * transaction, the ledger, the retries, the timeout) is the same for both.
 *
 * Credentials never reach a log or an error message: mysql2's "Access denied for user 'etl'@…"
 * names the user, never the password, and only code and message of its errors are passed on.
 */
export class MysqlWarehouse implements WarehouseWriter {
  readonly table: string;
  readonly declaration: TableDeclaration;
  private readonly bookkeeping: boolean;
  private readonly batchRows: number;
  private readonly connectionLimit: number;
  private readonly queryTimeoutMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly wait: Sleep;
  private readonly log: Logger;
  private readonly bulkMode: WarehouseBulkMode;
  private readonly insert: BulkLoadStrategy;
  private readonly loadData: BulkLoadStrategy;
  /** `auto`: the strategy found for the current pool (a rebuilt pool may reach another server). */
  private detected?: { pool: Promise<Pool>; strategy: Promise<BulkLoadStrategy> };
  private pool?: Promise<Pool>;
  /** The pool's replacement after a refused login, while the secret is re-read. */
  private rebuilding?: Promise<void>;
  /** Pools replaced after a refused login: what fails on one of them goes again on the new pool. */
  private readonly retired = new WeakSet<Promise<Pool>>();
  private schemaReady = false;

  constructor(
    private readonly credentials: DatabaseCredentialsSource,
    private readonly options: MysqlWarehouseOptions = {},
  ) {
    this.table = options.table ?? DEFAULT_TABLE;
    if (!IDENTIFIER.test(this.table)) {
      throw new ConfigError(`Warehouse table name ${this.table} must match ${IDENTIFIER.source}`);
    }
    this.declaration = options.declaration ?? cloudfrontHourly;
    this.bookkeeping = options.bookkeeping ?? true;
    this.batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1 || this.batchRows > MAX_BATCH_ROWS) {
      throw new ConfigError(`batchRows must be an integer from 1 to 5,000, not ${this.batchRows}`);
    }
    this.connectionLimit = options.connectionLimit ?? 2;
    if (!Number.isInteger(this.connectionLimit) || this.connectionLimit < 1) {
      throw new ConfigError(`connectionLimit must be a positive integer, not ${this.connectionLimit}`);
    }
    this.queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    if (!Number.isInteger(this.queryTimeoutMs) || this.queryTimeoutMs < 1) {
      throw new ConfigError(`queryTimeoutMs must be a positive integer, not ${this.queryTimeoutMs}`);
    }
    this.backoff = options.backoff ?? DEFAULT_WRITE_BACKOFF;
    this.wait = options.sleep ?? realSleep;
    this.log = options.log ?? silent;
    this.bulkMode = options.bulkMode ?? 'auto';
    if (!WAREHOUSE_BULK_MODES.includes(this.bulkMode)) {
      throw new ConfigError(
        `bulkMode must be one of ${WAREHOUSE_BULK_MODES.join(', ')}, not ${this.bulkMode}`,
      );
    }
    this.insert = this.insertStrategy();
    this.loadData = this.loadDataStrategy();
  }

  async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    await this.migrate();
  }

  /**
   * Applies the target table's and the ledger's migrations this database has not taken yet, under
   * the schema lock (warehouse-migrations.ts), and returns those this call applied.
   */
  async migrate(): Promise<AppliedMigration[]> {
    const migrations = [
      ...migrationsOf(loadLedger, { bookkeeping: false }),
      ...migrationsOf(this.declaration, { physicalName: this.table, bookkeeping: this.bookkeeping }),
    ];
    const timeoutMs = this.options.migrationTimeoutMs ?? DEFAULT_MIGRATION_TIMEOUT_MS;
    const applied = await this.withConnection('ensure schema', this.log, (connection) =>
      applyMigrations(
        async <Row>(sql: string, values?: unknown[]) =>
          (await this.query<RowDataPacket[]>(connection, sql, values, timeoutMs)) as Row[],
        migrations,
        { lockWaitSeconds: this.options.schemaLockWaitSeconds ?? 60, log: this.log },
      ),
    );
    this.schemaReady = true;
    return applied;
  }

  /**
   * Batches go to the server one per pooled connection at once (two by default): while the server
   * inserts one, the next one's statement is built, so client and server work side by side instead
   * of taking turns. Each batch is still its own transaction with its own ledger row. After a batch
   * fails for good no new batch starts; the one in flight finishes, and the error is thrown: what
   * committed is in the ledger, and the retried write skips it.
   */
  async upsert(
    runId: string,
    rows: readonly object[],
    options: { log?: Logger; replaceHours?: readonly string[] } = {},
  ): Promise<UpsertResult> {
    const log = options.log ?? this.log;
    if (runId.length === 0 || runId.length > RUN_ID_MAX_CHARS) {
      throw new WarehouseRowError(
        `Run id must have 1 to ${RUN_ID_MAX_CHARS} characters: ${runId.slice(0, 200)}`,
      );
    }
    // Sorted by key: batch numbers must cover the same rows on every attempt of the same run.
    const ordered = orderedRows(this.declaration, runId, rows);
    for (const hour of options.replaceHours ?? []) {
      if (!isHour(hour)) throw new WarehouseRowError(`Run ${runId}: ${hour.slice(0, 64)} is not an hour`);
    }
    const { batchCount, byBatch } =
      options.replaceHours === undefined
        ? {
            batchCount: Math.ceil(ordered.length / this.batchRows),
            byBatch: new Map<number, HourReplacement[]>(),
          }
        : planHourReplacements(this.aggregateRows(ordered), options.replaceHours, this.batchRows);
    const result: UpsertResult = {
      rows: ordered.length,
      batches: 0,
      skippedBatches: 0,
      ...(options.replaceHours && { deletedRows: 0 }),
    };
    const batchNos = Array.from({ length: batchCount }, (_, batchNo) => batchNo);
    // One batch in flight per pooled connection; after a failure none starts, the others finish.
    await mapWithLimit(batchNos, this.connectionLimit, async (batchNo) => {
      const batch = ordered.slice(batchNo * this.batchRows, (batchNo + 1) * this.batchRows);
      const batchLog = log.child({ batchNo });
      const outcome = await this.writeBatch(runId, batchNo, batch, byBatch.get(batchNo) ?? [], batchLog);
      result.batches++;
      if (outcome === 'skipped') result.skippedBatches++;
      else if (result.deletedRows !== undefined) result.deletedRows += outcome.deleted;
      batchLog.debug('warehouse: batch', { outcome, rows: batch.length });
    });
    return result;
  }

  async hoursSummary(hours: readonly string[]): Promise<HourSummary[]> {
    keepsTheAggregate(this.declaration);
    const wanted = [...new Set(hours.map((hour) => HourSchema.parse(hour)))].sort();
    if (wanted.length === 0) return [];
    const found = await this.withConnection('hours summary', this.log, (connection) =>
      this.query<RowDataPacket[]>(
        connection,
        `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, SUM(requests) AS requests, SUM(bytes_sent) AS bytes
         FROM \`${this.table}\` WHERE hour_start IN (?) GROUP BY hour_start`,
        [wanted.map(hourStartDatetime)],
      ),
    );
    const byHour = new Map(found.map((row) => [String(row.hour), row]));
    return wanted.map((hour) => {
      const row = byHour.get(hour);
      return {
        hour,
        requests: row === undefined ? 0 : exactCount(row.requests, `requests of ${hour}`),
        bytes: row === undefined ? 0 : exactCount(row.bytes, `bytes of ${hour}`),
      };
    });
  }

  /**
   * The declared columns of the table as it holds them, in key order, `pageRows` at a time after
   * the key `after` (db-sync's reconciliation reads the whole target this way).
   */
  async readByKey(after: string | number | undefined, pageRows: number): Promise<Record<string, unknown>[]> {
    const key = this.declaration.key[0];
    if (key === undefined || this.declaration.key.length !== 1) {
      throw new ConfigError(`Table ${this.table}: reading by key needs a key of one column`);
    }
    const columns = this.declaration.columns.map((column) => `\`${column.name}\``).join(', ');
    return this.withConnection(`read ${this.table}`, this.log, (connection) =>
      this.query<RowDataPacket[]>(
        connection,
        `SELECT ${columns} FROM \`${this.table}\`${after === undefined ? '' : ` WHERE \`${key.name}\` > ?`} ORDER BY \`${key.name}\` LIMIT ${Number(pageRows)}`,
        after === undefined ? [] : [after],
      ),
    );
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.schemaReady = false;
    if (pool !== undefined) await (await pool.catch(() => undefined))?.end();
  }

  /** Rows of the aggregate, for replacing hours: only a version of the aggregate's declaration has them. */
  private aggregateRows(rows: readonly object[]): readonly AggregateRow[] {
    keepsTheAggregate(this.declaration);
    return rows as readonly AggregateRow[];
  }

  /**
   * One batch through the pool's bulk strategy. In `auto` mode a server that refuses LOAD DATA
   * LOCAL after all (the first batch finds out; its transaction rolled back) switches the pool to
   * INSERT text, and the batch goes again that way.
   */
  private async writeBatch(
    runId: string,
    batchNo: number,
    batch: readonly object[],
    replacements: readonly HourReplacement[],
    log: Logger,
  ): Promise<{ deleted: number } | 'skipped'> {
    for (;;) {
      const strategy = await this.bulkStrategy(log);
      const payload = strategy.payload(this.table, runId, batch);
      const digest = replacementDigest(strategy.digest(this.table, payload), replacements);
      try {
        return await this.withConnection(`batch ${batchNo} of run ${runId}`, log, (connection) =>
          this.loadBatch(connection, strategy, runId, batchNo, batch.length, payload, digest, replacements),
        );
      } catch (error) {
        if (!(error instanceof LoadDataRefusedError) || this.bulkMode !== 'auto') throw error;
        // The batch beside this one may have been refused too, and switched already.
        if ((await this.bulkStrategy(log)) !== this.insert) {
          log.warn('warehouse: the server refused LOAD DATA LOCAL, using INSERT statements', {
            error: error.message,
          });
          this.detected = { pool: this.connectionPool(), strategy: Promise.resolve(this.insert) };
        }
      }
    }
  }

  /**
   * One batch in one transaction: the ledger row claimed (see LEDGER_CLAIM) and read. Same digest →
   * nothing to do; otherwise (new batch, or a re-run of the run id whose staged rows changed) the
   * rows are upserted and the ledger row written, both committed together.
   */
  private async loadBatch(
    connection: PoolConnection,
    strategy: BulkLoadStrategy,
    runId: string,
    batchNo: number,
    rowCount: number,
    payload: string,
    digest: string,
    replacements: readonly HourReplacement[],
  ): Promise<{ deleted: number } | 'skipped'> {
    if (rowCount > 0) await strategy.prepare(connection, runId, payload);
    await this.query(connection, 'START TRANSACTION');
    await this.query(connection, LEDGER_CLAIM, [runId, batchNo]);
    const ledger = await this.query<RowDataPacket[]>(connection, LEDGER_READ, [runId, batchNo]);
    if (ledger[0]?.digest === digest) {
      await this.query(connection, 'ROLLBACK');
      return 'skipped';
    }
    const deleted = await this.deleteVanishedGroups(connection, replacements);
    if (rowCount > 0) await strategy.write(connection, payload);
    await this.query(connection, LEDGER_WRITE, [runId, batchNo, rowCount, digest]);
    await this.query(connection, 'COMMIT');
    return { deleted };
  }

  /**
   * Inside the batch's transaction: deletes the groups each replaced hour holds that its new
   * aggregate lacks (a raw file replaced at the source, a host that disappeared). The hour's keys
   * are read without locking: groups this write upserts are never deleted, and a group that
   * vanished stays vanished, so only the deleted rows are locked.
   */
  private async deleteVanishedGroups(
    connection: PoolConnection,
    replacements: readonly HourReplacement[],
  ): Promise<number> {
    let deleted = 0;
    for (const { hour, groups } of replacements) {
      const hourStart = hourStartDatetime(hour);
      const existing = await this.query<RowDataPacket[]>(
        connection,
        `SELECT host, status FROM \`${this.table}\` WHERE hour_start = ?`,
        [hourStart],
      );
      const vanished = existing.filter((row) => !groups.has(groupKey(String(row.host), Number(row.status))));
      for (let start = 0; start < vanished.length; start += DELETE_CHUNK_ROWS) {
        const chunk = vanished.slice(start, start + DELETE_CHUNK_ROWS);
        const result = await this.query<ResultSetHeader>(
          connection,
          `DELETE FROM \`${this.table}\` WHERE hour_start = ? AND (${chunk.map(() => '(host = ? AND status = ?)').join(' OR ')})`,
          [hourStart, ...chunk.flatMap((row) => [String(row.host), Number(row.status)])],
        );
        deleted += result.affectedRows;
      }
    }
    return deleted;
  }

  /**
   * The strategy for this pool's server. `auto` asks the server once per pool whether it takes
   * LOAD DATA LOCAL (`@@local_infile`); the first batch's attempt confirms it (writeBatch).
   */
  private bulkStrategy(log: Logger): Promise<BulkLoadStrategy> {
    if (this.bulkMode === 'insert') return Promise.resolve(this.insert);
    if (this.bulkMode === 'load-data') return Promise.resolve(this.loadData);
    const pool = this.connectionPool();
    if (this.detected === undefined || this.detected.pool !== pool) {
      const strategy = this.withConnection('bulk mode', log, async (connection) => {
        const [answer] = await this.query<RowDataPacket[]>(
          connection,
          'SELECT @@local_infile AS local_infile',
        );
        const allowed = Number(answer?.local_infile) === 1 && loadDataCarries(this.declaration);
        return allowed ? this.loadData : this.insert;
      });
      const detected = { pool, strategy };
      this.detected = detected;
      strategy.then(
        (chosen) => log.info('warehouse: bulk mode', { bulkMode: chosen.mode }),
        () => {
          // A failed detection is not kept: the next batch asks again.
          if (this.detected === detected) this.detected = undefined;
        },
      );
    }
    return this.detected.strategy;
  }

  /** INSERT text: every server takes it; the server parses every value out of SQL. */
  private insertStrategy(): BulkLoadStrategy {
    return {
      mode: 'insert',
      payload: (table, runId, rows) =>
        upsertStatement(table, runId, rows, this.declaration, this.bookkeeping),
      // The statement names the table and the run id: its SHA-256 alone tells batches apart.
      digest: (_table, statement) => createHash('sha256').update(statement).digest('hex'),
      prepare: async () => {},
      write: async (connection, statement) => {
        await this.query(connection, statement);
      },
    };
  }

  /**
   * LOAD DATA LOCAL of the batch's TSV into a session TEMPORARY copy of the table, then, in the
   * batch's transaction, one INSERT … SELECT … ON DUPLICATE KEY UPDATE from it: the server reads
   * plain text fields instead of parsing SQL (measured in bench/README.md). The temporary table is
   * the session's own (no other session sees it, a destroyed connection takes it along) and is
   * emptied before each batch.
   *
   * It is a MEMORY table, not InnoDB: measured, the server's CPU per 270,000 rows drops from 1.4 s
   * to 1.0 s. MEMORY is not transactional, so it is filled before START TRANSACTION, as a statement
   * of its own (MySQL with GTIDs refuses non-transactional changes inside a transaction); the
   * transaction itself changes only InnoDB rows, and holds its locks only for the INSERT … SELECT.
   * A MEMORY row is fixed-width (~1.7 KB here: VARCHAR(255) utf8mb4 takes all 1,020 bytes), so
   * 5,000 rows take ~9 MB: the session's `max_heap_table_size` is raised from the 16 MB default.
   */
  private loadDataStrategy(): BulkLoadStrategy {
    // `$` keeps the name apart from every table name the options accept (IDENTIFIER).
    const staging = '`etl$batch_rows`';
    const target = `\`${this.table}\``;
    /** Sessions (mysql2's connection under the pool's wrapper) that already hold the temporary table. */
    const prepared = new WeakSet<object>();
    return {
      mode: 'load-data',
      payload: (_table, _runId, rows) => batchTsv(rows, this.declaration),
      // The run id is the ledger row's key; the table is not in the text, so it goes in here.
      digest: (table, tsv) => createHash('sha256').update(`${table}\n`).update(tsv).digest('hex'),
      prepare: async (connection, runId, tsv) => {
        if (prepared.has(connection.connection)) {
          await this.query(connection, `TRUNCATE TABLE ${staging}`);
        } else {
          await this.query(connection, `SET SESSION max_heap_table_size = ${STAGING_TABLE_MAX_BYTES}`);
          await this.query(connection, `DROP TEMPORARY TABLE IF EXISTS ${staging}`);
          await this.query(connection, `CREATE TEMPORARY TABLE ${staging} LIKE ${target}`);
          await this.query(connection, `ALTER TABLE ${staging} ENGINE=MEMORY`);
          prepared.add(connection.connection);
        }
        const loaded = await this.loadDataLocal(connection, staging, runId, tsv);
        if (loaded.warningStatus !== 0) {
          // LOCAL turns errors into warnings (the client cannot be stopped mid-file): a value the
          // server truncated or coerced is refused here, before the transaction starts.
          const warnings = await this.query<RowDataPacket[]>(connection, 'SHOW WARNINGS LIMIT 1');
          throw new WarehouseWriteError(
            `LOAD DATA of the batch gave ${loaded.warningStatus} warning(s), first: ${String(warnings[0]?.Message)}`,
          );
        }
      },
      write: async (connection) => {
        await this.query(
          connection,
          `INSERT INTO ${target} SELECT * FROM ${staging}\n${upsertAssignments(this.declaration, `${target}.`, this.bookkeeping)}`,
        );
      },
    };
  }

  /**
   * Streams `tsv` as the batch file. With LOCAL the server names the file it wants: only the one
   * named in the statement is served.
   */
  private async loadDataLocal(
    connection: PoolConnection,
    table: string,
    runId: string,
    tsv: string,
  ): Promise<ResultSetHeader> {
    const options: QueryOptions = {
      sql: `LOAD DATA LOCAL INFILE '${BATCH_FILE}' INTO TABLE ${table} CHARACTER SET utf8mb4
FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'
(${loadDataColumns(this.declaration)})${this.bookkeeping ? ` SET updated_at = UTC_TIMESTAMP(3), loaded_by_run = ${escapeSql(runId)}` : ''}`,
      infileStreamFactory: (path: string): Readable => {
        if (path === BATCH_FILE) return Readable.from([Buffer.from(tsv)]);
        const refused = new PassThrough();
        process.nextTick(() =>
          refused.destroy(new Error(`the server asked for a file not offered: ${path}`)),
        );
        return refused;
      },
    };
    try {
      return await this.query<ResultSetHeader>(connection, options);
    } catch (error) {
      const errno = asMysqlError(error)?.errno;
      if (errno !== undefined && LOAD_DATA_REFUSED_ERRNOS.has(errno)) {
        throw new LoadDataRefusedError(
          `the server refused LOAD DATA LOCAL (turn local_infile on, or set the bulk mode to insert): ${describe(error)}`,
        );
      }
      throw error;
    }
  }

  /**
   * Every statement goes through here, with the query timeout: without one, a connection whose
   * server stopped answering (failover, a NAT or firewall dropping the flow without a reset) would
   * hold the write until the Lambda itself times out. After a timeout the caller must destroy the
   * connection: the unanswered statement still heads its queue.
   *
   * Not mysql2's own `timeout` query option: its timer is cleared when the answer or an error
   * packet arrives, not when the connection dies, so every statement cut by a dropped connection
   * left a timer running for the full timeout (measured: the fault tests' process stayed alive
   * 44 s after its last test).
   */
  private async query<T extends QueryResult>(
    connection: PoolConnection,
    sql: string | QueryOptions,
    values?: unknown[],
    timeoutMs = this.queryTimeoutMs,
  ): Promise<T> {
    const answer = connection.query<T>(typeof sql === 'string' ? { sql } : sql, values);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QueryTimeoutError(`No answer from MySQL within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      const [result] = await Promise.race([answer, timeout]);
      return result;
    } finally {
      clearTimeout(timer);
      // After a timeout the answer may still fail, when the connection is destroyed: not unhandled.
      answer.catch(() => undefined);
    }
  }

  /**
   * Runs `work` on a pooled connection. Transient failures: the connection is destroyed (never
   * handed out again in an unknown transaction state), and `work` runs again on a fresh one.
   * A refused login: the secret is read again and the pool rebuilt, once per call. A batch that
   * took the pool just before another batch's refused login retired it ("Pool is closed", or its
   * connection ended under it) goes again on the new pool: that is not a failure of its own.
   */
  private async withConnection<T>(
    operation: string,
    log: Logger,
    work: (connection: PoolConnection) => Promise<T>,
  ): Promise<T> {
    let refreshedCredentials = false;
    let retiredPools = 0;
    for (let attempt = 0; ; ) {
      const pool = this.connectionPool();
      let connection: PoolConnection | undefined;
      try {
        connection = await (await pool).getConnection();
        const result = await work(connection);
        connection.release();
        return result;
      } catch (error) {
        if (connection !== undefined) {
          // A live connection rolls back now (a lock wait timeout undoes only the statement, not
          // the transaction). Not a dead one: the server rolled its session back, and a ROLLBACK
          // on a half-open socket would only wait out another timeout. Nor a stalled one: its
          // unanswered statement still heads mysql2's queue, so a ROLLBACK would never be sent.
          // Destroying the connection closes the socket; the server rolls back when it sees that.
          const mysql = asMysqlError(error);
          if (mysql?.fatal !== true && mysql?.code !== QUERY_TIMEOUT_CODE) {
            await this.query(connection, 'ROLLBACK').catch(() => undefined);
          }
          connection.destroy();
        }
        if (this.retired.has(pool) && retiredPools++ < MAX_RETIRED_POOLS) {
          await this.rebuilding;
          continue;
        }
        if (isAccessDenied(error)) {
          if (refreshedCredentials) {
            throw new RetryableWriteError(
              `${operation}: MySQL refused the credentials even after re-reading the secret (rotation in progress?): ${describe(error)}`,
            );
          }
          refreshedCredentials = true;
          log.warn('warehouse: login refused, re-reading the database secret', { operation });
          await this.rebuildPool(pool);
          continue;
        }
        if (!isTransient(error)) {
          if (error instanceof EtlError) throw error;
          throw new WarehouseWriteError(`${operation}: ${describe(error)}`);
        }
        attempt++;
        if (attempt >= this.backoff.maxAttempts) {
          throw new RetryableWriteError(`${operation} failed ${attempt} time(s); last: ${describe(error)}`);
        }
        log.warn('warehouse: transient failure, retrying on a fresh connection', {
          operation,
          attempt,
          error: describe(error),
        });
        await this.wait(fullJitterDelay(this.backoff, attempt - 1));
      }
    }
  }

  private connectionPool(): Promise<Pool> {
    if (this.pool === undefined) {
      const creating = this.createPool();
      this.pool = creating;
      // A failed creation (secret unreadable) is not kept: the next call tries again.
      creating.catch(() => {
        if (this.pool === creating) this.pool = undefined;
      });
    }
    return this.pool;
  }

  private async createPool(): Promise<Pool> {
    return createMysqlPool(await this.credentials.get(), {
      connectionLimit: this.connectionLimit,
      ...(this.options.ssl !== undefined && { ssl: this.options.ssl }),
    });
  }

  /**
   * Re-reads the secret and replaces the pool whose login was refused. Batches in flight that
   * were refused by the same pool share one replacement: whoever comes second finds the pool
   * already gone and just takes a connection from the new one.
   */
  private async rebuildPool(refused: Promise<Pool>): Promise<void> {
    if (this.pool !== refused) {
      await this.rebuilding;
      return;
    }
    this.pool = undefined;
    this.retired.add(refused);
    const rebuilding = (async () => {
      await this.credentials.refresh();
      await (await refused.catch(() => undefined))?.end().catch(() => undefined);
    })();
    this.rebuilding = rebuilding;
    try {
      await rebuilding;
    } finally {
      if (this.rebuilding === rebuilding) this.rebuilding = undefined;
    }
  }
}

/**
 * The rows in key order, checked against the table's declaration (shared/core/table-values.ts):
 * a value its column cannot hold (a host longer than VARCHAR(255), which strict mode refuses; a
 * status outside 0–999; an hour that does not exist, 2024-02-30T00) and two rows MySQL would fold
 * into one key (utf8mb4_bin pads, so trailing spaces do not tell keys apart) fail here, before
 * any batch is sent, with the row's key and not the row.
 *
 * Each row's key is built once. Rows that already come in key order (readRun delivers them so)
 * are only verified, not sorted. When no string key value ends in a space, two rows share a
 * warehouse key exactly when they share a `rowKey` (fixed-width parts around at most one string),
 * so duplicates are neighbours in the sorted list and need no Set of every key.
 */
function orderedRows(table: TableDeclaration, runId: string, input: readonly object[]): readonly object[] {
  const rowKey = (row: object) => rowKeyOf(table, row);
  const stringKeys = table.key.filter(isStringColumn);
  let padded = false;
  let sorted = true;
  const rows = input.map((row) => {
    try {
      return canonicalRow(table, row);
    } catch (error) {
      if (!(error instanceof TableValueError)) throw error;
      throw new WarehouseRowError(
        `Run ${runId}: ${valueProblem(error)} (table ${table.name}, row ${rowKey(row).slice(0, 80)})`,
        {
          cause: error,
        },
      );
    }
  });
  let keys = rows.map(rowKey);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index]! as Readonly<Record<string, unknown>>;
    for (const column of stringKeys) if (String(row[column.field]).endsWith(' ')) padded = true;
    if (index > 0 && keys[index - 1]! > keys[index]!) sorted = false;
  }
  let ordered = rows;
  if (!sorted) {
    const order = keys.map((_, index) => index);
    order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
    ordered = order.map((index) => rows[index]!);
    keys = order.map((index) => keys[index]!);
  }
  if (padded) {
    const seen = new Set<string>();
    for (const row of ordered) {
      const values = row as Readonly<Record<string, unknown>>;
      const key = table.key
        .map((column) =>
          isStringColumn(column)
            ? String(values[column.field]).replace(/ +$/, '')
            : String(values[column.field]),
        )
        .join('\n');
      if (seen.has(key)) throw duplicateKey(table, runId, row);
      seen.add(key);
    }
  } else {
    for (let index = 1; index < keys.length; index++) {
      if (keys[index - 1] === keys[index]) throw duplicateKey(table, runId, ordered[index]!);
    }
  }
  return ordered;
}

/**
 * Another version of the aggregate's declaration must keep what this writer reads by name: every
 * column of the aggregate with its type, and its key.
 */
function keepsTheAggregate(declaration: TableDeclaration): void {
  for (const column of cloudfrontHourly.columns) {
    const kept = declaration.columns.find((other) => other.name === column.name);
    if (kept === undefined || kept.type !== column.type || kept.field !== column.field) {
      throw new ConfigError(
        `Table ${declaration.name} must keep column ${column.name} (${column.type}) of ${cloudfrontHourly.name}`,
      );
    }
  }
  if (
    declaration.key.map((column) => column.name).join() !==
    cloudfrontHourly.key.map((column) => column.name).join()
  ) {
    throw new ConfigError(`Table ${declaration.name} must keep the key of ${cloudfrontHourly.name}`);
  }
}

function isHour(hour: string): boolean {
  try {
    hourStart(hour);
    return true;
  } catch {
    return false;
  }
}

function duplicateKey(table: TableDeclaration, runId: string, row: object): WarehouseRowError {
  return new WarehouseRowError(
    `Run ${runId}: two rows share the warehouse key of ${rowKeyOf(table, row)} (table ${table.name})`,
  );
}
