import {
  isBlobColumn,
  isIntegerColumn,
  isStringColumn,
  type TableColumn,
  type TableDeclaration,
} from './table-declaration';

/**
 * The warehouse SQL a declaration implies (docs/tables.md#sql): column definitions, the table's
 * DDL, the versioned migrations that bring an existing table to the declaration, and the text
 * parts of the upsert. Pure text; values are escaped by the warehouse adapter.
 */

/** The writer's bookkeeping columns, after the declared ones, in every table it loads. */
export const RUN_ID_MAX_CHARS = 128;
export const BOOKKEEPING_COLUMNS_DDL = [
  "`updated_at` DATETIME(3) NOT NULL COMMENT 'UTC; changes only when a value changes'",
  `\`loaded_by_run\` VARCHAR(${RUN_ID_MAX_CHARS}) NOT NULL COMMENT 'run that last changed the row'`,
];

/** A quoted identifier; declarations only hold lower snake_case names (no backquote can occur). */
export const quoteName = (name: string): string => `\`${name}\``;

/** A MySQL string literal, escaped as mysql2's `escape` does (backslash escapes, NO_BACKSLASH_ESCAPES off). */
export function sqlStringLiteral(text: string): string {
  // \u001a is Ctrl-Z, which mysql2 escapes as \Z (Windows reads it as end of file).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters MySQL literals escape
  const escaped = text.replace(/[\0\b\t\n\r\u001a"'\\]/g, (char) => {
    switch (char) {
      case '\0':
        return '\\0';
      case '\b':
        return '\\b';
      case '\t':
        return '\\t';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\u001a':
        return '\\Z';
      default:
        return `\\${char}`;
    }
  });
  return `'${escaped}'`;
}

const UTF8MB4_BIN = 'CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

/** The column's MySQL type. Strings compare byte for byte (utf8mb4_bin): no two keys fold into one. */
export function sqlType(column: TableColumn): string {
  if (isIntegerColumn(column)) {
    return `${column.type.toUpperCase()}${column.unsigned === true ? ' UNSIGNED' : ''}`;
  }
  switch (column.type) {
    case 'double':
      return 'DOUBLE';
    case 'decimal':
      return `DECIMAL(${column.precision},${column.scale})`;
    case 'date':
      return 'DATE';
    case 'datetime':
      return (column.fsp ?? 0) > 0 ? `DATETIME(${column.fsp})` : 'DATETIME';
    case 'hour':
      return 'DATETIME';
    case 'char':
    case 'varchar':
      return `${column.type.toUpperCase()}(${column.length}) ${UTF8MB4_BIN}`;
  }
  if (isStringColumn(column)) return `${column.type.toUpperCase()} ${UTF8MB4_BIN}`;
  if (isBlobColumn(column)) return column.type.toUpperCase();
  throw new Error(`unknown column type ${column.type}`);
}

/** The SQL literal of a declared default (in the row's representation). */
function defaultLiteral(column: TableColumn): string {
  const value = column.default;
  if (value === undefined) return 'NULL';
  if (typeof value === 'number') return String(value);
  if (column.type === 'hour') return sqlStringLiteral(`${value.slice(0, 10)} ${value.slice(11, 13)}:00:00`);
  if (column.type === 'datetime') return sqlStringLiteral(value.slice(0, -1).replace('T', ' '));
  return sqlStringLiteral(value);
}

/** `name TYPE [NOT] NULL [DEFAULT …] [COMMENT …]`. */
export function columnDefinition(column: TableColumn): string {
  const parts = [quoteName(column.name), sqlType(column), column.nullable ? 'NULL' : 'NOT NULL'];
  if (column.since > 1 && column.default !== undefined) parts.push(`DEFAULT ${defaultLiteral(column)}`);
  if (column.comment !== undefined) parts.push(`COMMENT ${sqlStringLiteral(column.comment)}`);
  return parts.join(' ');
}

export interface TableSqlOptions {
  /** The table's name in the database (a setting may rename it); the declaration's name by default. */
  physicalName?: string;
  /** Whether the writer's bookkeeping columns follow the declared ones (tables it loads: yes). */
  bookkeeping?: boolean;
}

/**
 * `CREATE TABLE IF NOT EXISTS` of the table's columns at `version` (InnoDB, utf8mb4_bin). A key's
 * bytes must stay under InnoDB's 3,072-byte index limit (VARCHAR(255) utf8mb4 takes 1,020).
 */
