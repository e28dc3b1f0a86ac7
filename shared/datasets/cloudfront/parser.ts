import { isUtf8 } from 'node:buffer';
import {
  hostProblem,
  isNormalAsciiHost,
  normalizeHost,
  type ValueContract,
  valueContract,
} from '../contract';
import type { ByteLineParser, ByteLineResult, LineResult } from '../dataset';
import {
  type CellValue,
  type Column,
  type RowSink,
  type TableDefinition,
  type TimeBounds,
  timeBoundsAt,
  timeOutOfBounds,
} from '../table';

/** Without these a row has no time, so no partition: a file lacking them is quarantined whole. */
const REQUIRED_FIELDS = ['date', 'time'] as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const INTEGER = /^-?\d{1,18}$/;
const DECIMAL = /^-?(?:\d+\.?\d*|\.\d+)$/;
const INT32_MAX = 2_147_483_647;

type Converter = (raw: string) => CellValue | typeof INVALID;
const INVALID = Symbol('invalid');

/** How the byte path reads a column: which field, and which of the typed appends it takes. */
type ByteKind =
  | 'string'
  | 'url'
  | 'host'
  | 'int'
  | 'bigint'
  | 'double'
  | 'list'
  | 'time'
  | 'source'
  | 'absent';

/** One column's reader: which field index it takes and how it converts the text. */
interface ColumnReader {
  column: number;
  field: number;
  fieldName: string;
  convert: Converter;
  type: string;
}

/** Powers of ten a decimal with at most 15 digits is divided by (all exact doubles). */
const POW10 = Array.from({ length: 16 }, (_, exponent) => 10 ** exponent);
const TAB = 9;
/** `YYYY-MM-DD` and a tab, then the hour's two digits. */
const HOUR_PREFIX = 13;
const HYPHEN = 45;
const PERCENT = 37;

/** Options for a parser: `now` decides the latest plausible timestamp (tests pass their own). */
export interface CloudFrontParserOptions {
  nowMs?: number;
  /** Earliest accepted instant (default: 2008-01-01, the partition projection's start). */
  earliestMs?: number;
}

/**
 * Parses CloudFront standard access log lines by the file's own `#Fields` line: any subset and
 * order of fields, the 24-, 26- and 33-field generations, space- or tab-separated header. Rules:
 * `-` is null; URL-encoded fields are decoded once (so `%2520` stays `%20`, recognisable as double
 * encoding); `x-forwarded-for` becomes a list; a missing column is null; a row whose field count
 * differs from `#Fields`, or with an unparseable number, date or time, or a time outside the
 * table's range (before the partition projection's start, or more than a day ahead), is rejected
 * with a reason naming the field. One trailing empty field (a stray tab before the line end) is
 * tolerated.
 *
 * Two ways in with the same results: `parse(line)` (a `CellValue[]` per row, for any caller) and
 * the byte path `parseBytes` + `appendPending` (no string per field; the transform's hot path).
 */
export class CloudFrontLineParser implements ByteLineParser {
  private readers: ColumnReader[] | undefined;
  private dateField = -1;
  private timeField = -1;
  private fieldCount = 0;
  private readonly width: number;
  private readonly timeColumn: number;
  private readonly sourceColumn: number;
  private readonly bounds: TimeBounds;
  // Byte path state: per column, how it is read and from which field; the current line's fields.
  private byteKinds: ByteKind[] = [];
  private byteFields = new Int32Array(0);
  private fieldStarts = new Int32Array(64);
  private fieldEnds = new Int32Array(64);
  private line: Uint8Array = new Uint8Array(0);
  private readonly numbers: Float64Array;
  private pendingTimeMs = 0;
  private readonly sourceBytes: Buffer;
  private lastDayKey = -1;
  private lastDayMs: number | undefined;
  /** `hourOf`'s last answer, and the bytes its line started with (`YYYY-MM-DD\tHH`). */
  private lastHour = -1;
  private readonly hourPrefix = new Uint8Array(HOUR_PREFIX);
  private decoded = Buffer.alloc(4096);
  private readonly contract: ValueContract;
  /** Per host column of the pending row: its normalized text, null, or undefined to keep its bytes. */
  private readonly hosts: Array<string | null | undefined>;

