import { createHash } from 'node:crypto';
import {
  createPool,
  type Pool,
  type PoolConnection,
  type PoolOptions,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import type { DatabaseCredentialsSource } from '#shared/adapters/secrets';
import { type AggregateRow, rowKey } from '#shared/core/aggregate-row';
import { type BackoffPolicy, fullJitterDelay, sleep as realSleep, type Sleep } from '#shared/core/backoff';
import { ConfigError, EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { HourSchema, hourStart } from '#shared/core/window';

/**
 * The write to MySQL failed for a reason that may pass (connection dropped, server restarting or
 * failing over, deadlock, lock wait timeout, credentials mid-rotation) and every retry here was
 * used up. The state machine's Retry matches this name.
 */
export class RetryableWriteError extends EtlError {}
/** MySQL refused a statement for a reason a retry cannot fix (schema, data, rights). */
export class WarehouseWriteError extends EtlError {}
/** A row cannot be written as it is: a host longer than the column, two rows with one key. */
export class WarehouseRowError extends EtlError {}

/** What the write and report steps need from the warehouse. */
export interface WarehouseWriter {
  /** Creates the target table and the load ledger if they do not exist. */
  ensureSchema(): Promise<void>;
  /**
   * Upserts the run's rows in batches, each in one transaction with its ledger row: a batch whose
   * ledger row holds the same content is skipped, so a retried write changes nothing.
   */
  upsert(runId: string, rows: readonly AggregateRow[], options?: { log?: Logger }): Promise<UpsertResult>;
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
}

export interface HourSummary {
  hour: string;
  requests: number;
  bytes: number;
}

export interface MysqlWarehouseOptions {
  /** Target table (default `cloudfront_hourly`). */
  table?: string;
  /** Rows per INSERT and per transaction (default 1,000). */
  batchRows?: number;
  /**
   * Connections in the pool (default 2). Each Lambda container holds its own pool, so the database
   * sees up to reserved concurrency × this; keep both small (RDS `max_connections` scales with memory).
   */
  connectionLimit?: number;
  /** TLS for the connection, e.g. `'Amazon RDS'` (mysql2's bundled RDS CA profile). */
  ssl?: PoolOptions['ssl'];
  /** Attempts per batch on transient errors before RetryableWriteError. */
  backoff?: BackoffPolicy;
  sleep?: Sleep;
  log?: Logger;
}

export const DEFAULT_TABLE = 'cloudfront_hourly';
export const LEDGER_TABLE = 'etl_load_ledger';
/**
 * 1,000 rows × 12 values is 12,000 values (~150 KB of SQL): far under `max_allowed_packet` (64 MB
 * on MySQL 8, 16 MB on MariaDB) and the 65,535-placeholder limit of prepared statements, and a
 * transaction short enough to hold its row locks only briefly.
 */
export const DEFAULT_BATCH_ROWS = 1_000;
export const DEFAULT_WRITE_BACKOFF: BackoffPolicy = { baseDelayMs: 200, maxDelayMs: 5_000, maxAttempts: 4 };
/** VARCHAR(255): hosts are DNS names (at most 253 characters); longer values are refused, not cut. */
const HOST_MAX_CHARS = 255;
/** VARCHAR(128) run ids: Step Functions execution names, the default run id, take at most 80. */
const RUN_ID_MAX_CHARS = 128;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,63}$/;

/**
 * Error codes worth another attempt on a fresh connection. mysql2 marks connection-level failures
 * `fatal` as well; both are checked.
 */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
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

/**
 * The target table. `host` is compared byte for byte (utf8mb4_bin): Athena groups hosts
 * case-sensitively, and a case-insensitive collation (RDS MySQL 8's default utf8mb4_0900_ai_ci)
 * would fold two of its rows into one key, the second overwriting the first. The primary key is
 * 1,020 + 5 + 2 bytes, under InnoDB's 3,072-byte index limit.
 */
export function targetTableDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS \`${table}\` (
  hour_start DATETIME NOT NULL COMMENT 'UTC start of the hour',
  host VARCHAR(${HOST_MAX_CHARS}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  status SMALLINT NOT NULL,
  requests BIGINT NOT NULL,
  bytes_sent BIGINT NOT NULL,
  client_errors BIGINT NOT NULL,
  server_errors BIGINT NOT NULL,
  mean_time_taken DOUBLE NULL COMMENT 'seconds',
  p95_time_taken DOUBLE NULL COMMENT 'seconds',
  distinct_client_ips BIGINT NOT NULL,
  updated_at DATETIME(3) NOT NULL COMMENT 'UTC; changes only when a value changes',
  loaded_by_run VARCHAR(${RUN_ID_MAX_CHARS}) NOT NULL COMMENT 'run that last changed the row',
  PRIMARY KEY (hour_start, host, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/**
 * One row per loaded batch, written in the batch's own transaction: after a commit the ledger and
 * the data agree, so a write retried after an unknown outcome (connection lost during COMMIT) can
 * tell what is already in. `row_count`, not `rows`: ROWS is a reserved word since MySQL 8.0.2.
 */
export function ledgerTableDdl(): string {
  return `CREATE TABLE IF NOT EXISTS \`${LEDGER_TABLE}\` (
  run_id VARCHAR(${RUN_ID_MAX_CHARS}) NOT NULL,
  batch_no INT NOT NULL,
  row_count INT NOT NULL,
  digest CHAR(64) NOT NULL COMMENT 'SHA-256 of the batch rows: same content, same digest',
  loaded_at DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (run_id, batch_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

const VALUE_COLUMNS = [
  'requests',
  'bytes_sent',
  'client_errors',
  'server_errors',
  'mean_time_taken',
  'p95_time_taken',
  'distinct_client_ips',
] as const;

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` for `rowCount` rows. `VALUES(col)` is deprecated in MySQL
 * 8.0.20+ in favour of a row alias, which MariaDB does not parse; VALUES() runs on both.
 * `updated_at` and `loaded_by_run` are assigned first, while the value columns still hold the old
 * values (MySQL applies the assignments left to right), and change only if some value changes: a
 * re-run that finds the same numbers leaves the row untouched.
 */
export function upsertSql(table: string, rowCount: number): string {
  const tuple = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), ?)';
  const unchanged = VALUE_COLUMNS.map((column) => `\`${column}\` <=> VALUES(\`${column}\`)`).join(' AND ');
  return `INSERT INTO \`${table}\` (hour_start, host, status, ${VALUE_COLUMNS.join(', ')}, updated_at, loaded_by_run)
VALUES ${Array.from({ length: rowCount }, () => tuple).join(',\n')}
ON DUPLICATE KEY UPDATE
  updated_at = IF(${unchanged}, updated_at, VALUES(updated_at)),
  loaded_by_run = IF(${unchanged}, loaded_by_run, VALUES(loaded_by_run)),
  ${VALUE_COLUMNS.map((column) => `\`${column}\` = VALUES(\`${column}\`)`).join(',\n  ')}`;
}

function upsertValues(runId: string, rows: readonly AggregateRow[]): (string | number | null)[] {
  return rows.flatMap((row) => [
    hourStartDatetime(row.hour),
    row.host,
    row.status,
    row.requests,
    row.bytesSent,
    row.clientErrors,
    row.serverErrors,
    row.meanTimeTaken,
    row.p95TimeTaken,
    row.distinctClientIps,
    runId,
  ]);
}

/** SHA-256 of a batch's rows in order: equal digests mean the ledger's batch holds these very rows. */
function batchDigest(rows: readonly AggregateRow[]): string {
  const hash = createHash('sha256');
  for (const row of rows) {
    hash.update(
      JSON.stringify([
        row.hour,
        row.host,
        row.status,
        row.requests,
        row.bytesSent,
        row.clientErrors,
        row.serverErrors,
        row.meanTimeTaken,
        row.p95TimeTaken,
        row.distinctClientIps,
      ]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

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

/**
 * The warehouse in (RDS) MySQL through mysql2's promise pool. The pool is small and bounded
 * (two connections by default), created lazily from the credentials source on first use and kept
 * for the container's life: build one MysqlWarehouse per container, at module top level.
 *
 * Faults: a dropped connection, deadlock or failover rolls the batch's transaction back (the
 * server does so when the session dies) and the batch is retried on a fresh connection with capped
 * full-jitter backoff; after the last attempt RetryableWriteError. A refused login
 * (ER_ACCESS_DENIED_ERROR) re-reads the secret once (rotation) and rebuilds the pool.
 *
 * Credentials never reach a log or an error message: mysql2's "Access denied for user 'etl'@…"
 * names the user, never the password, and only code and message of its errors are passed on.
 */
export class MysqlWarehouse implements WarehouseWriter {
  readonly table: string;
  private readonly batchRows: number;
  private readonly backoff: BackoffPolicy;
  private readonly wait: Sleep;
  private readonly log: Logger;
  private pool?: Promise<Pool>;
  private schemaReady = false;

  constructor(
    private readonly credentials: DatabaseCredentialsSource,
    private readonly options: MysqlWarehouseOptions = {},
  ) {
    this.table = options.table ?? DEFAULT_TABLE;
    if (!IDENTIFIER.test(this.table)) {
      throw new ConfigError(`Warehouse table name ${this.table} must match ${IDENTIFIER.source}`);
    }
    this.batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
    if (!Number.isInteger(this.batchRows) || this.batchRows < 1 || this.batchRows > 5_000) {
      throw new ConfigError(`batchRows must be an integer from 1 to 5,000, not ${this.batchRows}`);
    }
    this.backoff = options.backoff ?? DEFAULT_WRITE_BACKOFF;
    this.wait = options.sleep ?? realSleep;
    this.log = options.log ?? silent;
  }

  async ensureSchema(): Promise<void> {
    if (this.schemaReady) return;
    await this.withConnection('ensure schema', this.log, async (connection) => {
      await connection.query(targetTableDdl(this.table));
      await connection.query(ledgerTableDdl());
    });
    this.schemaReady = true;
  }

  async upsert(
    runId: string,
    rows: readonly AggregateRow[],
    options: { log?: Logger } = {},
  ): Promise<UpsertResult> {
    const log = options.log ?? this.log;
    if (runId.length === 0 || runId.length > RUN_ID_MAX_CHARS) {
      throw new WarehouseRowError(
        `Run id must have 1 to ${RUN_ID_MAX_CHARS} characters: ${runId.slice(0, 200)}`,
      );
    }
    // Sorted by key: batch numbers must cover the same rows on every attempt of the same run.
    const ordered = [...rows].sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));
    checkRows(runId, ordered);
    const result: UpsertResult = { rows: ordered.length, batches: 0, skippedBatches: 0 };
    for (let start = 0, batchNo = 0; start < ordered.length; start += this.batchRows, batchNo++) {
      const batch = ordered.slice(start, start + this.batchRows);
      const batchLog = log.child({ batchNo });
      const outcome = await this.withConnection(`batch ${batchNo} of run ${runId}`, batchLog, (connection) =>
        this.loadBatch(connection, runId, batchNo, batch),
      );
      result.batches++;
      if (outcome === 'skipped') result.skippedBatches++;
      batchLog.debug('warehouse: batch', { outcome, rows: batch.length });
    }
    return result;
  }

  async hoursSummary(hours: readonly string[]): Promise<HourSummary[]> {
    const wanted = [...new Set(hours.map((hour) => HourSchema.parse(hour)))].sort();
    if (wanted.length === 0) return [];
    const found = await this.withConnection('hours summary', this.log, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, SUM(requests) AS requests, SUM(bytes_sent) AS bytes
         FROM \`${this.table}\` WHERE hour_start IN (?) GROUP BY hour_start`,
        [wanted.map(hourStartDatetime)],
      );
      return rows;
    });
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

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.schemaReady = false;
    if (pool !== undefined) await (await pool.catch(() => undefined))?.end();
  }

  /**
   * One batch in one transaction. The ledger row is locked first (FOR UPDATE): a concurrent writer
   * of the same batch waits here, then sees the committed digest and skips. Same digest → nothing
   * to do; otherwise (new batch, or a re-run of the run id whose staged rows changed) the rows are
   * upserted and the ledger row written, both committed together.
   */
  private async loadBatch(
    connection: PoolConnection,
    runId: string,
    batchNo: number,
    rows: readonly AggregateRow[],
  ): Promise<'loaded' | 'skipped'> {
    const digest = batchDigest(rows);
    await connection.beginTransaction();
    const [ledger] = await connection.query<RowDataPacket[]>(
      `SELECT digest FROM \`${LEDGER_TABLE}\` WHERE run_id = ? AND batch_no = ? FOR UPDATE`,
      [runId, batchNo],
    );
    if (ledger[0]?.digest === digest) {
      await connection.rollback();
      return 'skipped';
    }
    await connection.query<ResultSetHeader>(upsertSql(this.table, rows.length), upsertValues(runId, rows));
    await connection.query(
      `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
       VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))
       ON DUPLICATE KEY UPDATE row_count = VALUES(row_count), digest = VALUES(digest), loaded_at = VALUES(loaded_at)`,
      [runId, batchNo, rows.length, digest],
    );
    await connection.commit();
    return 'loaded';
  }

  /**
   * Runs `work` on a pooled connection. Transient failures: the connection is destroyed (never
   * handed out again in an unknown transaction state), and `work` runs again on a fresh one.
   * A refused login: the secret is read again and the pool rebuilt, once per call.
   */
  private async withConnection<T>(
    operation: string,
    log: Logger,
    work: (connection: PoolConnection) => Promise<T>,
  ): Promise<T> {
    let refreshedCredentials = false;
    for (let attempt = 0; ; ) {
      let connection: PoolConnection | undefined;
      try {
        connection = await (await this.connectionPool()).getConnection();
        const result = await work(connection);
        connection.release();
        return result;
      } catch (error) {
        if (connection !== undefined) {
          // A live connection rolls back now (a lock wait timeout undoes only the statement, not
          // the transaction); a dead one's session was rolled back by the server, and a ROLLBACK
          // sent on a half-open socket could wait forever (mysql2 has no command timeout).
          if (asMysqlError(error)?.fatal !== true) await connection.rollback().catch(() => undefined);
          connection.destroy();
        }
        if (isAccessDenied(error)) {
          if (refreshedCredentials) {
            throw new RetryableWriteError(
              `${operation}: MySQL refused the credentials even after re-reading the secret (rotation in progress?): ${describe(error)}`,
            );
          }
          refreshedCredentials = true;
          log.warn('warehouse: login refused, re-reading the database secret', { operation });
          await this.rebuildPool();
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
    const credentials = await this.credentials.get();
    return createPool({
      host: credentials.host,
      port: credentials.port,
      user: credentials.username,
      password: credentials.password,
      database: credentials.dbname,
      connectionLimit: this.options.connectionLimit ?? 2,
      // Idle connections go before RDS's wait_timeout or a NAT drops them silently.
      maxIdle: this.options.connectionLimit ?? 2,
      idleTimeout: 60_000,
      enableKeepAlive: true,
      connectTimeout: 10_000,
      // BIGINT and DECIMAL (SUM) as strings: converted only where they are exact.
      supportBigNumbers: true,
      bigNumberStrings: true,
      // DATETIME as text: no conversion through the Lambda's local time zone.
      dateStrings: true,
      charset: 'utf8mb4',
      ...(this.options.ssl !== undefined && { ssl: this.options.ssl }),
    });
  }

  private async rebuildPool(): Promise<void> {
    const old = this.pool;
    this.pool = undefined;
    await this.credentials.refresh();
    if (old !== undefined) await (await old.catch(() => undefined))?.end().catch(() => undefined);
  }
}

/**
 * Rows MySQL would refuse (a host longer than VARCHAR(255) in strict mode) or fold together
 * (two rows with one key; utf8mb4_bin pads, so trailing spaces do not tell keys apart) fail here,
 * before any batch is sent, with the row's key and not the row.
 */
function checkRows(runId: string, rows: readonly AggregateRow[]): void {
  const keys = new Set<string>();
  for (const row of rows) {
    if ([...row.host].length > HOST_MAX_CHARS) {
      throw new WarehouseRowError(
        `Run ${runId}: host ${row.host.slice(0, 64)}… of ${row.hour} is longer than ${HOST_MAX_CHARS} characters`,
      );
    }
    const key = `${row.hour}\n${row.host.replace(/ +$/, '')}\n${row.status}`;
    if (keys.has(key)) {
      throw new WarehouseRowError(`Run ${runId}: two rows share the warehouse key of ${rowKey(row)}`);
    }
    keys.add(key);
  }
}
