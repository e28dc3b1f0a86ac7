import type { Logger } from '#shared/core/log';
import { addColumnsStatement, createTableDdl, type Migration } from '#shared/core/table-sql';
import { RetryableWriteError } from '#shared/core/warehouse-errors';
import { schemaVersion } from '#shared/tables/writer-tables';

/**
 * Applies declared tables' migrations (shared/core/table-sql.ts `migrationsOf`) to a database,
 * forward only, under a server-wide lock, each recorded in `etl_schema_version`
 * (docs/tables.md#migrations).
 *
 * - The lock (`GET_LOCK`) is held by the session for the whole run: two writers starting at once
 *   take turns, and the second finds the first's versions recorded, so each migration is applied
 *   once. A session that dies releases it (the server does), so a killed migrator blocks nobody.
 * - MySQL commits every DDL statement on its own: a migrator that dies between an ALTER and the
 *   version row leaves a column without its record. Each step is therefore safe to repeat: the
 *   table is created IF NOT EXISTS, and only the columns the table still lacks are added.
 * - Version 1 creates the table IF NOT EXISTS: a database whose tables were created before
 *   migrations existed takes them as version 1 unchanged, with every row.
 */

/** One statement on the migrating session (the writer's query, with its timeout). */
export type MigrationQuery = <Row = Record<string, unknown>>(
  sql: string,
  values?: unknown[],
) => Promise<Row[]>;

export interface AppliedMigration {
  table: string;
  version: number;
  description: string;
}

export const SCHEMA_VERSION_TABLE = schemaVersion.name;
/** Lock names are server-wide and at most 64 characters: the prefix and a hash of the database's name. */
const LOCK_NAME = "CONCAT('etl_schema:', LEFT(SHA2(DATABASE(), 256), 40))";

/**
 * Applies the migrations not yet recorded, table by table in the order given, oldest first, and
 * returns those this call applied (none when another migrator got there first).
 */
export async function applyMigrations(
  query: MigrationQuery,
  migrations: readonly Migration[],
  options: { lockWaitSeconds: number; log: Logger },
): Promise<AppliedMigration[]> {
  const [lock] = await query<{ locked: number | null }>(`SELECT GET_LOCK(${LOCK_NAME}, ?) AS locked`, [
    options.lockWaitSeconds,
  ]);
  if (Number(lock?.locked) !== 1) {
    // A RetryableWriteError: the state machine's Retry runs the write again later.
    throw new RetryableWriteError(
      `Another migrator held the warehouse schema lock for over ${options.lockWaitSeconds} s`,
    );
  }
  try {
    await query(createTableDdl(schemaVersion, schemaVersion.version, { bookkeeping: false }));
    const applied: AppliedMigration[] = [];
    const recorded = new Map<string, Set<number>>();
    for (const migration of migrations) {
      let versions = recorded.get(migration.table);
      if (versions === undefined) {
        const rows = await query<{ version: number }>(
          `SELECT version FROM \`${SCHEMA_VERSION_TABLE}\` WHERE table_name = ?`,
          [migration.table],
        );
        versions = new Set(rows.map((row) => Number(row.version)));
        recorded.set(migration.table, versions);
      }
      if (versions.has(migration.version)) continue;
      await applyMigration(query, migration);
      await query(
        `INSERT INTO \`${SCHEMA_VERSION_TABLE}\` (table_name, version, description, applied_at)
         VALUES (?, ?, ?, UTC_TIMESTAMP(3))`,
        [migration.table, migration.version, migration.description.slice(0, 255)],
      );
      versions.add(migration.version);
      applied.push({
        table: migration.table,
        version: migration.version,
        description: migration.description,
      });
      options.log.info('warehouse: schema migrated', {
        table: migration.table,
        version: migration.version,
        description: migration.description,
      });
    }
    return applied;
  } finally {
    await query(`SELECT RELEASE_LOCK(${LOCK_NAME})`).catch(() => undefined);
  }
}

async function applyMigration(query: MigrationQuery, migration: Migration): Promise<void> {
  if (migration.kind === 'create') {
    await query(migration.statement);
    return;
  }
  const existing = await query<{ name: string }>(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
    [migration.table],
  );
  const present = new Set(existing.map((row) => String(row.name)));
  const missing = migration.columns.filter((column) => !present.has(column.name));
  if (missing.length > 0) await query(addColumnsStatement(migration.table, missing));
}
