import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ObjectStore } from '#shared/adapters/object-store';
import { keys } from '#shared/core/run-files';
import type { TableDefinition } from '#shared/datasets/table';
import { ColumnBatchBuilder } from '#shared/parquet/column-batch';
import { ParquetStreamWriter } from '#shared/parquet/parquet-writer';

/** How the curated outputs of one raw file are bounded. */
export interface OutputLimits {
  /** Rows per row group (and at most per batch of rows handed to the writer). */
  rowGroupRows: number;
  /** A builder is flushed as a row group once its rows hold this many bytes, whatever their count. */
  rowGroupBytes: number;
  /** Hours whose rows are being built at once; the least recently used one is flushed for a new one. */
  openBuilders: number;
  /**
   * Hours uploaded while the file is read (the first ones seen). Each holds an upload's part
   * buffer until the end, since completing it would publish rows of a file not yet read to its end.
   */
  streamedHours: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  rowGroupRows: 64_000,
  rowGroupBytes: 6 * 1024 * 1024,
  openBuilders: 2,
  streamedHours: 2,
};

/** One hour's curated Parquet file from this raw file. */
export interface HourOutput {
  hour: string;
  writer: ParquetStreamWriter;
  /** Rows waiting for the next row group, or undefined while its builder serves another hour. */
  builder: ColumnBatchBuilder | undefined;
  /** Streamed hours: the upload to the final key. Spooled hours: the local file being written. */
  done: Promise<void>;
  spoolPath?: string;
  /** Spooled hours: earlier segments of this hour, closed when the hour was evicted. */
  segments: Array<{ path: string; done: Promise<void> }>;
}

export interface BuilderTarget {
  builder: ColumnBatchBuilder;
  output: HourOutput;
}

/**
 * The curated outputs of one raw file: one Parquet file per hour of the rows' own timestamps, with
 * memory bounded whatever the number of hours. At most `openBuilders` hours hold unwritten rows
 * (least recently used flushed first); the first `streamedHours` hours upload to their final key
 * as they are written; later hours go to a spool file in the temp folder, uploaded once the raw file
 * was read to its end (so a file spanning a hundred hours costs disk, not memory). Nothing is
 * published before `finish`: uploads complete only when their stream ends, and `abandon` aborts
 * them and removes the spool.
 */
export class HourOutputs {
  private readonly outputs = new Map<string, HourOutput>();
  /** Builders in use, most recently used last. */
  private readonly active: HourOutput[] = [];
  private readonly idleBuilders: ColumnBatchBuilder[] = [];
  private readonly abort = new AbortController();
  private spoolFolder: string | undefined;

  constructor(
    private readonly table: TableDefinition,
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly fileId: string,
    private readonly limits: OutputLimits,
  ) {}

  /** Hours that received rows, sorted. */
  get hours(): string[] {
    return [...this.outputs.keys()].sort();
  }

  /**
   * The builder that takes the next row of `hour`: at once when the hour is being built (the
   * common case, no promise per row), else after the least recently used hour's rows were written.
   * After appending, check `full(output)`.
   */
  builderFor(hour: string): BuilderTarget | Promise<BuilderTarget> {
    const output = this.outputs.get(hour);
    if (output?.builder !== undefined) {
      const last = this.active[this.active.length - 1];
      if (last !== output) {
        this.active.splice(this.active.indexOf(output), 1);
        this.active.push(output);
      }
      return { builder: output.builder, output };
    }
    return this.activate(hour, output);
  }

  private async activate(hour: string, existing: HourOutput | undefined): Promise<BuilderTarget> {
    const output = existing ?? this.open(hour);
    if (this.active.length >= this.limits.openBuilders) {
      const evicted = this.active.shift()!;
      await this.writeRowGroup(evicted);
      this.idleBuilders.push(evicted.builder!);
      evicted.builder = undefined;
      // An idle Parquet writer would keep its unfinished row group and column buffers: a spooled
      // hour's file is closed instead (its segment is done, on disk), and a new segment opens if
      // the hour comes back; a streamed hour's row group is written and its buffers let go.
      if (evicted.spoolPath !== undefined) {
        evicted.writer.close();
        evicted.segments.push({ path: evicted.spoolPath, done: evicted.done });
        evicted.spoolPath = undefined;
      } else evicted.writer.pause();
    }
    if (output.spoolPath === undefined && output.segments.length > 0) this.spool(output);
    output.builder = this.idleBuilders.pop() ?? new ColumnBatchBuilder(this.table);
    this.active.push(output);
    return { builder: output.builder, output };
  }

  /** Whether the hour's rows make a row group now (by rows, or by bytes checked every 1,024 rows). */
  full(output: HourOutput): boolean {
    const builder = output.builder!;
    return (
      builder.length >= this.limits.rowGroupRows ||
      ((builder.length & 1023) === 0 && builder.byteSize >= this.limits.rowGroupBytes)
    );
  }

  /** Hands the hour's rows built so far to its Parquet writer (row groups end at `rowGroupRows`). */
  async writeRowGroup(output: HourOutput): Promise<void> {
    if (output.builder === undefined || output.builder.length === 0) return;
    await output.writer.write(output.builder);
    output.builder.clear();
  }