  constructor(
    private readonly table: TableDefinition,
    private readonly sourceFileId: string,
    options: CloudFrontParserOptions = {},
  ) {
    this.width = table.columns.length;
    this.timeColumn = table.columns.findIndex((column) => column.fields !== undefined);
    this.sourceColumn = table.columns.findIndex((column) => column.name === 'source_file');
    this.bounds = timeBoundsAt(options.nowMs ?? Date.now(), options.earliestMs);
    this.numbers = new Float64Array(this.width);
    this.sourceBytes = Buffer.from(sourceFileId, 'utf8');
    this.contract = valueContract(table);
    this.hosts = new Array<string | null | undefined>(this.width);
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
    const outside = timeOutOfBounds(timeMs, this.bounds);
    if (outside !== undefined) return { kind: 'reject', reason: outside };
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
    const problem = this.contract.apply(values);
    if (problem !== undefined) return { kind: 'reject', reason: problem };
    if (this.timeColumn >= 0) values[this.timeColumn] = timeMs;
    if (this.sourceColumn >= 0) values[this.sourceColumn] = this.sourceFileId;
    return { kind: 'row', values, timeMs };
  }

  /**
   * The byte path reads a file that starts with a `#Version` line and a `#Fields` line whose names
   * are all CloudFront's own (any other spelling, a byte-order mark or another format goes to the
   * dataset's other readers).
   */
  readsHead(head: Uint8Array): boolean {
    const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 64 * 1024)).toString('utf8');
    const lines = text.split('\n', 3);
    if (lines.length < 3 || !lines[0]!.startsWith('#Version:') || !lines[1]!.startsWith('#Fields:'))
      return false;
    const known = new Set<string>(REQUIRED_FIELDS);
    for (const column of this.table.columns) if (column.field !== undefined) known.add(column.field);
    const names = fieldNames(lines[1]!.replace(/\r$/, ''));
    return names.length > 0 && names.every((name) => known.has(name));
  }

  parseBytes(bytes: Uint8Array, start: number, lineEnd: number): ByteLineResult {
    let end = lineEnd;
    if (end > start && bytes[end - 1] === 13 /* \r */) end--;
    if (end === start) return SKIP;
    if (bytes[start] === 35 /* # */) {
      const result = this.header(
        Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8'),
      );
      if (result.kind === 'row') throw new Error('a header line is never a row');
      return result;
    }
    if (this.readers === undefined) return { kind: 'reject', reason: 'data row before any #Fields line' };

    // Field boundaries, in one pass over the line.
    const expected = this.fieldCount;
    const starts = this.fieldStarts;
    const ends = this.fieldEnds;
    let count = 0;
    let fieldStart = start;
    for (let index = start; index < end; index++) {
      if (bytes[index] === TAB) {
        if (count <= expected) {
          starts[count] = fieldStart;
          ends[count] = index;
        }
        count++;
        fieldStart = index + 1;
      }
    }
    if (count <= expected) {
      starts[count] = fieldStart;
      ends[count] = end;
    }
    count++;
    if (count === expected + 1 && ends[expected] === starts[expected]) count--;
    if (count !== expected)
      return { kind: 'reject', reason: `field count ${count} ≠ ${expected} in #Fields` };
    this.line = bytes;

    const timeMs = this.timestampOf(bytes);
    if (timeMs === undefined) {
      return {
        kind: 'reject',
        reason: `unparseable date/time '${this.text(this.dateField)} ${this.text(this.timeField)}'`,
      };
    }
    const outside = timeOutOfBounds(timeMs, this.bounds);
    if (outside !== undefined) return { kind: 'reject', reason: outside };

    // Numbers are converted (and so checked) before anything is written: a reject writes nothing.
    const kinds = this.byteKinds;
    const fieldOf = this.byteFields;
    for (let column = 0; column < kinds.length; column++) {
      const kind = kinds[column]!;
      if (kind !== 'int' && kind !== 'bigint' && kind !== 'double') continue;
      const field = fieldOf[column]!;
      const from = starts[field]!;
      const to = ends[field]!;
      if (to === from || (to === from + 1 && bytes[from] === HYPHEN)) {
        this.numbers[column] = Number.NaN; // null
        continue;
      }
      const value = kind === 'double' ? decimalOf(bytes, from, to) : integerOf(bytes, from, to, kind);
      if (value === undefined) {
        return {
          kind: 'reject',
          reason: `${this.table.columns[column]!.field}: not a valid ${kind}: '${truncate(this.text(field))}'`,
        };
      }
      const outside = this.contract.numberProblem(column, value);
      if (outside !== undefined) return { kind: 'reject', reason: outside };
      this.numbers[column] = value;
    }
    // Hosts are checked (and normalized when not already in normal form) before anything is written.
    for (const column of this.contract.hostColumns) {
      if (kinds[column] !== 'host') continue;
      const field = fieldOf[column]!;
      const from = starts[field]!;
      const to = ends[field]!;
      if (isNormalAsciiHost(bytes, from, to)) {
        this.hosts[column] = undefined;
        continue;
      }
      const host = normalizeHost(this.text(field));
      const problem = host === null ? undefined : hostProblem(host);
      if (problem !== undefined) {
        return { kind: 'reject', reason: `${this.table.columns[column]!.field}: ${problem}` };
      }
      this.hosts[column] = host;
    }
    this.pendingTimeMs = timeMs;
    return { kind: 'pending', timeMs };
  }

  appendPending(sink: RowSink): void {
    const bytes = this.line;
    const kinds = this.byteKinds;
    const fieldOf = this.byteFields;
    const starts = this.fieldStarts;
    const ends = this.fieldEnds;
    for (let column = 0; column < kinds.length; column++) {
      const kind = kinds[column]!;
      switch (kind) {
        case 'int':
        case 'bigint':
        case 'double': {
          const value = this.numbers[column]!;
          const target = sink.numbers[column]!;
          if (Number.isNaN(value)) target.appendNull();
          else target.appendNumber(value);
          break;
        }
        case 'string':
        case 'url': {
          const field = fieldOf[column]!;
          const from = starts[field]!;
          const to = ends[field]!;
          const target = sink.strings[column]!;
          if (to === from + 1 && bytes[from] === HYPHEN) target.appendNull();
          else if (kind === 'url') this.appendDecoded(target, bytes, from, to);
          else target.appendBytes(bytes, from, to);
          break;
        }
        case 'host': {
          const host = this.hosts[column];
          const target = sink.strings[column]!;
          if (host === undefined)
            target.appendBytes(bytes, starts[fieldOf[column]!]!, ends[fieldOf[column]!]!);
          else if (host === null) target.appendNull();
          else target.appendString(host);
          break;
        }
        case 'list': {
          const field = fieldOf[column]!;
          appendList(sink.lists[column]!, bytes, starts[field]!, ends[field]!);
          break;
        }
        case 'time':
          sink.numbers[column]!.appendNumber(this.pendingTimeMs);
          break;
        case 'source':
          sink.strings[column]!.appendBytes(this.sourceBytes, 0, this.sourceBytes.length);
          break;
        case 'absent': {
          const target = sink.strings[column] ?? sink.numbers[column] ?? sink.lists[column];
          target!.appendNull();
          break;
        }
      }
    }
    sink.endRow();
  }

  /** Percent-decoded once, as `decodeURIComponent` does; a malformed value is kept as it came. */
  private appendDecoded(
    target: { appendBytes(bytes: Uint8Array, start: number, end: number): void },
    bytes: Uint8Array,
    from: number,
    to: number,
  ): void {
    let percent = -1;
    for (let index = from; index < to; index++) {
      if (bytes[index] === PERCENT) {
        percent = index;
        break;
      }
    }
    if (percent < 0) {
      target.appendBytes(bytes, from, to);
      return;
    }
    if (this.decoded.length < to - from) this.decoded = Buffer.alloc(2 * (to - from));
    const out = this.decoded;
    let length = 0;
    let high = false;
    for (let index = from; index < to; index++) {
      const byte = bytes[index]!;
      if (byte !== PERCENT) {
        out[length++] = byte;
        continue;
      }
      const value = index + 2 < to ? (hexValue(bytes[index + 1]!) << 4) | hexValue(bytes[index + 2]!) : -1;
      if (value < 0) {
        target.appendBytes(bytes, from, to); // `%` not followed by two hex digits: URIError
        return;
      }
      if (value >= 0x80) high = true;
      out[length++] = value;
      index += 2;
    }
    // Escaped bytes that are not UTF-8 (`%FF`, a lone `%C3`) make decodeURIComponent throw too.
    if (high && !isUtf8(out.subarray(0, length))) target.appendBytes(bytes, from, to);
    else target.appendBytes(out, 0, length);
  }

  /** date + time fields → epoch ms; the day is remembered (consecutive rows share it). */
  hourOf(bytes: Uint8Array, start: number, end: number): number {
    if (this.readers === undefined || end === start || bytes[start] === 35 /* # */) return -1;
    // CloudFront's own order (date, then time): a line that starts as the last one did, up to the
    // hour's digits, is in the same hour (a hint: parseBytes still checks the line).
    const prefix = this.hourPrefix;
    if (this.dateField === 0 && this.timeField === 1 && end - start > HOUR_PREFIX && this.lastHour >= 0) {
      let same = true;
      for (let index = 0; index < HOUR_PREFIX; index++) {
        if (bytes[start + index] !== prefix[index]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastHour;
    }
    const last = Math.max(this.dateField, this.timeField);
    const starts = this.fieldStarts;
    const ends = this.fieldEnds;
    let field = 0;
    let fieldStart = start;
    for (let index = start; index < end && field <= last; index++) {
      if (bytes[index] === TAB) {
        starts[field] = fieldStart;
        ends[field] = index;
        field++;
        fieldStart = index + 1;
      }
    }
    if (field <= last) {
      if (field < last) return -1;
      starts[field] = fieldStart;
      ends[field] = end > start && bytes[end - 1] === 13 /* \r */ ? end - 1 : end;
    }
    const timeMs = this.timestampOf(bytes);
    if (timeMs === undefined || timeOutOfBounds(timeMs, this.bounds) !== undefined) return -1;
    const hour = Math.floor(timeMs / 3_600_000);
    prefix.set(bytes.subarray(start, start + HOUR_PREFIX));
    this.lastHour = end - start > HOUR_PREFIX ? hour : -1;
    return hour;
  }

  private timestampOf(bytes: Uint8Array): number | undefined {
    const dateFrom = this.fieldStarts[this.dateField]!;
    const dateTo = this.fieldEnds[this.dateField]!;
    const timeFrom = this.fieldStarts[this.timeField]!;
    const timeTo = this.fieldEnds[this.timeField]!;
    if (dateTo - dateFrom !== 10 || bytes[dateFrom + 4] !== HYPHEN || bytes[dateFrom + 7] !== HYPHEN) {
      return undefined;
    }
    const year = digits(bytes, dateFrom, 4);
    const month = digits(bytes, dateFrom + 5, 2);
    const day = digits(bytes, dateFrom + 8, 2);
    if (year < 0 || month < 0 || day < 0) return undefined;
    const dayKey = year * 10_000 + month * 100 + day;
    if (dayKey !== this.lastDayKey) {
      const days = epochDayOf(year, month, day);
      this.lastDayKey = dayKey;
      this.lastDayMs = days === undefined ? undefined : days * 86_400_000;
    }
    if (this.lastDayMs === undefined) return undefined;
    const length = timeTo - timeFrom;
    if (length < 8 || length === 9 || length > 12) return undefined;
    if (bytes[timeFrom + 2] !== 58 || bytes[timeFrom + 5] !== 58) return undefined; // ':'
    const hour = digits(bytes, timeFrom, 2);
    const minute = digits(bytes, timeFrom + 3, 2);
    const second = digits(bytes, timeFrom + 6, 2);
    if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 59) return undefined;
    let millis = 0;
    if (length > 8) {
      if (bytes[timeFrom + 8] !== 46) return undefined; // '.'
      const fraction = digits(bytes, timeFrom + 9, length - 9);
      if (fraction < 0) return undefined;
      millis = fraction * (length === 10 ? 100 : length === 11 ? 10 : 1);
    }
    return this.lastDayMs + hour * 3_600_000 + minute * 60_000 + second * 1_000 + millis;
  }

  private text(field: number): string {
    const from = this.fieldStarts[field]!;
    return Buffer.from(this.line.buffer, this.line.byteOffset + from, this.fieldEnds[field]! - from).toString(
      'utf8',
    );
  }

  private header(line: string): LineResult {
    if (!line.startsWith('#Fields:')) return { kind: 'skip' };
    const names = fieldNames(line);
    const missing = REQUIRED_FIELDS.filter((name) => !names.includes(name));
    if (missing.length > 0) return { kind: 'fatal', reason: `#Fields lacks ${missing.join(' and ')}` };
    this.fieldCount = names.length;
    this.dateField = names.indexOf('date');
    this.timeField = names.indexOf('time');
    this.readers = [];
    this.byteKinds = [];
    this.byteFields = new Int32Array(this.width);
    if (this.fieldStarts.length < names.length + 2) {
      this.fieldStarts = new Int32Array(names.length + 2);
      this.fieldEnds = new Int32Array(names.length + 2);
    }
    this.table.columns.forEach((column, index) => {
      const field = column.field === undefined ? -1 : names.indexOf(column.field);
      this.byteFields[index] = field;
      this.byteKinds.push(byteKind(column, index, field, this.timeColumn, this.sourceColumn));
      if (column.field === undefined || field < 0) return; // older generations lack later fields: null
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

const SKIP: ByteLineResult = Object.freeze({ kind: 'skip' });

function fieldNames(line: string): string[] {
  return line
    .slice('#Fields:'.length)
    .trim()
    .split(/[\t ]+/)
    .filter(Boolean);
}

function byteKind(
  column: Column,
  index: number,
  field: number,
  timeColumn: number,
  sourceColumn: number,
): ByteKind {
  if (index === timeColumn) return 'time';
  if (index === sourceColumn) return 'source';
  if (field < 0 || column.type === 'timestamp') return 'absent';
  switch (column.type) {
    case 'string':
      if (column.normalize === 'host') return 'host';
      return column.decode === 'url' ? 'url' : 'string';
    case 'array<string>':
      return 'list';
    default:
      return column.type;
  }
}

/** `count` ASCII digits at `from` as a number, or -1 if any is not a digit. */
function digits(bytes: Uint8Array, from: number, count: number): number {
  let value = 0;
  for (let index = from; index < from + count; index++) {
    const digit = bytes[index]! - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -256; // keeps the combined value negative
}

/** `-?\d{1,18}` as an int32 (`int`) or a safe integer (`bigint`), else undefined. */
function integerOf(bytes: Uint8Array, from: number, to: number, kind: 'int' | 'bigint'): number | undefined {
  const negative = bytes[from] === HYPHEN;
  const first = negative ? from + 1 : from;
  const count = to - first;
  if (count < 1 || count > 18) return undefined;
  let value: number;
  if (count <= 15) {
    value = digits(bytes, first, count);
    if (value < 0) return undefined;
    if (negative) value = -value;
  } else {
    if (digits(bytes, first, count - 9) < 0 || digits(bytes, to - 9, 9) < 0) return undefined;
    value = Number(Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1'));
  }
  if (kind === 'int') return Math.abs(value) > INT32_MAX ? undefined : value;
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * `-?(\d+\.?\d*|\.\d+)` as the double `Number(text)` gives: up to 15 digits exactly as the integer
 * of its digits divided by a power of ten (both exact, so the quotient is correctly rounded), longer
 * ones through `Number`.
 */
function decimalOf(bytes: Uint8Array, from: number, to: number): number | undefined {
  const negative = bytes[from] === HYPHEN;
  let mantissa = 0;
  let count = 0;
  let fraction = 0;
  let dot = false;
  for (let index = negative ? from + 1 : from; index < to; index++) {
    const byte = bytes[index]!;
    if (byte >= 48 && byte <= 57) {
      mantissa = mantissa * 10 + (byte - 48);
      count++;
      if (dot) fraction++;
    } else if (byte === 46 && !dot) dot = true;
    else return undefined;
  }
  if (count === 0) return undefined;
  if (count > 15)
    return Number(Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1'));
  const value = fraction === 0 ? mantissa : mantissa / POW10[fraction]!;
  return negative ? -value : value;
}

/** `x-forwarded-for`: comma-separated, items trimmed, empty items dropped, as `parse` does. */
function appendList(
  target: {
    items: { appendBytes(b: Uint8Array, s: number, e: number): void; appendString(v: string): void };
    endList(): void;
    appendNull(): void;
  },
  bytes: Uint8Array,
  from: number,
  to: number,
): void {
  if (to === from + 1 && bytes[from] === HYPHEN) {
    target.appendNull();
    return;
  }
  for (let index = from; index < to; index++) {
    if (bytes[index]! >= 0x80) {
      // Non-ASCII: JavaScript's trim knows Unicode spaces; let it decide.
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('utf8');
      for (const part of text.split(',')) {
        const item = part.trim();
        if (item.length > 0) target.items.appendString(item);
      }
      target.endList();
      return;
    }
  }
  let itemStart = from;
  for (let index = from; index <= to; index++) {
    if (index < to && bytes[index] !== 44 /* , */) continue;
    let first = itemStart;
    let last = index;
    while (first < last && isAsciiSpace(bytes[first]!)) first++;
    while (last > first && isAsciiSpace(bytes[last - 1]!)) last--;
    if (last > first) target.items.appendBytes(bytes, first, last);
    itemStart = index + 1;
  }
  target.endList();
}

function isAsciiSpace(byte: number): boolean {
  return byte === 32 || (byte >= 9 && byte <= 13);
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
  const millis = t[4] ? Number(t[4].padEnd(3, '0')) : 0;
  return instant(Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3]), millis);
}

/**
 * Epoch ms of a UTC calendar instant, or undefined when it does not exist (2024-02-30, 25:00).
 * Days are counted here rather than by `Date.UTC`, which reads years 0–99 as 1900–1999.
 */
function instant(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
): number | undefined {
  const days = epochDayOf(year, month, day);
  if (days === undefined || hour > 23 || minute > 59 || second > 59) return undefined;
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + millis;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days from 1970-01-01 to a proleptic Gregorian date, or undefined for a date that does not exist. */
function epochDayOf(year: number, month: number, day: number): number | undefined {
  if (month < 1 || month > 12 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : MONTH_DAYS[month - 1]!)) return undefined;
  // Civil date → day count over 400-year eras (March-based years put the leap day last).
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
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
