import { z } from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { decompressed } from '#shared/core/lines';
import type { Logger } from '#shared/core/log';
import { keys, type TransformResult } from '#shared/core/run-files';
import type { Dataset } from '#shared/datasets/index';
import { openSource } from '#shared/datasets/source';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';
import { DEFAULT_ROW_GROUP_ROWS, ParquetStreamWriter } from '#shared/parquet/parquet-writer';
import { ManifestFileSchema } from './ingest';

export const TransformInputSchema = z.object({
  runId: z.string().min(1),
  batchId: z.string().optional(),
  file: ManifestFileSchema,
});
export type TransformInput = z.infer<typeof TransformInputSchema>;

/** Longest raw line kept in a quarantine record (a fuzzed "line" can be megabytes). */
const MAX_QUARANTINED_TEXT = 4_096;

/** One open curated output: the rows of one hour from this file. */
interface HourOutput {
  builder: RecordBatchBuilder;
  writer: ParquetStreamWriter;
  uploaded: Promise<void>;
}

/** Raised inside the transform when the file is unreadable as a whole; never leaves this module. */
class WholeFileProblem extends Error {}

/**
 * One raw file → Parquet files in `curated/dt=…/hour=…/<fileId>.parquet`, one per hour its rows
 * fall in (by each row's own timestamp), streamed in row groups so memory stays flat in the file's
 * size. Bad rows go to `quarantine/rows/<fileId>.jsonl` with line number and reason. A file that
 * cannot be read to its end publishes nothing: its uploads are aborted and it is recorded in
 * `quarantine/files/<fileId>.json`. Keys are deterministic, so a re-run replaces, never duplicates.
 */
export async function transformFile(
  input: TransformInput,
  settings: { dataBucket: string; rowGroupRows?: number },
  dataset: Dataset,
  store: ObjectStore,
  log: Logger,
): Promise<TransformResult> {
  const { file, runId } = input;
  const bucket = settings.dataBucket;
  const rowGroupRows = settings.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const outputs = new Map<string, HourOutput>();
  const abort = new AbortController();
  const quarantined: string[] = [];
  const rows = { read: 0, accepted: 0, quarantined: 0 };

  const outputFor = (hour: string): HourOutput => {
    let output = outputs.get(hour);
    if (output === undefined) {
      const writer = new ParquetStreamWriter(rowGroupRows);
      const uploaded = store.putStream(bucket, keys.curated(hour, file.fileId), writer.output, {
        contentType: 'application/vnd.apache.parquet',
        signal: abort.signal,
      });
      uploaded.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      output = { builder: new RecordBatchBuilder(dataset.table), writer, uploaded };
      outputs.set(hour, output);
    }
    return output;
  };

  let lineNumber = 0;
  let problem: string | undefined;
  try {
    const source = await store.getStream(bucket, file.key);
    // Format dispatch: the dataset recognises the (gunzipped) content, e.g. W3C text, JSON lines or
    // Parquet, and gives its records as lines with their parser; a record number is a line number.
    const { lines, parser } = await openSource(dataset, decompressed(source), file.fileId);
    for await (const line of lines) {
      lineNumber++;
      const result = parser.parse(line);
      if (result.kind === 'skip') continue;
      if (result.kind === 'fatal') throw new WholeFileProblem(`line ${lineNumber}: ${result.reason}`);
      rows.read++;
      if (result.kind === 'reject') {
        rows.quarantined++;
        quarantined.push(
          JSON.stringify({
            file: file.sourceKey,
            line: lineNumber,
            reason: result.reason,
            text: line.slice(0, MAX_QUARANTINED_TEXT),
          }),
        );
        continue;
      }
      rows.accepted++;
      const output = outputFor(new Date(result.timeMs).toISOString().slice(0, 13));
      output.builder.append(result.values);
      if (output.builder.length >= rowGroupRows) await output.writer.write(output.builder.flush());
    }
  } catch (error) {
    problem =
      error instanceof WholeFileProblem
        ? error.message
        : `unreadable after line ${lineNumber}: ${error instanceof Error ? error.message : String(error)}`;
  }

  const resultKey = keys.fileResult(runId, file.fileId);
  if (problem !== undefined) {
    abort.abort();
    for (const output of outputs.values()) output.writer.fail(new Error('file quarantined'));
    await Promise.allSettled([...outputs.values()].map((output) => output.uploaded));
    const result: TransformResult = {
      fileId: file.fileId,
      key: file.key,
      status: 'quarantined',
      rows: { read: rows.read, accepted: 0, quarantined: 0 },
      hours: [],
      reason: problem,
      resultKey,
    };
    await store.putJson(bucket, keys.quarantinedFile(file.fileId), {
      file: file.sourceKey,
      key: file.key,
      runId,
      reason: problem,
      rowsReadBeforeFailure: rows.read,
    });
    await store.putJson(bucket, resultKey, result);
    log.warn('transform: file quarantined', { fileKey: file.key, reason: problem });
    return result;
  }

  for (const output of outputs.values()) {
    await output.writer.write(output.builder.flush());
    output.writer.close();
  }
  await Promise.all([...outputs.values()].map((output) => output.uploaded));
  if (quarantined.length > 0) {
    await store.put(
      bucket,
      keys.quarantinedRows(file.fileId),
      `${quarantined.join('\n')}\n`,
      'application/x-ndjson',
    );
  } else {
    // A re-run of a file whose bad rows were fixed must not leave the old quarantine record behind.
    await store.delete(bucket, [keys.quarantinedRows(file.fileId)]);
  }
  const result: TransformResult = {
    fileId: file.fileId,
    key: file.key,
    status: 'transformed',
    rows,
    hours: [...outputs.keys()].sort(),
    resultKey,
  };
  await store.putJson(bucket, resultKey, result);
  log.info('transform: file done', { fileKey: file.key, ...rows, hours: result.hours.length });
  return result;
}
