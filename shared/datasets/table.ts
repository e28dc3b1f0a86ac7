import * as z from 'zod';

/** Column types the curated tables use, spelled as Glue/Hive spells them. */
export const ColumnTypeSchema = z.enum(['string', 'int', 'bigint', 'double', 'timestamp', 'array<string>']);
export type ColumnType = z.infer<typeof ColumnTypeSchema>;

export const ColumnSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'column names are lower snake_case (Glue lower-cases them anyway)'),
  type: ColumnTypeSchema,
  /** The source field this column is read from (dataset-specific naming). */
  field: z.string().optional(),
  /** Several source fields combined (e.g. CloudFront date + time). */
  fields: z.array(z.string()).optional(),
  /** `url`: the source value is URL-encoded and is stored decoded once. */
  decode: z.enum(['url']).optional(),
  /** Value contract (`contract.ts`): numbers outside [min, max] quarantine their row. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** `host`: a key of the aggregate; normalized and held to the aggregate key's limits. */
  normalize: z.enum(['host']).optional(),
  comment: z.string().optional(),
});
export type Column = z.infer<typeof ColumnSchema>;

export const TableDefinitionSchema = z.object({
  dataset: z.string(),
  table: z.string().regex(/^[a-z][a-z0-9_]*$/),
  description: z.string().optional(),
  columns: z.array(ColumnSchema).min(1),
  partitionKeys: z.array(
    z.object({ name: z.string(), type: z.literal('string'), comment: z.string().optional() }),
  ),
});
export type TableDefinition = z.infer<typeof TableDefinitionSchema>;

/** A parsed value: strings, numbers (int/bigint/double; timestamps as epoch ms), string lists, or null. */
export type CellValue = string | number | string[] | null;

/**
 * Where a parser that reads bytes writes a row, column by column, without a `CellValue[]` per row
 * (the transform's `RecordBatchBuilder` is one). Each table column has exactly one of the three
 * kinds, at its index; every column gets exactly one append per row, then `endRow()`.
 */
export interface RowSink {
  readonly strings: ReadonlyArray<StringColumnSink | undefined>;
  readonly numbers: ReadonlyArray<NumberColumnSink | undefined>;
  readonly lists: ReadonlyArray<StringListColumnSink | undefined>;
  endRow(): void;
}

export interface StringColumnSink {
  /** Appends `bytes[start, end)`, valid UTF-8. */
  appendBytes(bytes: Uint8Array, start: number, end: number): void;
  appendString(value: string): void;
  appendNull(): void;
}

export interface NumberColumnSink {
  /** int32 for `int`, a safe integer for `bigint`, epoch ms for `timestamp`, any double for `double`. */
  appendNumber(value: number): void;
  appendNull(): void;
}

export interface StringListColumnSink {
  /** The list's items go here, then `endList()` closes the row's list. */
  readonly items: StringColumnSink;
  endList(): void;
  appendNull(): void;
}

/**
 * The instants a row may carry: from the start of the table's Glue partition projection (Athena
 * never sees a partition before it, so such a row would be counted as accepted yet never
 * aggregated) to one day past now (a clock that far ahead is a broken clock, not a late log).
 */
export interface TimeBounds {
  earliestMs: number;
  latestMs: number;
}

/**
 * CloudFront launched in 2008; `projectionStartDate` in serverless.yml (default 2008-01-01) must
 * not be later than this, or rows between the two would be accepted yet unseen by Athena.
 */
export const PROJECTION_START_MS = Date.UTC(2008, 0, 1);
const DAY_MS = 86_400_000;

/** The bounds for rows parsed now: the projection start to `nowMs` + 1 day. */
export function timeBoundsAt(nowMs: number, earliestMs = PROJECTION_START_MS): TimeBounds {
  return { earliestMs, latestMs: nowMs + DAY_MS };
}

/** Why a row's instant is outside the bounds, or undefined when it is inside. */
export function timeOutOfBounds(timeMs: number, bounds: TimeBounds): string | undefined {
  if (timeMs < bounds.earliestMs) {
    return `timestamp ${isoTime(timeMs)} is before ${isoTime(bounds.earliestMs)}, where the table's partition projection starts`;
  }
  if (timeMs > bounds.latestMs) {
    return `timestamp ${isoTime(timeMs)} is more than 1 day in the future (latest accepted ${isoTime(bounds.latestMs)})`;
  }
  return undefined;
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
