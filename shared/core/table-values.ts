import * as z from 'zod';
import { EtlError } from './errors';
import {
  type EmptyStringRule,
  integerRange,
  isBlobColumn,
  isIntegerColumn,
  isStringColumn,
  type TableColumn,
  type TableDeclaration,
  type TableRow,
  type TableValue,
} from './table-declaration';
import { formatHour, HOUR_PATTERN, hourStart } from './window';

/**
 * The values of a declared table as they travel (docs/tables.md#values): a row's JavaScript value,
 * the staged DynamoDB attribute, and the value MySQL takes and gives back. Pure functions; every
 * failure is a TableValueError naming the table and the column.
 *
 * | type | row | DynamoDB | MySQL |
 * |---|---|---|---|
 * | integers, double | number (integers exact: a safe integer or an error) | N | number |
 * | decimal | decimal text with the column's scale (`12.30`) | S | text |
 * | date | `YYYY-MM-DD` | S | text |
 * | datetime(fsp) | ISO-8601 UTC with fsp fraction digits (`…T05:06:07.123Z`) | S (same) | `YYYY-MM-DD HH:MM:SS.fff` |
 * | hour | `YYYY-MM-DDTHH` | S, `Date#toISOString` of the hour | DATETIME of the hour |
 * | char, varchar, text | string (emptyString rule applied) | S | text |
 * | blob | bytes | S, base64 | bytes |
 * | NULL | null | attribute absent | NULL |
 */

/** A value cannot be carried in a column (wrong type, out of range, too long, not a real date). */
export class TableValueError extends EtlError {
  constructor(
    readonly table: string,
    readonly column: string,
    readonly field: string,
    /** The problem alone, e.g. `1000 (outside 0 to 999) is not an HTTP status`. */
    readonly problem: string,
  ) {
    super(`Table ${table}, column ${column}: ${problem}`);
  }
}

/** What a DynamoDB attribute holds for a column; undefined: the attribute is absent (NULL). */
export type ItemValue = string | number | undefined;

const TEXT_MAX_BYTES = { text: 65_535, mediumtext: 16_777_215, longtext: 4_294_967_295 } as const;
const BLOB_MAX_BYTES = { blob: 65_535, mediumblob: 16_777_215, longblob: 4_294_967_295 } as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;
const DATETIME_SQL = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function preview(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  const text = typeof value === 'string' ? value : String(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function refuse(table: TableDeclaration, column: TableColumn, problem: string): never {
  throw new TableValueError(table.name, column.name, column.field, problem);
}

function isRealDate(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    year >= 1000 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day
  );
}

function checkDate(table: TableDeclaration, column: TableColumn, value: string): string {
  const match = DATE.exec(value);
  if (!match || !isRealDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    refuse(table, column, `${preview(value)} is not a date (YYYY-MM-DD, from 1000-01-01)`);
  }
  return value;
}

/** `YYYY-MM-DD`, hours, minutes, seconds and fraction digits → the ISO text with exactly `fsp` digits. */
function datetimeIso(
  table: TableDeclaration,
  column: TableColumn,
  value: string,
  match: RegExpExecArray | null,
  fsp: number,
): string {
  if (match === null) return refuse(table, column, `${preview(value)} is not a datetime`);
  const [, date = '', hours, minutes, seconds, fraction = ''] = match;
  checkDate(table, column, date);
  if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) {
    refuse(table, column, `${preview(value)} is not a time of day`);
  }
  if (fraction.length > fsp && /[1-9]/.test(fraction.slice(fsp))) {
    refuse(table, column, `${preview(value)} has more than the column's ${fsp} fraction digits`);
  }
  const digits = fraction.padEnd(fsp, '0').slice(0, fsp);
  return `${date}T${hours}:${minutes}:${seconds}${fsp > 0 ? `.${digits}` : ''}Z`;
}

function checkDecimal(
  table: TableDeclaration,
  column: Extract<TableColumn, { type: 'decimal' }>,
  value: string,
): string {
  const match = DECIMAL.exec(value);
  const [, sign = '', whole = '', fraction = ''] = match ?? [];
  const digits = whole.replace(/^0+(?=\d)/, '');
  if (match === null || digits.length > column.precision - column.scale || fraction.length > column.scale) {
    refuse(
      table,
      column,
      `${preview(value)} is not a DECIMAL(${column.precision},${column.scale}) (as text, at most ${column.precision - column.scale} digits before the point and ${column.scale} after)`,
    );
  }
  const canonical = column.scale > 0 ? `${digits}.${fraction.padEnd(column.scale, '0')}` : digits;
  return sign === '-' && /[1-9]/.test(canonical) ? `-${canonical}` : canonical;
}

