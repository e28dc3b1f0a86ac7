import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBIntervalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';

/**
 * How Athena presents results: column metadata with Trino type names, every value as a string in
 * Trino's notation, CSV files with every value quoted, and GetQueryResults pages.
 */

export interface ResultColumn {
  name: string;
  /** Athena's type name: varchar, bigint, integer, double, boolean, timestamp, decimal, array, … */
  type: string;
  precision: number;
  scale: number;
  caseSensitive: boolean;
}

/** A result cell: `null` is SQL NULL (an empty, unquoted CSV field). */
export type Cell = string | null;

/** Maps a DuckDB result type to what Athena reports for the equivalent Trino type. */
export function resultColumn(name: string, type: DuckDBType): ResultColumn {
  const column = (athenaType: string, precision: number, scale = 0, caseSensitive = false): ResultColumn => ({
    name,
    type: athenaType,
    precision,
    scale,
    caseSensitive,
  });
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
    case DuckDBTypeId.UUID:
      return column('varchar', 2147483647, 0, true);
    case DuckDBTypeId.BOOLEAN:
      return column('boolean', 0);
    case DuckDBTypeId.TINYINT:
      return column('tinyint', 3);
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.UTINYINT:
      return column('smallint', 5);
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.USMALLINT:
      return column('integer', 10);
    // DuckDB widens sum(bigint) to HUGEINT and counts as UBIGINT where Trino stays at bigint.
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return column('bigint', 19);
    case DuckDBTypeId.FLOAT:
      return column('real', 7);
    case DuckDBTypeId.DOUBLE:
      return column('double', 17);
    case DuckDBTypeId.DECIMAL:
      return column('decimal', type.width, type.scale);
    case DuckDBTypeId.DATE:
      return column('date', 0);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS:
      return column('timestamp', 3);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return column('timestamp with time zone', 3);
    case DuckDBTypeId.TIME:
      return column('time', 3);
    case DuckDBTypeId.INTERVAL:
      return column('interval day to second', 0);
    case DuckDBTypeId.BLOB:
      return column('varbinary', 0);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return column('array', 0);
    case DuckDBTypeId.MAP:
      return column('map', 0);
    case DuckDBTypeId.STRUCT:
      return column('row', 0);
    default:
      return column('varchar', 2147483647, 0, true);
  }
}

/** A value in Athena's notation, or null for SQL NULL. */
export function renderCell(value: DuckDBValue, type: DuckDBType): Cell {
  return value === null ? null : render(value, type);
}

function render(value: DuckDBValue, type: DuckDBType | undefined): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') {
    if (type?.typeId === DuckDBTypeId.FLOAT) return javaFloat(value);
    if (type?.typeId === DuckDBTypeId.DOUBLE) return javaDouble(value);
    // INTEGER, SMALLINT, TINYINT (and the unsigned ones) arrive as JS numbers too.
    return Number.isInteger(value) ? String(value) : javaDouble(value);
  }
  if (value instanceof DuckDBTimestampValue) return formatTimestamp(value.micros);
  if (value instanceof DuckDBTimestampTZValue) return `${formatTimestamp(value.micros)} UTC`;
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toString();
  if (value instanceof DuckDBTimeValue) return formatTimestamp(value.micros).slice(11);
  if (value instanceof DuckDBBlobValue) {
    return [...value.bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
  }
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    const element =
      type?.typeId === DuckDBTypeId.LIST || type?.typeId === DuckDBTypeId.ARRAY ? type.valueType : undefined;
    return `[${value.items.map((item) => render(item, element)).join(', ')}]`;
  }
  if (value instanceof DuckDBMapValue) {
    const keyType = type?.typeId === DuckDBTypeId.MAP ? type.keyType : undefined;
    const valueType = type?.typeId === DuckDBTypeId.MAP ? type.valueType : undefined;
    // Athena prints map entries in ascending key order (numerically for numeric keys).
    const entries = value.entries.map((entry) => ({
      key: entry.key,
      text: `${render(entry.key, keyType)}=${render(entry.value, valueType)}`,
    }));
    entries.sort((a, b) => compareKeys(a.key, b.key, keyType));
    return `{${entries.map((entry) => entry.text).join(', ')}}`;
  }
  if (value instanceof DuckDBStructValue) {
    const fieldType = (name: string) =>
      type?.typeId === DuckDBTypeId.STRUCT ? type.entryTypes[type.entryIndexes[name] ?? -1] : undefined;
    return `{${Object.entries(value.entries)
      .map(([name, field]) =>
        name === '' ? render(field, fieldType(name)) : `${name}=${render(field, fieldType(name))}`,
      )
      .join(', ')}}`;
  }
  if (value instanceof DuckDBIntervalValue) return formatInterval(value);
  return String(value);
}

function compareKeys(a: DuckDBValue, b: DuckDBValue, type: DuckDBType | undefined): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const left = render(a, type);
  const right = render(b, type);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `2024-01-01 00:00:00.000`: Athena's timestamp(3), rounded to the millisecond like Trino's cast. */