export function createTableDdl(
  table: TableDeclaration,
  version: number,
  options: TableSqlOptions = {},
): string {
  const name = options.physicalName ?? table.name;
  const lines = table.columns.filter((column) => column.since <= version).map(columnDefinition);
  if (options.bookkeeping !== false) lines.push(...BOOKKEEPING_COLUMNS_DDL);
  lines.push(`PRIMARY KEY (${table.key.map((column) => quoteName(column.name)).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteName(name)} (\n  ${lines.join(',\n  ')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;
}

/** One step of a table's schema history, recorded in the schema-version table once applied. */
export type Migration =
  | { table: string; version: 1; description: string; kind: 'create'; statement: string }
  | {
      table: string;
      version: number;
      description: string;
      kind: 'add-columns';
      /** Each with the column it follows, so the table's columns stay in declaration order. */
      columns: ReadonlyArray<{ name: string; definition: string; after: string }>;
    };

/**
 * The table's migrations, oldest first: version 1 creates the table (IF NOT EXISTS, so a database
 * created before migrations existed takes it as its baseline); each later version adds the
 * columns declared `since` it. Forward only: columns are never dropped or changed here.
 */
export function migrationsOf(table: TableDeclaration, options: TableSqlOptions = {}): Migration[] {
  const name = options.physicalName ?? table.name;
  const migrations: Migration[] = [
    {
      table: name,
      version: 1,
      kind: 'create',
      description: `create ${name}`,
      statement: createTableDdl(table, 1, options),
    },
  ];
  for (let version = 2; version <= table.version; version++) {
    const added = table.columns.flatMap((column, index) =>
      column.since === version
        ? [{ name: column.name, definition: columnDefinition(column), after: table.columns[index - 1]!.name }]
        : [],
    );
    if (added.length === 0) continue;
    migrations.push({
      table: name,
      version,
      kind: 'add-columns',
      description: `add ${added.map((column) => column.name).join(', ')} to ${name}`,
      columns: added,
    });
  }
  return migrations;
}

/** The ALTER TABLE adding `columns` (those of an add-columns migration the table still lacks). */
export function addColumnsStatement(
  physicalName: string,
  columns: ReadonlyArray<{ definition: string; after: string }>,
): string {
  return `ALTER TABLE ${quoteName(physicalName)} ${columns
    .map((column) => `ADD COLUMN ${column.definition} AFTER ${quoteName(column.after)}`)
    .join(', ')}`;
}

/** The declared columns then (unless `bookkeeping` is false) the bookkeeping ones: the upsert's column list. */
export function insertColumns(table: TableDeclaration, bookkeeping = true): string {
  const columns = table.columns.map((column) => quoteName(column.name));
  if (bookkeeping) columns.push('`updated_at`', '`loaded_by_run`');
  return columns.join(', ');
}

/**
 * The assignments of the upsert. `VALUES(col)` is deprecated in MySQL 8.0.20+ in favour of a row
 * alias, which MariaDB does not parse; VALUES() runs on both. `updated_at` and `loaded_by_run` are
 * assigned first, while the value columns still hold the old values (MySQL applies the assignments
 * left to right), and change only if some value changes: a re-run that finds the same values
 * leaves the row untouched. `target` qualifies the table's own columns where a SELECT's columns
 * share their names.
 */
export function upsertAssignments(table: TableDeclaration, target = '', bookkeeping = true): string {
  const values = table.columns
    .filter((column) => column.keyIndex === undefined)
    .map((column) => quoteName(column.name));
  if (!bookkeeping) {
    // A copy (db-sync) has no bookkeeping columns: the values are the row.
    const key = quoteName(table.key[0]?.name ?? '');
    const assignments =
      values.length === 0
        ? [`${target}${key} = ${target}${key}`]
        : values.map((column) => `${target}${column} = VALUES(${column})`);
    return `ON DUPLICATE KEY UPDATE\n  ${assignments.join(',\n  ')}`;
  }
  const unchanged = values.map((column) => `${target}${column} <=> VALUES(${column})`).join(' AND ');
  const assignments =
    values.length === 0
      ? [`${target}\`updated_at\` = ${target}\`updated_at\``]
      : [
          `${target}\`updated_at\` = IF(${unchanged}, ${target}\`updated_at\`, VALUES(\`updated_at\`))`,
          `${target}\`loaded_by_run\` = IF(${unchanged}, ${target}\`loaded_by_run\`, VALUES(\`loaded_by_run\`))`,
          ...values.map((column) => `${target}${column} = VALUES(${column})`),
        ];
  return `ON DUPLICATE KEY UPDATE\n  ${assignments.join(',\n  ')}`;
}