function applyEmptyRule(
  table: TableDeclaration,
  column: TableColumn,
  rule: EmptyStringRule | undefined,
): string | null {
  if (rule === undefined || rule === 'keep') return '';
  if (rule === 'null') return null;
  if (rule === 'refuse') return refuse(table, column, 'is empty, and the column refuses empty strings');
  return rule.marker;
}

/**
 * A row's value checked against its column and made canonical: the emptyString rule applied,
 * decimals with the column's scale, datetimes with its precision. What the staged item and the
 * warehouse both hold.
 */
export function canonicalValue(table: TableDeclaration, column: TableColumn, value: unknown): TableValue {
  if (value === null || value === undefined) {
    if (column.nullable) return null;
    return refuse(table, column, 'is NULL, and the column is NOT NULL');
  }
  if (isIntegerColumn(column)) {
    const { min, max } = integerRange(column);
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      return refuse(table, column, `${preview(value)} is not an integer`);
    }
    if (value < min || value > max) {
      return refuse(
        table,
        column,
        column.meaning === undefined
          ? `${value} is not an integer from ${min} to ${max}`
          : `${value} (outside ${min} to ${max}) is not ${column.meaning}`,
      );
    }
    return value;
  }
  switch (column.type) {
    case 'double':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return refuse(table, column, `${preview(value)} is not a finite number`);
      }
      if (column.min !== undefined && value < column.min) {
        return refuse(table, column, `${value} is below ${column.min}`);
      }
      return value;
    case 'decimal':
      if (typeof value !== 'string') return refuse(table, column, `${preview(value)} is not decimal text`);
      return checkDecimal(table, column, value);
    case 'date':
      if (typeof value !== 'string') return refuse(table, column, `${preview(value)} is not a date`);
      return checkDate(table, column, value);
    case 'datetime':
      if (typeof value !== 'string') return refuse(table, column, `${preview(value)} is not a datetime`);
      return datetimeIso(table, column, value, DATETIME_ISO.exec(value), column.fsp ?? 0);
    case 'hour':
      if (typeof value !== 'string' || !isHour(value)) {
        return refuse(table, column, `${preview(value)} is not an hour`);
      }
      return value;
  }
  if (isStringColumn(column)) {
    if (typeof value !== 'string') return refuse(table, column, `${preview(value)} is not a string`);
    const text = value === '' ? applyEmptyRule(table, column, column.emptyString) : value;
    if (text === null) return column.nullable ? null : refuse(table, column, 'is empty and NOT NULL');
    if (!text.isWellFormed()) return refuse(table, column, `${preview(text)} holds a lone UTF-16 surrogate`);
    if (column.type === 'char' || column.type === 'varchar') {
      // At most `length` UTF-16 units means at most `length` characters: only longer text is counted.
      if (text.length > column.length && [...text].length > column.length) {
        refuse(table, column, `${preview(text)} is longer than ${column.length} characters`);
      }
    } else if (text.length * 3 > TEXT_MAX_BYTES[column.type]) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > TEXT_MAX_BYTES[column.type]) {
        refuse(table, column, `${bytes} bytes are more than a ${column.type.toUpperCase()} holds`);
      }
    }
    return text;
  }
  if (isBlobColumn(column)) {
    if (!(value instanceof Uint8Array)) return refuse(table, column, `${preview(value)} is not bytes`);
    const limit = BLOB_MAX_BYTES[column.type as keyof typeof BLOB_MAX_BYTES];
    if (value.byteLength > limit) {
      refuse(table, column, `${value.byteLength} bytes are more than a ${column.type.toUpperCase()} holds`);
    }
    return value;
  }
  return refuse(table, column, `has an unknown type ${column.type}`);
}

function isHour(value: string): boolean {
  if (!HOUR_PATTERN.test(value)) return false;
  try {
    hourStart(value);
    return true;
  } catch {
    return false;
  }
}

