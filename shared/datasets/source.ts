import { lineBlocks, MAX_LINE_BYTES } from '#shared/core/lines';
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
  return Promise.resolve(textSource('lines', bytes, dataset.createParser(sourceFileId)));
}

/**
 * Text lines for a line parser, with the byte path's bound on memory: a line longer than
 * `MAX_LINE_BYTES` is not held whole but quarantined (`lineBlocks` gives its start, skips the
 * rest). Bytes that are not valid UTF-8 become `%XX` (`lineBlocks`); a missing final newline still
 * ends the last line.
 */
export function textSource(format: string, bytes: AsyncIterable<Buffer>, parser: LineParser): SourceReader {
  let cut = false;
  async function* lines(): AsyncGenerator<string> {
    for await (const block of lineBlocks(bytes)) {
      const text = block.bytes.toString('utf8');
      if (block.cut) {
        cut = true;
        yield text;
        continue;
      }
      let start = 0;
      for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
        yield text.slice(start, end);
        start = end + 1;
      }
      if (start < text.length) yield text.slice(start);
    }
  }
  const capped: LineParser = {
    parse(line) {
      if (!cut) return parser.parse(line);
      cut = false;
      return { kind: 'reject', reason: `line longer than ${MAX_LINE_BYTES} bytes` };
    },
  };
  return { format, lines: lines(), parser: capped };
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
