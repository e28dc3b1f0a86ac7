import { type ValueContract, valueContract } from '../contract';
import type { LineResult } from '../dataset';
import type { CellValue, Column, TableDefinition } from '../table';
import { parseTimestamp, textConverter } from './parser';

/**
 * The one mapping from CloudFront field names, in every spelling the formats use, to the curated
 * table's columns (`table.json`'s `field`):
 *
 * - legacy and v2 W3C `#Fields` and v2 JSON keys: `cs(User-Agent)`, `x-edge-location`, …
 * - real-time-log spellings a v2 field selection may use: `cs-user-agent`, `cs-host`, …
 * - v2 Parquet column names: `cs_user_agent`, `x_edge_location`, `timestamp_ms`, …
 *
 * all reduce to one key (lower case, runs of other characters → `_`). Time comes from `date` +
 * `time`, or, when a v2 field selection has neither, from `timestamp(ms)` (epoch milliseconds) or
 * `timestamp` (epoch seconds with a fraction). Fields the table lacks (`c-country`, `asn`,
 * `DistributionId`, …) are ignored.
 */
export function fieldKey(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Where a named field's value goes. */
export type FieldSlot =
  | { kind: 'column'; index: number; column: Column; fromText: (raw: string) => CellValue | undefined }
  | { kind: 'date' }
  | { kind: 'time' }
  | { kind: 'epoch-ms' }
  | { kind: 'epoch-seconds' };

const TIME_SLOTS: Record<string, FieldSlot> = {
  date: { kind: 'date' },
  time: { kind: 'time' },
  timestamp_ms: { kind: 'epoch-ms' },
  timestamp: { kind: 'epoch-seconds' },
};

/** The legacy `#Fields` names of the time fields, which the line parser requires. */
export const TIME_FIELD_NAMES = { date: 'date', time: 'time' } as const;

/** Latest instant a 4-digit year can spell (the parser's dates have 4 digits). */
const MAX_EPOCH_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export class FieldMap {
  private readonly byKey = new Map<string, FieldSlot>();
  private readonly memo = new Map<string, FieldSlot | undefined>();

  constructor(readonly table: TableDefinition) {
    for (const [key, slot] of Object.entries(TIME_SLOTS)) this.byKey.set(key, slot);
    table.columns.forEach((column, index) => {
      if (column.field === undefined) return;
      this.byKey.set(fieldKey(column.field), {
        kind: 'column',
        index,
        column,
        fromText: textConverter(column),
      });
    });
  }

  /** The slot a field name maps to, or undefined for a field the table does not keep. */
  slot(name: string): FieldSlot | undefined {
    if (this.memo.has(name)) return this.memo.get(name);
    const slot = this.byKey.get(fieldKey(name));
    this.memo.set(name, slot);
    return slot;
  }

  /** The legacy `#Fields` spelling of a name the table keeps (`cs-user-agent` → `cs(User-Agent)`). */
  legacyName(name: string): string | undefined {
    const slot = this.slot(name);
    if (slot === undefined) return undefined;
    switch (slot.kind) {
      case 'column':
        return slot.column.field;
      case 'date':
        return TIME_FIELD_NAMES.date;
      case 'time':
        return TIME_FIELD_NAMES.time;
      default:
        return name;
    }
  }
}

/** `timestamp(ms)` text (epoch milliseconds) → epoch ms, or undefined. */
export function epochMillisFromText(raw: string): number | undefined {
  if (!/^\d{1,16}$/.test(raw)) return undefined;
  return inRange(Number(raw));
}

/** `timestamp` text (epoch seconds, e.g. `1735787046.123`) → epoch ms, or undefined. */
export function epochSecondsFromText(raw: string): number | undefined {
  const match = /^(\d{1,13})(?:\.(\d{1,9}))?$/.exec(raw);
  if (!match) return undefined;
  // Integer arithmetic on the digits: 1735787046.123 * 1000 is not exact in binary floating point.
  const millis = Number((match[2] ?? '').padEnd(3, '0').slice(0, 3));
  return inRange(Number(match[1]) * 1000 + millis);
}

function inRange(ms: number): number | undefined {
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_EPOCH_MS ? ms : undefined;
}

/** Epoch ms → the legacy `date` and `time` texts (UTC), as the line parser reads them. */
export function legacyDateTime(ms: number): { date: string; time: string } {
  const iso = new Date(ms).toISOString(); // 2025-01-02T03:04:05.678Z
  return { date: iso.slice(0, 10), time: iso.slice(11, 23) };
}

/**
 * Builds one curated row from named values (a JSON object's keys, a Parquet row's columns), with
 * the line parser's rules for text values and typed values accepted as they are when they fit the
 * column: a number for a numeric column, a list of strings for `x-forwarded-for`, null for null.
 */
export class NamedRecordBuilder {
  private values: CellValue[] = [];
  private date: unknown;
  private time: unknown;
  private epochMs: unknown;
  private epochSeconds: unknown;
  private readonly width: number;
  private readonly timeColumn: number;
  private readonly sourceColumn: number;
  private readonly contract: ValueContract;

  constructor(
    table: TableDefinition,
    private readonly sourceFileId: string,
  ) {
    this.contract = valueContract(table);
    this.width = table.columns.length;
    this.timeColumn = table.columns.findIndex((column) => column.fields !== undefined);
    this.sourceColumn = table.columns.findIndex((column) => column.name === 'source_file');
  }

  start(): void {
    this.values = new Array<CellValue>(this.width).fill(null);
    this.date = this.time = this.epochMs = this.epochSeconds = undefined;
  }

  /** Puts one field's value; returns the reason when the value is not valid for its column. */
  put(slot: FieldSlot, value: unknown, name: string): string | undefined {
    switch (slot.kind) {
      case 'date':
        this.date = value;
        return undefined;
      case 'time':
        this.time = value;
        return undefined;
      case 'epoch-ms':
        this.epochMs = value;
        return undefined;
      case 'epoch-seconds':
        this.epochSeconds = value;
        return undefined;
      case 'column': {
        const cell = cellValue(slot, value);
        if (cell === undefined) return `${name}: not a valid ${slot.column.type}: ${describe(value)}`;
        this.values[slot.index] = cell;
        return undefined;
      }
    }
  }

  /** The row, timed by date + time, else `timestamp(ms)`, else `timestamp`; or the reason it has no time. */
  finish(): LineResult {
    const timeMs = this.timeMs();
    if (typeof timeMs === 'string') return { kind: 'reject', reason: timeMs };
    const problem = this.contract.apply(this.values);
    if (problem !== undefined) return { kind: 'reject', reason: problem };
    if (this.timeColumn >= 0) this.values[this.timeColumn] = timeMs;
    if (this.sourceColumn >= 0) this.values[this.sourceColumn] = this.sourceFileId;
    return { kind: 'row', values: this.values, timeMs };
  }

  private timeMs(): number | string {
    if (present(this.date) || present(this.time)) {
      const date = dateText(this.date);
      const time = typeof this.time === 'string' ? this.time : undefined;
      const ms = date !== undefined && time !== undefined ? parseTimestamp(date, time) : undefined;
      if (ms !== undefined) return ms;
      if (!present(this.epochMs) && !present(this.epochSeconds)) {
        return `unparseable date/time '${String(this.date ?? '-')} ${String(this.time ?? '-')}'`;
      }
    }
    if (present(this.epochMs)) {
      const ms = epochMillis(this.epochMs);
      return ms ?? `unparseable timestamp(ms) ${describe(this.epochMs)}`;
    }
    if (present(this.epochSeconds)) {
      const ms = epochSeconds(this.epochSeconds);
      return ms ?? `unparseable timestamp ${describe(this.epochSeconds)}`;
    }
    return 'no date and time (nor timestamp) in the record';
  }
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '-' && value !== '';
}

/** A date as text: CloudFront writes `YYYY-MM-DD`; a typed Parquet DATE arrives as epoch ms. */
function dateText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value % 86_400_000 === 0) {
    return inRange(value) === undefined ? undefined : new Date(value).toISOString().slice(0, 10);
  }
  return undefined;
}

