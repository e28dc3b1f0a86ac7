import * as z from 'zod';
import { ConfigError } from './errors';
import {
  declareTable,
  isIntegerColumn,
  isStringColumn,
  type TableColumn,
  type TableDeclaration,
} from './table-declaration';

/**
 * The db-sync pipeline's tables, declared once (docs/db-sync.md): for each table copied from the
 * source database to the target, the target table's declaration (shared/core/table-declaration.ts,
 * the same rules as the CloudFront aggregate's) and, per column, the source column it is read from.
 *
 * - rename: a column whose `source` differs from its `name`;
 * - drop: a source column no declared column names is not read;
 * - cast: the declared type is the target's; source values are converted to it by the declared
 *   rules (shared/core/table-values.ts), and a value that cannot be is an error naming the table
 *   and the column.
 *
 * The source is read in keyset order of (`watermark`, key): the watermark column (usually
 * `updated_at`, NOT NULL, changed with every write to the row) makes the copy incremental.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/;

const SyncTableSchema = z
  .object({
    /** The source table's name. */
    source: z.string().regex(IDENTIFIER),
    /** The source column whose growth marks changed rows (DATETIME, TIMESTAMP or an integer version). */
    watermark: z.string().regex(IDENTIFIER),
    /**
     * The target table: a table declaration whose columns may each carry `source` (the source
     * column read; the column's own name by default).
     */
    target: z
      .object({ columns: z.array(z.object({ source: z.string().regex(IDENTIFIER).optional() }).loose()) })
      .loose(),
  })
  .strict();

export const SyncConfigSchema = z.object({ tables: z.array(SyncTableSchema).min(1) }).strict();
export type SyncConfigInput = z.input<typeof SyncConfigSchema>;

/** One target column and the source column it is read from. */
export interface SyncColumn {
  source: string;
  column: TableColumn;
}

/** A table of the db-sync pipeline, checked. */
export interface SyncTable {
  /** The target table's name: the table's name in events, staging keys and reports. */
  readonly name: string;
  readonly sourceTable: string;
  readonly watermark: string;
  readonly declaration: TableDeclaration;
  readonly columns: readonly SyncColumn[];
  /** The one key column (keyset pagination pages on it) and its source column. */
  readonly key: SyncColumn;
}

/**
 * Checks the db-sync config and derives each table's declaration. Throws ConfigError naming the
 * table (and column) for every rule it breaks: a key of more than one column, a key that is not an
 * integer or a string, a source column read twice, two tables with one target name.
 */
export function parseSyncConfig(input: unknown): SyncTable[] {
  const parsed = SyncConfigSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`db-sync config: ${problems.join('; ')}`);
  }
  const tables = parsed.data.tables.map((entry) => {
    const sources = entry.target.columns.map((column, index) => {
      const source = column.source;
      const name = (entry.target.columns[index] as { name?: unknown }).name;
      return source ?? (typeof name === 'string' ? name : '');
    });
    const { columns: rawColumns, ...rest } = entry.target;
    const declaration = declareTable({
      ...rest,
      columns: rawColumns.map(({ source: _source, ...column }) => column),
    });
    const fail = (problem: string): never => {
      throw new ConfigError(`db-sync table ${declaration.name} (source ${entry.source}): ${problem}`);
    };
    const columns = declaration.columns.map((column, index) => ({
      source: sources[index] ?? column.name,
      column,
    }));
    for (const [index, { source }] of columns.entries()) {
      if (columns.findIndex((other) => other.source === source) !== index) {
        fail(`source column ${source} is read by two columns`);
      }
    }
    if (declaration.key.length !== 1) {
      fail(`the key must be one column (keyset pages follow it), not ${declaration.key.length}`);
    }
    const key = columns.find(({ column }) => column.keyIndex === 0) ?? fail('no key column');
    if (!isIntegerColumn(key.column) && !isStringColumn(key.column)) {
      fail(`key column ${key.column.name} must be an integer or a string, not ${key.column.type}`);
    }
    return {
      name: declaration.name,
      sourceTable: entry.source,
      watermark: entry.watermark,
      declaration,
      columns,
      key,
    };
  });
  for (const [index, table] of tables.entries()) {
    if (tables.findIndex((other) => other.name === table.name) !== index) {
      throw new ConfigError(`db-sync config: two tables are copied into ${table.name}`);
    }
  }
  return tables;
}

/** The table named `name` (the target's name), or a ConfigError listing the configured ones. */
export function syncTableNamed(tables: readonly SyncTable[], name: string): SyncTable {
  const table = tables.find((candidate) => candidate.name === name);
  if (table === undefined) {
    throw new ConfigError(
      `db-sync has no table ${name}; configured: ${tables.map((candidate) => candidate.name).join(', ')}`,
    );
  }
  return table;
}

/** The target read back as a table of its own: every declared column read under its own name. */
export function targetReadOf(table: SyncTable): SyncTable {
  return {
    ...table,
    sourceTable: table.name,
    columns: table.columns.map(({ column }) => ({ source: column.name, column })),
    key: { source: table.key.column.name, column: table.key.column },
  };
}
