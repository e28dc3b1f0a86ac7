import { HOST_MAX_BYTES, HOST_MAX_CHARS } from '#shared/core/aggregate-row';
import type { CellValue, TableDefinition } from './table';

/**
 * The value contract of a curated table, derived from its `table.json` (`min`, `max`,
 * `normalize`) and from the limits of the aggregate's keys (`aggregate-row.ts`). The transform
 * applies it to every row of every format; a row with a value outside it is quarantined with the
 * reason, so a value that passes the transform passes the aggregate, staging and the warehouse
 * (docs/cloudfront-formats.md, "The value contract").
 */
export interface ValueContract {
  /** Normalizes `values` (the table's columns, in order) in place; the reason a value breaks the contract, if one does. */
  apply(values: CellValue[]): string | undefined;
  /** Why `value` is outside column `index`'s range, or undefined. */
  numberProblem(index: number, value: number): string | undefined;
  /** Indexes of the columns normalized as host names. */
  readonly hostColumns: readonly number[];
}

interface Range {
  min: number;
  max: number;
}

export function valueContract(table: TableDefinition): ValueContract {
  const ranges: Array<Range | undefined> = table.columns.map((column) =>
    column.min === undefined && column.max === undefined
      ? undefined
      : { min: column.min ?? Number.NEGATIVE_INFINITY, max: column.max ?? Number.POSITIVE_INFINITY },
  );
  const names = table.columns.map((column) => column.field ?? column.name);
  const hostColumns = table.columns.flatMap((column, index) => (column.normalize === 'host' ? [index] : []));
  const numberProblem = (index: number, value: number): string | undefined => {
    const range = ranges[index];
    if (range === undefined || (value >= range.min && value <= range.max)) return undefined;
    return `${names[index]}: ${value} is outside ${describeRange(range)}`;
  };
  return {
    hostColumns,
    numberProblem,
    apply(values) {
      for (let index = 0; index < values.length; index++) {
        const value = values[index];
        if (typeof value === 'number') {
          const problem = numberProblem(index, value);
          if (problem !== undefined) return problem;
        }
      }
      for (const index of hostColumns) {
        const value = values[index];
        if (typeof value !== 'string') continue;
        const host = normalizeHost(value);
        const problem = host === null ? undefined : hostProblem(host);
        if (problem !== undefined) return `${names[index]}: ${problem}`;
        values[index] = host;
      }
      return undefined;
    },
  };
}

function describeRange({ min, max }: Range): string {
  if (min === Number.NEGATIVE_INFINITY) return `≤ ${max}`;
  if (max === Number.POSITIVE_INFINITY) return `≥ ${min}`;
  return `${min}–${max}`;
}

/**
 * A host name as the aggregate keys it: surrounding white space trimmed (MySQL's PAD SPACE
 * collations compare `a.example ` equal to `a.example`, Athena does not), lower case (host names
 * are case-insensitive, RFC 4343 and RFC 9110), Unicode NFC (one spelling per character).
 * Empty, or CloudFront's `-`, is null.
 */
export function normalizeHost(text: string): string | null {
  const host = text.trim().toLowerCase().normalize('NFC');
  return host.length === 0 || host === '-' ? null : host;
}

/** Why a normalized host cannot be an aggregate key (too long for MySQL or DynamoDB), or undefined. */
export function hostProblem(host: string): string | undefined {
  // At most HOST_MAX_CHARS UTF-16 units is at most that many code points: only longer ones are counted.
  if (host.length > HOST_MAX_CHARS && [...host].length > HOST_MAX_CHARS) {
    return `host of ${[...host].length} characters is longer than ${HOST_MAX_CHARS} (the warehouse's VARCHAR)`;
  }
  if (host.length * 3 > HOST_MAX_BYTES) {
    const bytes = Buffer.byteLength(host, 'utf8');
    if (bytes > HOST_MAX_BYTES) {
      return `host of ${bytes} UTF-8 bytes is longer than ${HOST_MAX_BYTES} (DynamoDB's 1,024-byte sort key)`;
    }
  }
  return undefined;
}

/**
 * Whether `bytes[from, to)` is a host already in normal form, checked without a string: printable
 * ASCII without upper case letters or surrounding spaces, short enough for every key limit. The
 * byte path keeps such a host as its bytes (nearly every row); any other goes through `normalizeHost`.
 */
export function isNormalAsciiHost(bytes: Uint8Array, from: number, to: number): boolean {
  if (to - from > HOST_MAX_CHARS || to === from) return false;
  if (bytes[from] === 32 || bytes[to - 1] === 32) return false;
  for (let index = from; index < to; index++) {
    const byte = bytes[index]!;
    if (byte < 32 || byte > 126 || (byte >= 65 && byte <= 90)) return false;
  }
  return !(to - from === 1 && bytes[from] === 45); // `-` alone is null
}