function epochMillis(value: unknown): number | undefined {
  if (typeof value === 'string') return epochMillisFromText(value);
  if (typeof value === 'bigint') return inRange(Number(value));
  if (typeof value === 'number' && Number.isInteger(value)) return inRange(value);
  return undefined;
}

function epochSeconds(value: unknown): number | undefined {
  if (typeof value === 'string') return epochSecondsFromText(value);
  if (typeof value === 'bigint') return inRange(Number(value) * 1000);
  if (typeof value === 'number' && Number.isFinite(value)) return inRange(Math.round(value * 1000));
  return undefined;
}

const INT32_MAX = 2_147_483_647;

/** A field's value for its column, or undefined when it does not fit. */
function cellValue(slot: FieldSlot & { kind: 'column' }, value: unknown): CellValue | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return slot.fromText(value);
  const type = slot.column.type;
  if (typeof value === 'bigint') {
    if (type === 'string') return String(value);
    return Number.isSafeInteger(Number(value)) ? numberValue(type, Number(value)) : undefined;
  }
  if (typeof value === 'number') return type === 'string' ? String(value) : numberValue(type, value);
  if (typeof value === 'boolean') return type === 'string' ? String(value) : undefined;
  if (Array.isArray(value) && type === 'array<string>') {
    if (!value.every((item) => typeof item === 'string')) return undefined;
    return value.map((item: string) => item.trim()).filter((item) => item.length > 0);
  }
  return undefined;
}

function numberValue(type: Column['type'], value: number): number | undefined {
  switch (type) {
    case 'int':
      return Number.isInteger(value) && Math.abs(value) <= INT32_MAX ? value : undefined;
    case 'bigint':
      return Number.isSafeInteger(value) ? value : undefined;
    case 'double':
      return Number.isFinite(value) ? value : undefined;
    default:
      return undefined;
  }
}

/** A short, printable account of a value for a quarantine reason. */
function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value); // a bigint, or a list holding one
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
