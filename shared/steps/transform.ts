import { tmpdir } from 'node:os';
import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { decompressed, lineBlocks, MAX_LINE_BYTES, peekBytes } from '#shared/core/lines';
import type { Logger } from '#shared/core/log';
import { BatchIdSchema, keys, RunIdSchema, type TransformResult } from '#shared/core/run-files';
import { type ByteLineParser, readsBytes, type SourceReader } from '#shared/datasets/dataset';
import type { Dataset } from '#shared/datasets/index';
import { openSource } from '#shared/datasets/source';
import { timeBoundsAt, timeOutOfBounds } from '#shared/datasets/table';
import { ManifestFileSchema } from './ingest';
import { type LineBatch, LineBatches, type LineBatchLimits } from './transform-lines';
import {
  DEFAULT_OUTPUT_LIMITS,
  HourOutputs,
  type OutputLimits,
  QuarantineLog,
  replaceCuratedHours,
} from './transform-outputs';
import { removeStaleSpools, SpoolFullError } from './transform-spool';

export const TransformInputSchema = z.object({
  runId: RunIdSchema,
  batchId: BatchIdSchema.optional(),
  file: ManifestFileSchema,
});
export type TransformInput = z.infer<typeof TransformInputSchema>;

/** Longest raw line kept in a quarantine record (a fuzzed "line" can be megabytes). */
const MAX_QUARANTINED_TEXT = 4_096;
const HOUR_MS = 3_600_000;

/** Raised inside the transform when the file is unreadable as a whole; never leaves this module. */
class WholeFileProblem extends Error {}

export interface TransformSettings {
  dataBucket: string;
  /** A raw file larger than this (bytes as stored) is quarantined unread, naming the setting. */
  maxRawFileBytes?: number;
  /** Bytes of temp disk the file's spool may take (see `OutputLimits.spoolBytes`). */
  spoolBytes?: number;
  /** Where the file's spool folder is made (default: the OS temp folder, Lambda's /tmp). */
  spoolDirectory?: string;
  /** Rows per Parquet row group (tests use tiny ones). */
  rowGroupRows?: number;
  /** Bounds on what is held per file: see `OutputLimits`. */
  limits?: Partial<OutputLimits>;
  /** How interleaved lines wait to be parsed by hour: see `LineBatches`. */
  lineBatches?: LineBatchLimits;
}

/**
 * One raw file → Parquet files in `curated/dt=…/hour=…/<fileId>.parquet`, one per hour its rows
 * fall in (by each row's own timestamp), streamed in row groups so memory stays flat in the file's
 * size and in its number of hours (`HourOutputs`). Bad rows go to `quarantine/rows/<fileId>.jsonl`
 * with line number and reason, streamed as they come. A file that cannot be read to its end
 * publishes nothing: its uploads are aborted and it is recorded in `quarantine/files/<fileId>.json`.
 * Keys are deterministic, so a re-run replaces, never duplicates.
 *
 * Legacy CloudFront text (the common case) goes through the parser's byte path: lines as UTF-8
 * bytes straight into column buffers. Other formats go through `openSource`'s lines and parser.
 */