  private open(hour: string): HourOutput {
    const writer = this.newWriter();
    const key = keys.curated(hour, this.fileId);
    let output: HourOutput;
    if (this.outputs.size < this.limits.streamedHours) {
      const done = this.store.putStream(this.bucket, key, writer.output, {
        contentType: 'application/vnd.apache.parquet',
        signal: this.abort.signal,
      });
      output = { hour, writer, builder: undefined, done, segments: [] };
      output.done.catch(() => undefined); // awaited in finish/abandon; never an unhandled rejection
    } else {
      output = { hour, writer, builder: undefined, done: Promise.resolve(), segments: [] };
      this.spool(output);
    }
    this.outputs.set(hour, output);
    return output;
  }

  private newWriter(): ParquetStreamWriter {
    return new ParquetStreamWriter(this.table, { rowGroupRows: this.limits.rowGroupRows });
  }

  /** Starts the hour's next spool segment: a local Parquet file of its own. */
  private spool(output: HourOutput): void {
    this.spoolFolder ??= mkdtempSync(join(tmpdir(), 'cf-etl-spool-'));
    const path = join(this.spoolFolder, `${output.hour}.${output.segments.length}.parquet`);
    if (output.segments.length > 0) output.writer = this.newWriter();
    const file = createWriteStream(path);
    output.writer.output.pipe(file);
    output.writer.output.on('error', (error) => file.destroy(error));
    output.spoolPath = path;
    output.done = finished(file);
    output.done.catch(() => undefined);
  }

  /** Writes what is left, ends every file and publishes them all (the raw file was read to its end). */
  async finish(): Promise<void> {
    try {
      for (const output of this.outputs.values()) {
        await this.writeRowGroup(output);
        // A spooled hour evicted last time has its writer closed already, and no open segment.
        const open = output.segments.length === 0 || output.spoolPath !== undefined;
        if (open) output.writer.close();
        if (output.spoolPath !== undefined)
          output.segments.push({ path: output.spoolPath, done: output.done });
        output.spoolPath = undefined;
      }
      await Promise.all(
        [...this.outputs.values()].flatMap((output) => [
          output.done,
          ...output.segments.map((segment) => segment.done),
        ]),
      );
      for (const output of this.outputs.values()) {
        // Segment 0 is `<fileId>.parquet`; an hour that came back after eviction has more, each its
        // own object `<fileId>.<n>.parquet` (deterministic for the same file and limits).
        for (const [index, segment] of output.segments.entries()) {
          const id = index === 0 ? this.fileId : `${this.fileId}.${index}`;
          await this.store.putStream(
            this.bucket,
            keys.curated(output.hour, id),
            createReadStream(segment.path),
            {
              contentType: 'application/vnd.apache.parquet',
            },
          );
          rmSync(segment.path, { force: true });
        }
      }
    } finally {
      this.removeSpool();
    }
  }

  /** Publishes nothing: aborts the uploads, ends the writers, removes the spool. */
  async abandon(): Promise<void> {
    this.abort.abort();
    for (const output of this.outputs.values()) output.writer.fail(new Error('file quarantined'));
    await Promise.allSettled(
      [...this.outputs.values()].flatMap((output) => [
        output.done,
        ...output.segments.map((segment) => segment.done),
      ]),
    );
    this.removeSpool();
  }

  private removeSpool(): void {
    if (this.spoolFolder !== undefined) rmSync(this.spoolFolder, { recursive: true, force: true });
    this.spoolFolder = undefined;
  }
}

/**
 * Quarantined rows of one raw file, streamed to `quarantine/rows/<fileId>.jsonl` as they come (a
 * file of bad rows costs an upload's part buffer, not memory per row). The upload starts with the
 * first bad row; `finish` publishes it, or deletes an earlier run's record when there was none.
 */
export class QuarantineLog {
  private stream: PassThrough | undefined;
  private uploaded: Promise<void> | undefined;
  private readonly abort = new AbortController();
  count = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly fileId: string,
  ) {}

  async add(record: Record<string, unknown>): Promise<void> {
    if (this.stream === undefined) {
      this.stream = new PassThrough();
      this.uploaded = this.store.putStream(this.bucket, keys.quarantinedRows(this.fileId), this.stream, {
        contentType: 'application/x-ndjson',
        signal: this.abort.signal,
      });
      this.uploaded.catch(() => undefined);
    }
    this.count++;
    if (!this.stream.write(`${JSON.stringify(record)}\n`)) await drained(this.stream, this.uploaded!);
  }

  async finish(): Promise<void> {
    if (this.stream === undefined) {
      // A re-run of a file whose bad rows were fixed must not leave the old quarantine record behind.
      await this.store.delete(this.bucket, [keys.quarantinedRows(this.fileId)]);
      return;
    }
    this.stream.end();
    await this.uploaded;
  }

  async abandon(): Promise<void> {
    if (this.stream === undefined) return;
    this.abort.abort();
    this.stream.destroy();
    await Promise.allSettled([this.uploaded]);
  }
}

/** Waits for a full stream to drain, or for its consumer to fail (which would never drain it). */
function drained(stream: Writable, consumer: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('drain', resolve);
    consumer.then(
      () => resolve(),
      (error) => reject(error),
    );
  });
}
