import type { Pool, PoolOptions, RowDataPacket } from 'mysql2/promise';
import { createMysqlPool } from '#shared/adapters/mysql-pool';
import type { DatabaseCredentialsSource } from '#shared/adapters/secrets';
import { EtlError } from '#shared/core/errors';
import type { SyncTable } from '#shared/core/sync-config';
import { CURSOR_KEY, CURSOR_WATERMARK, type SyncCursor } from '#shared/core/sync-rows';

/** What db-sync reads from its source database (the port the extract step uses). */
export interface SyncSource {
  /**
   * Up to `limit` records changed after `after` (all from the start without it), in keyset order
   * of (watermark, key); each holds the mapped source columns by name and the cursor's values
   * under CURSOR_WATERMARK and CURSOR_KEY.
   */
  readChanged(
    table: SyncTable,
    after: SyncCursor | undefined,
    limit: number,
  ): Promise<Record<string, unknown>[]>;
  /** Up to `limit` records after key `after`, in key order (the reconciliation reads the whole table). */
  readByKey(
    table: SyncTable,
    after: string | number | undefined,
    limit: number,
  ): Promise<Record<string, unknown>[]>;
  /** Rows whose watermark is NULL: an incremental copy would never see them. */
  nullWatermarks(table: SyncTable): Promise<number>;
  close(): Promise<void>;
}

/** The source refused or lost a read that may pass on another attempt (the state machine retries it). */
export class RetryableReadError extends EtlError {}
/** The source refused a read a retry cannot fix (a missing table or column, rights). */
export class SyncSourceError extends EtlError {}

const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/**
 * The source database through one small mysql2 pool (one connection: the extract reads one page
 * at a time), sessions in UTC so TIMESTAMP columns read as UTC. The pool is built on first use
 * from the source's own secret and kept for the container's life.
 */
export class MysqlSyncSource implements SyncSource {
  private pool?: Pool;

  constructor(
    private readonly credentials: DatabaseCredentialsSource,
    private readonly options: { ssl?: PoolOptions['ssl']; connectionLimit?: number } = {},
  ) {}

  readChanged(table: SyncTable, after: SyncCursor | undefined, limit: number) {
    const watermark = quote(table.watermark);
    const key = quote(table.key.source);
    // Not `(w, k) > (?, ?)`: MySQL uses an index on (w, k) for the expanded form on every version.
    const where = after === undefined ? '' : `WHERE ${watermark} > ? OR (${watermark} = ? AND ${key} > ?)`;
    return this.select(
      table,
      `SELECT ${this.columns(table)}, ${watermark} AS ${CURSOR_WATERMARK}, ${key} AS ${CURSOR_KEY}
       FROM ${quote(table.sourceTable)} ${where} ORDER BY ${watermark}, ${key} LIMIT ${limitOf(limit)}`,
      after === undefined ? [] : [after.watermark, after.watermark, after.key],
    );
  }

  readByKey(table: SyncTable, after: string | number | undefined, limit: number) {
    const key = quote(table.key.source);
    return this.select(
      table,
      `SELECT ${this.columns(table)}, ${key} AS ${CURSOR_KEY} FROM ${quote(table.sourceTable)}
       ${after === undefined ? '' : `WHERE ${key} > ?`} ORDER BY ${key} LIMIT ${limitOf(limit)}`,
      after === undefined ? [] : [after],
    );
  }

  async nullWatermarks(table: SyncTable): Promise<number> {
    const [row] = await this.select(
      table,
      `SELECT COUNT(*) AS count FROM ${quote(table.sourceTable)} WHERE ${quote(table.watermark)} IS NULL`,
      [],
    );
    return Number(row?.count ?? 0);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private columns(table: SyncTable): string {
    return table.columns.map(({ source }) => quote(source)).join(', ');
  }

  private async select(table: SyncTable, sql: string, values: unknown[]): Promise<Record<string, unknown>[]> {
    this.pool ??= createMysqlPool(await this.credentials.get(), {
      connectionLimit: this.options.connectionLimit ?? 1,
      utcSessions: true,
      ...(this.options.ssl !== undefined && { ssl: this.options.ssl }),
    });
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(sql, values);
      return rows;
    } catch (error) {
      const { code, message, fatal } = error as { code?: string; message?: string; fatal?: boolean };
      const text = `source table ${table.sourceTable}: ${code ?? ''} ${message ?? String(error)}`;
      if (fatal === true || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'ER_CON_COUNT_ERROR') {
        throw new RetryableReadError(text);
      }
      throw new SyncSourceError(text);
    }
  }
}

function limitOf(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, not ${limit}`);
  return limit;
}