/** A row value → the staged item's attribute value (undefined: no attribute, i.e. NULL). */
export function toItemValue(table: TableDeclaration, column: TableColumn, value: unknown): ItemValue {
  const canonical = canonicalValue(table, column, value);
  if (canonical === null) return undefined;
  if (canonical instanceof Uint8Array) return Buffer.from(canonical).toString('base64');
  if (column.type === 'double' && typeof canonical === 'number' && !fitsDynamoNumber(canonical)) {
    // DynamoDB's N holds magnitudes from 1e-130 to under 1e126, and the document client refuses a
    // number beyond 2^53 - 1 rather than risk rounding it: such a double is staged as its
    // shortest round-trip text (S), read back exactly.
    return String(canonical);
  }
  // DynamoDB has no date type: ISO-8601 strings, which sort as time.
  if (column.type === 'hour') return new Date(hourStart(String(canonical))).toISOString();
  return canonical;
}

/** Whether a double goes into a DynamoDB N through the document client unchanged. */
function fitsDynamoNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return magnitude === 0 || (magnitude >= 1e-130 && magnitude <= Number.MAX_SAFE_INTEGER);
}

/**
 * The exact decimal text of a DynamoDB number however the document client hands it over: a number
 * (safe integers and doubles), a bigint (integers beyond 2^53 − 1, util-dynamodb's default), or a
 * NumberValue (`wrapNumbers`), matched by shape so a second copy of util-dynamodb does not matter.
 */
function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'object' && value !== null && 'value' in value && typeof value.value === 'string') {
    return value.value;
  }
  return undefined;
}

/** A staged attribute → the row value it was staged from; absent (or DynamoDB NULL) is NULL. */
export function fromItemValue(table: TableDeclaration, column: TableColumn, attribute: unknown): TableValue {
  if (attribute === undefined || attribute === null) return canonicalValue(table, column, null);
  if (isIntegerColumn(column)) {
    const text = numberText(attribute);
    if (text === undefined || !/^-?\d+$/.test(text)) {
      return refuse(table, column, `expected an integer, found ${preview(text ?? typeof attribute)}`);
    }
    const number = Number(text);
    if (!Number.isSafeInteger(number)) {
      return refuse(table, column, 'integer beyond 2^53 - 1 cannot be held exactly in a JS number');
    }
    return canonicalValue(table, column, number);
  }
  if (column.type === 'double') {
    // A double outside what the document client carries as N is staged as its text (toItemValue).
    if (typeof attribute === 'string') {
      const number = Number(attribute);
      if (!Number.isFinite(number) || String(number) !== attribute) {
        return refuse(table, column, `${preview(attribute)} is not the text of a number`);
      }
      return canonicalValue(table, column, number);
    }
    const text = numberText(attribute);
    if (text === undefined) return refuse(table, column, `expected a number, found ${typeof attribute}`);
    return canonicalValue(table, column, Number(text));
  }
  if (typeof attribute !== 'string') {
    return refuse(table, column, `expected a string attribute, found ${typeof attribute}`);
  }
  if (column.type === 'hour') {
    const time = Date.parse(attribute);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:00:00(?:\.0+)?Z$/.test(attribute) || Number.isNaN(time)) {
      return refuse(table, column, `${preview(attribute)} is not the ISO start of an hour`);
    }
    return canonicalValue(table, column, formatHour(time));
  }
  if (isBlobColumn(column)) {
    if (!BASE64.test(attribute)) return refuse(table, column, 'is not base64');
    return canonicalValue(table, column, Buffer.from(attribute, 'base64'));
  }
  const value = canonicalValue(table, column, attribute);
  // Staged values are canonical: anything else was written by another hand.
  if (value !== attribute) return refuse(table, column, `${preview(attribute)} is not in its canonical form`);
  return value;
}

/** A row value → what mysql2 escapes for the column (numbers, text, bytes, NULL). */
export function toSqlValue(
  table: TableDeclaration,
  column: TableColumn,
  value: unknown,
): string | number | Buffer | null {
  return sqlValueOf(column, canonicalValue(table, column, value));
}

/** A canonical value (already checked, see canonicalRow) → what mysql2 escapes for the column. */
export function sqlValueOf(column: TableColumn, canonical: TableValue): string | number | Buffer | null {
  if (canonical === null || typeof canonical === 'number') return canonical;
  if (canonical instanceof Uint8Array) return Buffer.from(canonical);
  if (column.type === 'hour') return `${canonical.slice(0, 10)} ${canonical.slice(11, 13)}:00:00`;
  if (column.type === 'datetime') return canonical.slice(0, -1).replace('T', ' ');
  return canonical;
}

