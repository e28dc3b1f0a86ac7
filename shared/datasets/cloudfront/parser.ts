import type { LineParser, LineResult } from '../dataset';
import type { CellValue, Column, TableDefinition } from '../table';

/** Without these a row has no time, so no partition: a file lacking them is quarantined whole. */
const REQUIRED_FIELDS = ['date', 'time'] as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const INTEGER = /^-?\d{1,18}$/;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)$/;
const INT32_MAX = 2_147_483_647;

type Converter = (raw: string) => CellValue | typeof INVALID;
const INVALID = Symbol('invalid');

/** One column's reader: which field index it takes and how it converts the text. */
interface ColumnReader {
  column: number;
  field: number;
  fieldName: string;
  convert: Converter;
  type: string;
}

/**
 * Parses CloudFront standard access log lines by the file's own `#Fields` line: any subset and
 * order of fields, the 24-, 26- and 33-field generations, space- or tab-separated header. Rules:
 * `-` is null; URL-encoded fields are decoded once (so `%2520` stays `%20`, recognisable as double
 * encoding); `x-forwarded-for` becomes a list; a missing column is null; a row whose field count
 * differs from `#Fields`, or with an unparseable number, date or time, is rejected with a reason
 * naming the field. One trailing empty field (a stray tab before the line end) is tolerated.
 */
export class CloudFrontLineParser implements LineParser {
  private readers: ColumnReader[] | undefined;
  private dateField = -1;
  private timeField = -1;
  private fieldCount = 0;
  private readonly width: number;
  private readonly timeColumn: number;
  private readonly sourceColumn: number;

  constructor(
    private readonly table: TableDefinition,
    private readonly sourceFileId: string,
  ) {
    this.width = table.columns.length;
    this.timeColumn = table.columns.findIndex((column) => column.fields !== undefined);
    this.sourceColumn = table.columns.findIndex((column) => column.name === 'source_file');
  }

  parse(rawLine: string): LineResult {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length === 0) return { kind: 'skip' };
    if (line.charCodeAt(0) === 35 /* # */) return this.header(line);
    if (this.readers === undefined) return { kind: 'reject', reason: 'data row before any #Fields line' };

    const fields = line.split('\t');
    if (fields.length === this.fieldCount + 1 && fields[this.fieldCount] === '') fields.pop();
    if (fields.length !== this.fieldCount) {
      return { kind: 'reject', reason: `field count ${fields.length} ≠ ${this.fieldCount} in #Fields` };
    }

    const timeMs = parseTimestamp(fields[this.dateField] ?? '', fields[this.timeField] ?? '');
    if (timeMs === undefined) {
      return {
        kind: 'reject',
        reason: `unparseable date/time '${fields[this.dateField]} ${fields[this.timeField]}'`,
      };
    }
    const values: CellValue[] = new Array<CellValue>(this.width).fill(null);
    for (const reader of this.readers) {
      const raw = fields[reader.field] ?? '-';
      if (raw === '-' || (raw === '' && reader.type !== 'string')) continue;
      const value = reader.convert(raw);
      if (value === INVALID) {
        return {
          kind: 'reject',
          reason: `${reader.fieldName}: not a valid ${reader.type}: '${truncate(raw)}'`,
        };
      }
      values[reader.column] = value;
    }
    if (this.timeColumn >= 0) values[this.timeColumn] = timeMs;
    if (this.sourceColumn >= 0) values[this.sourceColumn] = this.sourceFileId;
    return { kind: 'row', values, timeMs };
  }

  private header(line: string): LineResult {
    if (!line.startsWith('#Fields:')) return { kind: 'skip' };
    const names = line
      .slice('#Fields:'.length)
      .trim()
      .split(/[\t ]+/)
      .filter(Boolean);
    const missing = REQUIRED_FIELDS.filter((name) => !names.includes(name));
    if (missing.length > 0) return { kind: 'fatal', reason: `#Fields lacks ${missing.join(' and ')}` };
    this.fieldCount = names.length;
    this.dateField = names.indexOf('date');
    this.timeField = names.indexOf('time');
    this.readers = [];
    this.table.columns.forEach((column, index) => {
      if (column.field === undefined) return;
      const field = names.indexOf(column.field);
      if (field < 0) return; // older generations lack later fields: the column stays null
      this.readers?.push({
        column: index,
        field,
        fieldName: column.field,
        convert: converterFor(column),
        type: column.type,
      });
    });
    return { kind: 'skip' };
  }
}

function converterFor(column: Column): Converter {
  switch (column.type) {
    case 'string':
      return column.decode === 'url' ? decodeOnce : (raw) => raw;
    case 'int':
      return (raw) => {
        if (!INTEGER.test(raw)) return INVALID;
        const value = Number(raw);
        return Math.abs(value) > INT32_MAX ? INVALID : value;
      };
    case 'bigint':
      return (raw) => {
        if (!INTEGER.test(raw)) return INVALID;
        const value = Number(raw);
        return Number.isSafeInteger(value) ? value : INVALID;
      };
    case 'double':
      return (raw) => (DECIMAL.test(raw) ? Number(raw) : INVALID);
    case 'array<string>':
      // `x-forwarded-for`: comma-separated, with or without a space after the comma.
      return (raw) =>
        raw
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0);
    case 'timestamp':
      return () => INVALID; // timestamps come from date + time, never from a single field
  }
}

/** Decodes percent-encoding once; a malformed sequence leaves the value as it came (never a reject). */
function decodeOnce(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** `YYYY-MM-DD` + `HH:MM:SS[.fff]` in UTC → epoch ms, or undefined when either is not a real instant. */
export function parseTimestamp(date: string, time: string): number | undefined {
  const d = DATE.exec(date);
  const t = TIME.exec(time);
  if (!d || !t) return undefined;
  const year = Number(d[1]);
  const month = Number(d[2]);
  const day = Number(d[3]);
  const hour = Number(t[1]);
  const minute = Number(t[2]);
  const second = Number(t[3]);
  const millis = t[4] ? Number(t[4].padEnd(3, '0')) : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2024-02-30 over into March: reject what does not round-trip.
  if (new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}

function truncate(value: string, max = 60): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * The rule `parse` applies to one column's raw text, for the readers of the other formats (JSON
 * lines, Parquet), so every format stores a value the same way: `-` (and an empty non-string) is
 * null; undefined means the text is not a valid value of the column's type.
 */
export function textConverter(column: Column): (raw: string) => CellValue | undefined {
  const convert = converterFor(column);
  return (raw) => {
    if (raw === '-' || (raw === '' && column.type !== 'string')) return null;
    const value = convert(raw);
    return value === INVALID ? undefined : value;
  };
}
