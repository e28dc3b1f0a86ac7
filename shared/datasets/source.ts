import { textLines } from '#shared/core/lines';
import type { Dataset, LineParser, LineResult, SourceReader } from './dataset';

/**
 * The reader for one raw file: the dataset's own (which recognises the format from the content)
 * or, for a dataset without one, UTF-8 lines for its line parser.
 */
export function openSource(
  dataset: Dataset,
  bytes: AsyncIterable<Buffer>,
  sourceFileId: string,
): Promise<SourceReader> {
  if (dataset.openSource !== undefined) return dataset.openSource(bytes, sourceFileId);
  return Promise.resolve({
    format: 'lines',
    lines: textLines(bytes),
    parser: dataset.createParser(sourceFileId),
  });
}

/** A record a columnar reader has already parsed, and its text for a quarantine record. */
export interface ParsedRecord {
  result: LineResult;
  /** The record as text; only a rejected record's text is kept, so others may leave it empty. */
  text: string;
}

/**
 * Presents parsed records (e.g. Parquet rows) as the lines-and-parser pair the transform reads
 * every format through: each record yields its text, and `parse` hands back that record's result.
 * The transform parses each line before it pulls the next, so the two stay in step; `parse` checks.
 */
export function recordsAsLines(format: string, records: AsyncIterable<ParsedRecord>): SourceReader {
  let pending: ParsedRecord | undefined;
  const parser: LineParser = {
    parse(line) {
      const record = pending;
      if (record === undefined || record.text !== line) {
        throw new Error(`${format} reader out of step: parse() without its record`);
      }
      pending = undefined;
      return record.result;
    },
  };
  async function* lines(): AsyncGenerator<string> {
    for await (const record of records) {
      pending = record;
      yield record.text;
    }
  }
  return { format, lines: lines(), parser };
}
