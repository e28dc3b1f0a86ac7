import type { CellValue, RowSink, TableDefinition } from './table';

/** What a line parser makes of one line of a raw file. */
export type LineResult =
  /** A data row: values in the table's column order, and its timestamp (epoch ms) for routing. */
  | { kind: 'row'; values: CellValue[]; timeMs: number }
  /** A header, comment or blank line: not a row. */
  | { kind: 'skip' }
  /** A bad row: quarantined with this reason, the file goes on. */
  | { kind: 'reject'; reason: string }
  /** The file cannot be read correctly at all (e.g. its header lacks required fields). */
  | { kind: 'fatal'; reason: string };

export interface LineParser {
  parse(line: string): LineResult;
}

/**
 * What a byte-reading parser makes of one line: a row waiting in the parser (its values are
 * written by `appendPending`, straight into column buffers), or any other `LineResult` kind.
 */
export type ByteLineResult = { kind: 'pending'; timeMs: number } | Exclude<LineResult, { kind: 'row' }>;

/**
 * An optional fast path beside `parse`: the line as UTF-8 bytes, no string per line or field. The
 * transform uses it when the parser also says it reads the file's first bytes exactly as `parse`
 * would (`readsHead`); results are the same as `parse`'s, line for line.
 */
export interface ByteLineParser extends LineParser {
  /** Whether this file, from its first bytes (a whole line or more), is one `parseBytes` reads. */
  readsHead(head: Uint8Array): boolean;
  /** Parses `bytes[start, end)`, one line without its `\n`. */
  parseBytes(bytes: Uint8Array, start: number, end: number): ByteLineResult;
  /** Writes the row of the last `pending` result into `sink` (before the next `parseBytes`). */
  appendPending(sink: RowSink): void;
  /**
   * Optional, cheap: the hour (epoch hours) a data line's timestamp falls in, read from its date
   * and time fields alone, or -1 (a header, or a line `parseBytes` may reject). A hint for
   * grouping lines by hour; `parseBytes` decides. Called only when no row is pending.
   */
  hourOf?(bytes: Uint8Array, start: number, end: number): number;
}

export function readsBytes(parser: LineParser): parser is ByteLineParser {
  const candidate = parser as Partial<ByteLineParser>;
  return typeof candidate.parseBytes === 'function' && typeof candidate.readsHead === 'function';
}

/**
 * How the transform reads one raw file: its records as lines of text (what a quarantine record
 * keeps) and the parser that turns each into a `LineResult`, called once per line, in order.
 */
export interface SourceReader {
  /** The format recognised from the content (e.g. `w3c`, `json-lines`, `parquet`). */
  readonly format: string;
  readonly lines: AsyncIterable<string>;
  readonly parser: LineParser;
}

/**
 * A pluggable dataset: its curated table and how to read its raw files. The pipeline (handlers,
 * state machines, aggregate SQL) depends on this interface only, so a second dataset is one more
 * module registered in `shared/datasets/index.ts`.
 */
export interface Dataset {
  readonly name: string;
  readonly table: TableDefinition;
  /** Name of the timestamp column rows are partitioned by (dt / hour). */
  readonly timeColumn: string;
  /** A fresh parser for one raw file (parsers keep per-file state such as the field order). */
  createParser(sourceFileId: string): LineParser;
  /**
   * Optional: recognises the format of a raw file from its (decompressed) bytes, whatever its name
   * says, and returns the reader for it. Without it, every file is UTF-8 lines for `createParser`.
   */
  openSource?(bytes: AsyncIterable<Buffer>, sourceFileId: string): Promise<SourceReader>;
}