export async function transformFile(
  input: TransformInput,
  settings: TransformSettings,
  dataset: Dataset,
  store: ObjectStore,
  log: Logger,
): Promise<TransformResult> {
  const { file, runId } = input;
  const bucket = settings.dataBucket;
  const limits: OutputLimits = {
    ...DEFAULT_OUTPUT_LIMITS,
    ...(settings.rowGroupRows !== undefined && { rowGroupRows: settings.rowGroupRows }),
    ...(settings.spoolBytes !== undefined && { spoolBytes: settings.spoolBytes }),
    ...settings.limits,
  };
  const bounds = timeBoundsAt(Date.now());
  /** Where the time went (logged): reading and parsing, finishing the row groups, uploading. */
  const phases = { readMs: 0, sealMs: 0, publishMs: 0 };
  let phaseStart = performance.now();
  const endPhase = (phase: keyof typeof phases) => {
    const now = performance.now();
    phases[phase] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  const spoolDirectory = settings.spoolDirectory ?? tmpdir();
  const stale = removeStaleSpools(spoolDirectory);
  if (stale.folders.length > 0) {
    log.warn('transform: removed the spool folders of transforms killed halfway', {
      folders: stale.folders,
      bytes: stale.bytes,
    });
  }
  const outputs = new HourOutputs(dataset.table, store, bucket, file.fileId, limits, spoolDirectory);
  const quarantine = new QuarantineLog(store, bucket, file.fileId);
  const rows = { read: 0, accepted: 0, quarantined: 0 };
  /** Lines read so far; `rowLine` is the line whose row went in last (lines wait in batches). */
  let lineNumber = 0;
  let rowLine = 0;

  const reject = (reason: string, text: string, line = lineNumber) => {
    rows.quarantined++;
    return quarantine.add({
      file: file.sourceKey,
      line,
      reason,
      text: text.slice(0, MAX_QUARANTINED_TEXT),
    });
  };
  /**
   * Legacy CloudFront text: blocks of byte lines, parsed straight into the hour's columns. Lines
   * of hours other than the one being appended to wait in `LineBatches` and are parsed a batch at
   * a time (see `transform-lines.ts`); header lines, which change how later lines parse, first
   * have every waiting line parsed.
   */
  const readBytes = async (parser: ByteLineParser, bytes: AsyncIterable<Buffer>) => {
    const waiting = new LineBatches(settings.lineBatches);
    let current = -1;
    /** Parses a line into its hour's builder; a promise only for a rejected row (being quarantined). */
    const parseLine = (
      data: Uint8Array,
      start: number,
      end: number,
      line: number,
    ): Promise<void> | undefined => {
      rowLine = line;
      const result = parser.parseBytes(data, start, end);
      if (result.kind === 'pending') {
        rows.read++;
        rows.accepted++;
        current = Math.floor(result.timeMs / HOUR_MS);
        const hour = outputs.rowsAt(current);
        parser.appendPending(hour.builder);
        outputs.added(hour);
      } else if (result.kind === 'reject') {
        rows.read++;
        return reject(
          result.reason,
          Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('utf8'),
          line,
        );
      } else if (result.kind === 'fatal') {
        throw new WholeFileProblem(`line ${line}: ${result.reason}`);
      }
      return undefined;
    };
    const parseBatch = async (batch: LineBatch) => {
      let start = 0;
      for (let index = 0; index < batch.count; index++) {
        const end = batch.ends[index]!;
        const quarantined = parseLine(batch.bytes, start, end, batch.lineNumbers[index]!);
        if (quarantined !== undefined) await quarantined;
        start = end;
      }
      waiting.release(batch);
    };
    const parseAllWaiting = async () => {
      for (const batch of waiting.takeAll()) await parseBatch(batch);
    };

    for await (const block of lineBlocks(bytes)) {
      const data = block.bytes;
      if (block.cut) {
        lineNumber++;
        rows.read++;
        await reject(
          `line longer than ${MAX_LINE_BYTES} bytes`,
          data.toString('utf8', 0, MAX_QUARANTINED_TEXT),
        );
        continue;
      }
      const end = data.length;
      let position = 0;
      while (position < end) {
        let lineEnd = data.indexOf(10, position);
        if (lineEnd < 0) lineEnd = end;
        lineNumber++;
        const hour = parser.hourOf?.(data, position, lineEnd) ?? -1;
        // The first row, and rows of the hour being appended to, are parsed at once.
        if (
          hour >= 0 &&
          current >= 0 &&
          (hour !== current || waiting.has(hour)) &&
          waiting.holds(lineEnd - position)
        ) {
          for (;;) {
            const room = waiting.room(hour, lineEnd - position);
            if (!room.full) {
              LineBatches.add(room.batch, data, position, lineEnd, lineNumber);
              break;
            }
            await parseBatch(room.batch);
          }
        } else {
          if (hour >= 0) {
            const batch = waiting.takeHour(hour); // a long line after its hour's waiting ones
            if (batch !== undefined) await parseBatch(batch);
          } else if (data[position] === 35 /* # */) {
            await parseAllWaiting();
          }
          const quarantined = parseLine(data, position, lineEnd, lineNumber);
          if (quarantined !== undefined) await quarantined;
        }
        position = lineEnd + 1;
      }
    }
    await parseAllWaiting();
  };

  /** Any other format: the dataset's reader gives lines (records) and their parser. */
  const readLines = async (reader: SourceReader) => {
    for await (const line of reader.lines) {
      lineNumber++;
      const result = reader.parser.parse(line);
      if (result.kind === 'skip') continue;
      if (result.kind === 'fatal') throw new WholeFileProblem(`line ${lineNumber}: ${result.reason}`);
      rows.read++;
      if (result.kind === 'reject') {
        await reject(result.reason, line);
        continue;
      }
      const outside = timeOutOfBounds(result.timeMs, bounds);
      if (outside !== undefined) {
        await reject(outside, line);
        continue;
      }
      rows.accepted++;
      rowLine = lineNumber;
      const hour = outputs.rowsAt(Math.floor(result.timeMs / HOUR_MS));
      hour.builder.append(result.values);
      outputs.added(hour);
    }
  };

  let problem: string | undefined;
  try {
    if (settings.maxRawFileBytes !== undefined && file.size > settings.maxRawFileBytes) {
      throw new WholeFileProblem(
        `${file.size} bytes, larger than maxRawFileBytes (${settings.maxRawFileBytes}): raise it in serverless.yml, with ephemeralStorageSize`,
      );
    }
    const source = await store.getStream(bucket, file.key);
    const { head, all } = await peekBytes(decompressed(source));
    const parser = dataset.createParser(file.fileId);
    // Format dispatch: legacy CloudFront text takes the byte path; otherwise the dataset recognises
    // the (gunzipped) content, e.g. W3C v2, JSON lines or Parquet, and gives its records as lines
    // with their parser; a record number is a line number.
    if (readsBytes(parser) && parser.readsHead(head)) await readBytes(parser, all);
    else await readLines(await openSource(dataset, all, file.fileId));
    endPhase('readMs');
    outputs.seal();
    endPhase('sealMs');
  } catch (error) {
    problem =
      error instanceof WholeFileProblem
        ? error.message
        : error instanceof SpoolFullError
          ? `at line ${rowLine}: ${error.message}`
          : `unreadable after line ${lineNumber}: ${error instanceof Error ? error.message : String(error)}`;
  }

  const resultKey = keys.fileResult(runId, file.fileId);
  if (problem !== undefined) {
    await outputs.abandon();
    await quarantine.abandon();
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
    // The file as it is now has no curated rows: those an earlier transform of it wrote go.
    const removed = await replaceCuratedHours(store, bucket, file.fileId, []);
    if (removed.length > 0) result.hoursRemoved = removed;
    await store.putJson(bucket, resultKey, result);
    log.warn('transform: file quarantined', { fileKey: file.key, reason: problem });
    return result;
  }

  await outputs.publish();
  endPhase('publishMs');
  const hoursRemoved = await replaceCuratedHours(store, bucket, file.fileId, outputs.hours);
  await quarantine.finish();
  const result: TransformResult = {
    fileId: file.fileId,
    key: file.key,
    status: 'transformed',
    rows,
    hours: outputs.hours,
    ...(hoursRemoved.length > 0 && { hoursRemoved }),
    resultKey,
  };
  await store.putJson(bucket, resultKey, result);
  log.info('transform: file done', {
    fileKey: file.key,
    ...rows,
    hours: result.hours.length,
    ...(hoursRemoved.length > 0 && { hoursRemoved }),
    spills: outputs.stats.spills,
    spilledBytes: outputs.stats.spilledBytes,
    builders: outputs.stats.builders,
    buildersHeld: outputs.stats.buildersHeld,
    spoolPeakBytes: outputs.spoolPeakBytes,
    ...phases,
  });
  return result;
}
