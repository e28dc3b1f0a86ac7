import type { CellValue, TableDefinition } from './table';

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
