import { escape as escapeSql } from 'mysql2/promise';
import { isBlobColumn, type TableColumn, type TableDeclaration } from '#shared/core/table-declaration';
import { createTableDdl, insertColumns, quoteName, upsertAssignments } from '#shared/core/table-sql';
import { sqlValueOf, type TableValueError } from '#shared/core/table-values';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';
import { loadLedger } from '#shared/tables/writer-tables';

/**
 * The text the warehouse writer sends for a batch, derived from the table's declaration: the
 * upsert statement (values escaped by mysql2's own `escape`) and the LOAD DATA text. Rows reach
 * these functions already checked and canonical (`canonicalRow`), so no value is checked twice.
 */

/** The latest `CREATE TABLE IF NOT EXISTS` of a declared table the writer loads (tools, benchmarks). */
export function targetTableDdl(table: string, declaration: TableDeclaration = cloudfrontHourly): string {
  return createTableDdl(declaration, declaration.version, { physicalName: table });
}

/** The load ledger's `CREATE TABLE IF NOT EXISTS` (its declaration: shared/tables/writer-tables.ts). */
export function ledgerTableDdl(): string {
  return createTableDdl(loadLedger, loadLedger.version, { bookkeeping: false });
}

/**
 * Converts one column of consecutive rows, reusing the previous row's text when the value is the
 * same: rows come sorted by key, so the hour and host repeat from row to row.
 */
function columnWriter(
  column: TableColumn,
  text: (value: ReturnType<typeof sqlValueOf>) => string,
): (value: unknown) => string {
  let last: unknown = Symbol('none');
  let lastText = '';
  return (value) => {
    if (value !== last || value instanceof Uint8Array) {
      last = value;
      lastText = text(sqlValueOf(column, value as Parameters<typeof sqlValueOf>[1]));
    }
    return lastText;
  };
}

/**
 * The `INSERT … ON DUPLICATE KEY UPDATE` of a batch, values in place (escaped by mysql2's own
 * `escape`, what `query(sql, values)` would do with placeholders). Built directly rather than as
 * placeholders that `format` then fills in one by one: measured, that halves the client's CPU per
 * batch (bench/README.md). Same run id and rows → same text, so its SHA-256 is the ledger digest.
 */
export function upsertStatement(
  table: string,
  runId: string,
  rows: readonly object[],
  declaration: TableDeclaration = cloudfrontHourly,
  bookkeeping = true,
): string {
  const tupleEnd = bookkeeping ? `, UTC_TIMESTAMP(3), ${escapeSql(runId)})` : ')';
  const writers = declaration.columns.map((column) => ({
    field: column.field,
    write: columnWriter(column, (value) => escapeSql(value)),
  }));
  const tuples = new Array<string>(rows.length);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as Readonly<Record<string, unknown>>;
    let tuple = '(';
    for (let column = 0; column < writers.length; column++) {
      const { field, write } = writers[column]!;
      tuple += column === 0 ? write(row[field]) : `, ${write(row[field])}`;
    }
    tuples[index] = tuple + tupleEnd;
  }
  return `INSERT INTO ${quoteName(table)} (${insertColumns(declaration, bookkeeping)})
VALUES ${tuples.join(',\n')}
${upsertAssignments(declaration, '', bookkeeping)}`;
}

const TSV_SPECIAL = /[\\\t\n\r\0]/g;
const TSV_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};

/** Text as LOAD DATA's default text format reads it back (`ESCAPED BY '\\'`). */
export function tsvText(text: string): string {
  return text.replace(TSV_SPECIAL, (char) => TSV_ESCAPES[char]!);
}

/**
 * One LOAD DATA field: `\N` is NULL; a double's `String()` is its shortest round-trip text, parsed
 * back exactly.
 */
function tsvField(value: ReturnType<typeof sqlValueOf>): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return tsvText(value);
  throw new Error('LOAD DATA text carries no bytes');
}

/** Whether LOAD DATA text can carry the table (it carries no BLOB column yet: bytes go as INSERT text). */
export function loadDataCarries(declaration: TableDeclaration): boolean {
  return !declaration.columns.some(isBlobColumn);
}

/**
 * A batch as the text `LOAD DATA … FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY
 * '\n'` reads, one line per row in the order of `loadDataColumns`. Same rows → same text.
 */
export function batchTsv(rows: readonly object[], declaration: TableDeclaration = cloudfrontHourly): string {
  const writers = declaration.columns.map((column) => ({
    field: column.field,
    write: columnWriter(column, tsvField),
  }));
  const lines = new Array<string>(rows.length);
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as Readonly<Record<string, unknown>>;
    let line = '';
    for (let column = 0; column < writers.length; column++) {
      const { field, write } = writers[column]!;
      line += column === 0 ? write(row[field]) : `\t${write(row[field])}`;
    }
    lines[index] = `${line}\n`;
  }
  return lines.join('');
}

/** The declared columns in the order `batchTsv` writes them. */
export function loadDataColumns(declaration: TableDeclaration): string {
  return declaration.columns.map((column) => quoteName(column.name)).join(', ');
}

/** A value error's words for a writer's message: `status 1000 (outside 0 to 999) is not an HTTP status`. */
export function valueProblem(error: TableValueError): string {
  return `${error.field} ${error.problem}`;
}