/**
 * A row with every declared value checked and made canonical: the same object when nothing
 * changed (the common case), a copy otherwise. Fields the table does not declare are dropped
 * from a copy, ignored otherwise.
 */
export function canonicalRow<Row extends object>(table: TableDeclaration, row: Row): Row {
  const values = row as Readonly<Record<string, unknown>>;
  let copy: Record<string, TableValue> | undefined;
  for (const [index, column] of table.columns.entries()) {
    const value = values[column.field];
    const canonical = canonicalValue(table, column, value);
    if (canonical !== value && copy === undefined) {
      copy = {};
      for (const earlier of table.columns.slice(0, index))
        copy[earlier.field] = values[earlier.field] as TableValue;
    }
    if (copy !== undefined) copy[column.field] = canonical;
  }
  return copy === undefined ? row : (copy as Row);
}

/**
 * A value as mysql2 reads it (`dateStrings`, `supportBigNumbers` + `bigNumberStrings`: DATE,
 * DATETIME, BIGINT and DECIMAL as text) → the row value. MySQL's zero dates cannot be carried.
 */
export function fromSqlValue(table: TableDeclaration, column: TableColumn, value: unknown): TableValue {
  if (value === null || value === undefined) return canonicalValue(table, column, null);
  if (isIntegerColumn(column)) {
    const number = typeof value === 'number' ? value : Number(String(value));
    if (!Number.isSafeInteger(number)) {
      return refuse(table, column, `${preview(value)} is not an integer a JS number holds exactly`);
    }
    return canonicalValue(table, column, number);
  }
  if (column.type === 'double') return canonicalValue(table, column, Number(value));
  if (isBlobColumn(column)) {
    if (!(value instanceof Uint8Array)) return refuse(table, column, `${preview(value)} is not bytes`);
    return canonicalValue(table, column, value);
  }
  const text = value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value);
  if (column.type === 'datetime' || column.type === 'hour') {
    if (text.startsWith('0000-00-00'))
      return refuse(table, column, `MySQL's zero date ${text} cannot be carried`);
    const iso = datetimeIso(
      table,
      column,
      text,
      DATETIME_SQL.exec(text),
      column.type === 'hour' ? 0 : (column.fsp ?? 0),
    );
    if (column.type === 'datetime') return iso;
    if (!iso.endsWith(':00:00Z')) return refuse(table, column, `${text} is not the start of an hour`);
    return canonicalValue(table, column, iso.slice(0, 13));
  }
  if (column.type === 'date' && text.startsWith('0000-00-00')) {
    return refuse(table, column, `MySQL's zero date ${text} cannot be carried`);
  }
  return canonicalValue(table, column, text);
}

/** A key column's part of the staging sort key: fixed width except strings, so the parts stay apart. */
function keyText(table: TableDeclaration, column: TableColumn, value: unknown): string {
  if (typeof value === 'number' && isIntegerColumn(column)) {
    return String(value).padStart(String(integerRange(column).max).length, '0');
  }
  if (value === '' && isStringColumn(column)) {
    const rule = column.emptyString;
    return typeof rule === 'object'
      ? rule.marker
      : refuse(table, column, 'is empty, and the column refuses empty strings');
  }
  return String(value);
}

/**
 * The staging sort key of a row: its key columns' text joined by `#` (integers zero-padded to the
 * width of their maximum), unique per row of a run and sortable in key order. The values are not
 * checked here; `toItem` checks them.
 */
export function rowKeyOf(table: TableDeclaration, row: object): string {
  const values = row as Readonly<Record<string, unknown>>;
  let key = '';
  for (const [index, column] of table.key.entries()) {
    if (index > 0) key += '#';
    key += keyText(table, column, values[column.field]);
  }
  return key;
}

/** Characters of the staging sort key that are not the variable-length string part (fixed parts and `#`s). */
export function fixedKeyChars(table: TableDeclaration): number {
  let chars = table.key.length - 1;
  for (const column of table.key) {
    if (isIntegerColumn(column)) chars += String(integerRange(column).max).length;
    else if (column.type === 'hour') chars += 'YYYY-MM-DDTHH'.length;
    else if (column.type === 'date') chars += 'YYYY-MM-DD'.length;
    else if (column.type === 'datetime') {
      chars += 'YYYY-MM-DDTHH:MM:SSZ'.length + ((column.fsp ?? 0) > 0 ? (column.fsp ?? 0) + 1 : 0);
    }
  }
  return chars;
}