function formatTimestamp(micros: bigint): string {
  const millis = micros >= 0n ? (micros + 500n) / 1000n : (micros - 500n) / 1000n;
  const date = new Date(Number(millis));
  if (Number.isNaN(date.getTime())) return String(micros);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

function formatInterval(value: DuckDBIntervalValue): string {
  if (value.days === 0 && value.micros === 0n && value.months !== 0) {
    return `${Math.trunc(value.months / 12)}-${Math.abs(value.months % 12)}`;
  }
  const totalMillis = Number(value.micros / 1000n);
  const sign = totalMillis < 0 || value.days < 0 ? '-' : '';
  const millis = Math.abs(totalMillis);
  const pad = (n: number, width = 2) => String(Math.trunc(n)).padStart(width, '0');
  const time = `${pad(millis / 3_600_000)}:${pad((millis / 60_000) % 60)}:${pad((millis / 1000) % 60)}.${pad(millis % 1000, 3)}`;
  return `${sign}${Math.abs(value.days)} ${time}`;
}

/**
 * Java's `Double.toString`, which Trino uses: shortest round-trip digits, plain notation for
 * 1e-3 <= |x| < 1e7 (always with a fraction digit, `1.0`), scientific otherwise (`1.0E7`).
 */
export function javaDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '0', exponentText = '0'] = value.toExponential().split('e');
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const exponent = Number(exponentText);
  const sign = negative ? '-' : '';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exponent >= 0) {
      const integer = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
      const fraction = digits.slice(exponent + 1) || '0';
      return `${sign}${integer}.${fraction}`;
    }
    return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  }
  return `${sign}${digits[0]}.${digits.slice(1) || '0'}E${exponent}`;
}

/** Java's `Float.toString` for a REAL: the shortest digits that round-trip through float32. */
export function javaFloat(value: number): string {
  if (!Number.isFinite(value)) return javaDouble(value);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return javaDouble(candidate);
  }
  return javaDouble(value);
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/** One CSV line as Athena writes it: every value double-quoted, NULL as an empty field, `\n`. */
export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map((cell) => (cell === null ? '' : `"${cell.replaceAll('"', '""')}"`)).join(',')}\n`;
}

/** Parses an Athena result CSV back into rows, telling `""` (empty string) from `` (NULL). */
export function parseCsv(text: string): Cell[][] {
  const rows: Cell[][] = [];
  let row: Cell[] = [];
  let i = 0;
  let fieldStart = true;
  while (i < text.length) {
    const char = text[i];
    if (fieldStart && char === '"') {
      let value = '';
      i++;
      for (;;) {
        const next = text.indexOf('"', i);
        if (next === -1) throw new Error('unterminated quoted field in result CSV');
        value += text.slice(i, next);
        if (text[next + 1] === '"') {
          value += '"';
          i = next + 2;
          continue;
        }
        i = next + 1;
        break;
      }
      row.push(value);
      fieldStart = false;
      continue;
    }
    if (char === ',') {
      if (fieldStart) row.push(null);
      fieldStart = true;
      i++;
      continue;
    }
    if (char === '\n') {
      if (fieldStart && (row.length > 0 || text[i - 1] === ',')) row.push(null);
      rows.push(row);
      row = [];
      fieldStart = true;
      i++;
      continue;
    }
    throw new Error(`unexpected character ${JSON.stringify(char)} in result CSV`);
  }
  if (row.length > 0 || !fieldStart) rows.push(row);
  // A row of one NULL column is an empty line: give it the header's width.
  const width = rows[0]?.length ?? 0;
  return rows.map((cells) => (cells.length === 0 && width > 0 ? new Array<Cell>(width).fill(null) : cells));
}

// ---------------------------------------------------------------------------------------------
// GetQueryResults
// ---------------------------------------------------------------------------------------------

/** GetQueryResults returns at most 1,000 rows per page (MaxResults is capped at 1,000). */
export const MAX_PAGE_ROWS = 1000;

export function columnInfo(columns: readonly ResultColumn[]): Record<string, unknown>[] {
  return columns.map((column) => ({
    CatalogName: 'hive',
    SchemaName: '',
    TableName: '',
    Name: column.name,
    Label: column.name,
    Type: column.type,
    Precision: column.precision,
    Scale: column.scale,
    Nullable: 'UNKNOWN',
    CaseSensitive: column.caseSensitive,
  }));
}

export function rowShape(cells: readonly Cell[]): { Data: { VarCharValue?: string }[] } {
  return { Data: cells.map((cell) => (cell === null ? {} : { VarCharValue: cell })) };
}

export interface PageToken {
  queryExecutionId: string;
  offset: number;
}

export function encodePageToken(token: PageToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

export function decodePageToken(text: string): PageToken | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'queryExecutionId' in parsed &&
      'offset' in parsed &&
      typeof parsed.queryExecutionId === 'string' &&
      typeof parsed.offset === 'number' &&
      Number.isInteger(parsed.offset) &&
      parsed.offset >= 0
    ) {
      return { queryExecutionId: parsed.queryExecutionId, offset: parsed.offset };
    }
  } catch {
    // Fall through: an unreadable token is the caller's error.
  }
  return undefined;
}

/** Parsed result files of recent queries, so paging does not re-read and re-parse the CSV per page. */
export class ResultCache {
  private readonly entries = new Map<string, Cell[][]>();

  constructor(private readonly capacity = 8) {}

  get(key: string): Cell[][] | undefined {
    const rows = this.entries.get(key);
    if (rows !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, rows);
    }
    return rows;
  }

  set(key: string, rows: Cell[][]): void {
    this.entries.delete(key);
    this.entries.set(key, rows);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}
