import { peekBytes } from '#shared/core/lines';
import type { SourceReader } from '../dataset';
import { recordsAsLines, textSource } from '../source';
import type { TableDefinition } from '../table';
import { FieldMap } from './fields';
import { JsonLinesParser } from './json-lines';
import { parquetRecords } from './parquet-rows';
import { CloudFrontLineParser } from './parser';
import { W3cLogParser } from './w3c';

/** The formats a CloudFront log file can arrive in (legacy standard logging, or v2 to S3). */
export type CloudFrontFormat = 'w3c' | 'json-lines' | 'parquet';

/**
 * A Parquet file is read whole (its footer is at the end): its bytes, a passing copy for the footer
 * and one decoded row group must fit in the transform's memory (512 MB Lambdas). CloudFront
 * delivers v2 files several times an hour per distribution, far smaller; a larger file is
 * quarantined whole with a reason instead of exhausting the Lambda.
 */
export const MAX_PARQUET_BYTES = 128 * 1024 * 1024;

/** Leading bytes looked at (for a magic number, or past whitespace for a `{`). */
const HEAD_BYTES = 64 * 1024;

/**
 * The format of a (decompressed) file from its first bytes, never from its name: `PAR1` is
 * Parquet; `{` as the first character (after a byte-order mark and whitespace) is JSON lines;
 * anything else is W3C text (`#Version`/`#Fields` headers, legacy or v2), whose parser quarantines
 * rows it cannot read.
 */
export function detectFormat(head: Uint8Array): CloudFrontFormat {
  if (head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  let index = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (index < head.length && isWhitespace(head[index]!)) index++;
  return head[index] === 0x7b /* { */ ? 'json-lines' : 'w3c';
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/**
 * Opens a raw CloudFront file (already gunzipped when it was gzip, see `decompressed`) as the
 * reader for its format.
 */
export async function openCloudFrontSource(
  bytes: AsyncIterable<Buffer>,
  table: TableDefinition,
  sourceFileId: string,
): Promise<SourceReader> {
  const { head, all } = await peekBytes(bytes, HEAD_BYTES);
  const fields = new FieldMap(table);
  switch (detectFormat(head)) {
    case 'parquet': {
      const whole = await collect(all, MAX_PARQUET_BYTES);
      return recordsAsLines('parquet', parquetRecords(whole, table, sourceFileId, fields));
    }
    case 'json-lines':
      return textSource('json-lines', all, new JsonLinesParser(table, sourceFileId, fields));
    case 'w3c':
      return textSource('w3c', all, new W3cLogParser(new CloudFrontLineParser(table, sourceFileId), fields));
  }
}

async function collect(bytes: AsyncIterable<Buffer>, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of bytes) {
    size += chunk.length;
    if (size > limit) {
      throw new Error(`Parquet file larger than ${limit / 1024 / 1024} MiB is not read (it is read whole)`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