/** A row → its staged attributes (by field; NULLs left out). */
export function toItem(table: TableDeclaration, input: object): Record<string, string | number> {
  const row = input as Readonly<Record<string, unknown>>;
  const item: Record<string, string | number> = {};
  for (const column of table.columns) {
    const value = toItemValue(table, column, row[column.field]);
    if (value !== undefined) item[column.field] = value;
  }
  return item;
}

/** Staged attributes → the row (other attributes, such as the staging keys, are ignored). */
export function fromItem(table: TableDeclaration, item: Readonly<Record<string, unknown>>): TableRow {
  const row: TableRow = {};
  for (const column of table.columns) row[column.field] = fromItemValue(table, column, item[column.field]);
  return row;
}

/** A MySQL row (by column name, as mysql2 reads it) → the row (by field). */
export function fromSqlRow(table: TableDeclaration, record: Readonly<Record<string, unknown>>): TableRow {
  const row: TableRow = {};
  for (const column of table.columns) row[column.field] = fromSqlValue(table, column, record[column.name]);
  return row;
}

/** `bytesSent` → `bytes_sent`: the query engine's result column of a field. */
export function resultColumnOf(column: TableColumn): string {
  return column.field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * A query engine's result row (Athena returns every value as text, NULL as null; columns named as
 * the fields in snake_case) → the row's values, numbers parsed; unchecked: the caller's row
 * schema checks them.
 */
export function fromResultRecord(
  table: TableDeclaration,
  record: Readonly<Record<string, string | null | undefined>>,
): Record<string, string | number | null> {
  const row: Record<string, string | number | null> = {};
  for (const column of table.columns) {
    const text = record[resultColumnOf(column)];
    row[column.field] =
      text === null || text === undefined
        ? null
        : isIntegerColumn(column) || column.type === 'double'
          ? Number(text)
          : text;
  }
  return row;
}

const HOUR_TEXT = new RegExp(HOUR_PATTERN.source);
const DATETIME_TEXT = (fsp: number) =>
  new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}${fsp > 0 ? `\\.\\d{${fsp}}` : ''}Z$`);

/** The zod schema of one column's row value: shape and declared ranges (lengths are the warehouse's to check). */
function columnSchema(column: TableColumn): z.ZodType {
  let schema: z.ZodType;
  if (isIntegerColumn(column)) {
    const { min, max } = integerRange(column);
    schema = z.number().int().min(min).max(max);
  } else if (column.type === 'double') {
    schema = column.min === undefined ? z.number() : z.number().min(column.min);
  } else if (column.type === 'hour') {
    schema = z.string().regex(HOUR_TEXT, 'expected an hour as YYYY-MM-DDTHH (UTC)');
  } else if (column.type === 'datetime') {
    schema = z
      .string()
      .regex(DATETIME_TEXT(column.fsp ?? 0), `expected ISO-8601 UTC with ${column.fsp ?? 0} fraction digits`);
  } else if (column.type === 'date') {
    schema = z.string().regex(DATE, 'expected YYYY-MM-DD');
  } else if (column.type === 'decimal') {
    schema = z.string().regex(DECIMAL, 'expected decimal text');
  } else if (isStringColumn(column)) {
    const rule = column.emptyString;
    schema = rule === 'refuse' || typeof rule === 'object' ? z.string().min(1) : z.string();
  } else {
    schema = z.instanceof(Uint8Array);
  }
  return column.nullable ? schema.nullable() : schema;
}

/**
 * The zod object schema of a table's rows, for checking rows at the steps' boundaries (query
 * results, hand-off files). Strict types come from the caller: `rowSchema<RowOf<typeof d>>(table)`.
 */
export function rowSchema<Row extends object = TableRow>(table: TableDeclaration): z.ZodType<Row> {
  const shape: Record<string, z.ZodType> = {};
  for (const column of table.columns) shape[column.field] = columnSchema(column);
  // The shape was built from the same declaration the Row type is derived from (RowOf), and a
  // test of each declared table checks the two agree.
  return z.object(shape) as unknown as z.ZodType<Row>;
}
