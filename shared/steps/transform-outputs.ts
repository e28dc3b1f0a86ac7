import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { z } from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { mapWithLimit } from '#shared/core/concurrency';
import { keys } from '#shared/core/run-files';
import type { TableDefinition } from '#shared/datasets/table';
import { ColumnBatchBuilder } from '#shared/parquet/column-batch';
import { batchFromSpill, spillBuffers } from '#shared/parquet/column-spill';
import { ParquetEncoder } from '#shared/parquet/parquet-writer';
import { SpoolBudget, SpoolFile, type SpoolRange } from './transform-spool';

const MiB = 1024 * 1024;

/** How the curated outputs of one raw file are bounded. */
export interface OutputLimits {
  /** Rows per Parquet row group: every row group of a curated file but its last holds this many… */
  rowGroupRows: number;
  /** …unless its rows hold this many bytes first (very wide rows): bounds one row group's memory. */
  rowGroupBytes: number;
  /**
   * Bytes the rows of all hours not yet in a row group may take in memory (the builders' buffers).
   * Past it, the hour holding the most is spilled to the temp disk as it is, and read back when
   * its row group is written: so any row order gives full row groups in bounded memory.
   */
  bufferBytes: number;
  /** Bytes the spool (spilled rows, finished Parquet) may take on the temp disk for one raw file. */
  spoolBytes: number;
  /** Curated files uploaded at once when the raw file was read to its end. */
  uploadConcurrency: number;
}

/** Lambda's default /tmp is 512 MB; the spool leaves 64 MB of it for everything else. */
export const DEFAULT_SPOOL_BYTES = 448 * MiB;

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  rowGroupRows: 64_000,
  rowGroupBytes: 64 * MiB,
  bufferBytes: 64 * MiB,
  spoolBytes: DEFAULT_SPOOL_BYTES,
  uploadConcurrency: 4,
};

/** Rows between checks of an hour's bytes (a line may be up to 1 MiB: this bounds the overshoot). */
const BYTE_CHECK_ROWS = 64;

/** Rows of one hour spilled to the row spool: one builder's rows, in the spill layout. */
interface SpilledRows {
  range: SpoolRange;
  rows: number;
}

/** One hour's rows of this raw file, on their way to its one curated Parquet file. */
export interface HourRows {
  readonly hour: string;
  /** Rows not yet in a row group and not spilled; undefined after a spill let its buffers go. */
  builder: ColumnBatchBuilder | undefined;
  /** The builder's buffers as last counted in the memory budget. */
  heldBytes: number;
  /** Earlier rows of the current row group, on the temp disk, in file order. */
  spilled: SpilledRows[];
  spilledRows: number;
  spilledBytes: number;
  /** The hour's Parquet file: made at its first row group, written into the Parquet spool. */
  encoder: ParquetEncoder | undefined;
  /** Where the hour's Parquet bytes are in the Parquet spool, in order. */
  parts: SpoolRange[];
}

/**
 * The curated outputs of one raw file: exactly one Parquet file per hour of the rows' own
 * timestamps, `curated/dt=…/hour=…/<fileId>.parquet`, whatever the order of the rows.
 *
 * Rows go into a column builder per hour. A row group is written when the hour has `rowGroupRows`
 * rows (so every row group but an hour's last is full), encoded into a spool file on the temp disk.
 * The builders together may hold `bufferBytes`: past it, the hour holding the most has its rows
 * written to the row spool as they are (no encoding) and its buffers let go; they are read back,
 * in order, when the hour's row group is written. Sorted rows never spill; interleaved rows cost a
 * sequential write and read of their bytes. Nothing is published before `finish` (the raw file was
 * read to its end): then every hour's file is finished and uploaded from the spool. `abandon`
 * removes the spool and publishes nothing.
 */
export class HourOutputs {
  private readonly byHour = new Map<string, HourRows>();
  /** Bytes all builders hold, as last counted. */
  private heldBytes = 0;
  private readonly budget: SpoolBudget;
  private readonly folder: string;
  private readonly rowSpool: SpoolFile;
  private readonly parquetSpool: SpoolFile;
  /** Counters for tests and benchmarks: what the bounds made the outputs do. */
  readonly stats = { spills: 0, spilledBytes: 0, rowGroups: 0 };

  constructor(
    private readonly table: TableDefinition,
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly fileId: string,
    private readonly limits: OutputLimits,
  ) {
    this.budget = new SpoolBudget(limits.spoolBytes);
    this.folder = mkdtempSync(join(tmpdir(), 'cf-etl-spool-'));
    this.rowSpool = new SpoolFile(join(this.folder, 'rows.spill'), this.budget);
    this.parquetSpool = new SpoolFile(join(this.folder, 'hours.parquet'), this.budget);
  }

  /** Hours that received rows, sorted. */
  get hours(): string[] {
    return [...this.byHour.keys()].sort();
  }

  /** The most the spool held on the temp disk, in bytes. */
  get spoolPeakBytes(): number {
    return this.budget.peak;
  }

  /** The hour's rows: append a row to `builder`, then call `added`. */
  rowsOf(hour: string): HourRows & { builder: ColumnBatchBuilder } {
    let rows = this.byHour.get(hour);
    if (rows === undefined) {
      rows = {
        hour,
        builder: undefined,
        heldBytes: 0,
        spilled: [],
        spilledRows: 0,
        spilledBytes: 0,
        encoder: undefined,
        parts: [],
      };
      this.byHour.set(hour, rows);
    }
    rows.builder ??= new ColumnBatchBuilder(this.table);
    return rows as HourRows & { builder: ColumnBatchBuilder };
  }

  /** After a row was appended to the hour's builder: writes its row group when full, keeps the budget. */
  added(rows: HourRows & { builder: ColumnBatchBuilder }): void {
    const count = rows.builder.length;
    if (count + rows.spilledRows >= this.limits.rowGroupRows || count % BYTE_CHECK_ROWS === 0) {
      this.settle(rows);
    }
  }

  private settle(rows: HourRows & { builder: ColumnBatchBuilder }): void {
    const builder = rows.builder;
    if (
      builder.length + rows.spilledRows >= this.limits.rowGroupRows ||
      builder.byteSize + rows.spilledBytes >= this.limits.rowGroupBytes
    ) {
      this.writeRowGroup(rows);
    }
    this.count(rows);
    while (this.heldBytes > this.limits.bufferBytes && this.spillLargest()) {}
  }

  /** Brings the budget's count of the hour's builder up to date. */
  private count(rows: HourRows): void {
    const bytes = rows.builder?.capacityBytes ?? 0;
    this.heldBytes += bytes - rows.heldBytes;
    rows.heldBytes = bytes;
  }

  /** Spills the rows of the hour whose builder holds the most, and lets its buffers go. */
  private spillLargest(): boolean {
    let largest: HourRows | undefined;
    for (const rows of this.byHour.values()) {
      if (rows.builder !== undefined && (largest === undefined || rows.heldBytes > largest.heldBytes))
        largest = rows;
    }
    if (largest?.builder === undefined) return false;
    const builder = largest.builder;
    if (builder.length > 0) {
      const range = this.rowSpool.append(spillBuffers(builder));
      largest.spilled.push({ range, rows: builder.length });
      largest.spilledRows += builder.length;
      largest.spilledBytes += range.length;
      this.stats.spills++;
      this.stats.spilledBytes += range.length;
    }
    largest.builder = undefined;
    this.count(largest);
    return true;
  }

  /** Encodes the hour's pending rows, spilled ones first, as one row group into the Parquet spool. */
  private writeRowGroup(rows: HourRows): void {
    const pending = (rows.builder?.length ?? 0) + rows.spilledRows;
    if (pending === 0) return;
    rows.encoder ??= new ParquetEncoder(this.table, (bytes) => this.emitParquet(rows, bytes), {
      // Row groups are cut here, by rows and by their raw bytes, never inside the encoder.
      rowGroupRows: Number.MAX_SAFE_INTEGER,
      rowGroupBytes: Number.MAX_SAFE_INTEGER,
    });
    for (const piece of rows.spilled) {
      rows.encoder.append(batchFromSpill(this.table, piece.rows, this.rowSpool.read(piece.range)));
    }
    if (rows.builder !== undefined && rows.builder.length > 0) rows.encoder.append(rows.builder);
    // Ends the row group and lets the column writers (pages, dictionaries) go until the next one.
    rows.encoder.pause();
    this.stats.rowGroups++;
    rows.spilled = [];
    rows.spilledRows = 0;
    rows.spilledBytes = 0;
    rows.builder?.clear();
  }

  private emitParquet(rows: HourRows, bytes: Buffer): void {
    const range = this.parquetSpool.append([bytes]);
    const last = rows.parts[rows.parts.length - 1];
    if (last !== undefined && last.offset + last.length === range.offset) last.length += range.length;
    else rows.parts.push(range);
  }

  /**
   * Writes what is left and finishes every hour's file in the spool (the raw file was read to its
   * end). Throws `SpoolFullError` when the temp disk's share would overflow.
   */
  seal(): void {
    for (const hour of this.hours) {
      const rows = this.byHour.get(hour)!;
      this.writeRowGroup(rows);
      rows.builder = undefined;
      rows.encoder!.finish();
    }
    this.heldBytes = 0;
    this.rowSpool.close();
    rmSync(join(this.folder, 'rows.spill'), { force: true });
  }

  /** Uploads every hour's file (after `seal`), then removes the spool. */
  async publish(): Promise<void> {
    try {
      await mapWithLimit(this.hours, this.limits.uploadConcurrency, (hour) =>
        this.store.putStream(
          this.bucket,
          keys.curated(hour, this.fileId),
          this.parquetSpool.stream(this.byHour.get(hour)!.parts),
          { contentType: 'application/vnd.apache.parquet' },
        ),
      );
    } finally {
      this.removeSpool();
    }
  }

  /** Publishes nothing: lets the rows go and removes the spool. */
  async abandon(): Promise<void> {
    for (const rows of this.byHour.values()) {
      rows.builder = undefined;
      rows.encoder?.release();
    }
    this.removeSpool();
  }

  private removeSpool(): void {
    this.rowSpool.close();
    this.parquetSpool.close();
    rmSync(this.folder, { recursive: true, force: true });
  }
}

const CuratedHoursSchema = z.object({ fileId: z.string(), hours: z.array(z.string()) });

/**
 * Records that the raw file `fileId` now has curated files for exactly `hours`, and deletes those
 * of hours an earlier transform of it wrote that it no longer has (its content changed, or it is
 * now quarantined whole): curated data is always the transform of the raw file as it is now, so
 * later aggregates never count rows the file no longer holds. The record is written after the
 * deletes, so a transform stopped in between deletes them on its next run.
 */
export async function replaceCuratedHours(
  store: ObjectStore,
  bucket: string,
  fileId: string,
  hours: readonly string[],
): Promise<string[]> {
  const key = keys.curatedHours(fileId);
  const before =
    (await store.head(bucket, key)) === undefined
      ? []
      : CuratedHoursSchema.parse(await store.getJson(bucket, key)).hours;
  const now = new Set(hours);
  const gone = before.filter((hour) => !now.has(hour));
  if (gone.length > 0) await store.delete(bucket, gone.map((hour) => keys.curated(hour, fileId)));
  if (hours.length === 0) {
    if (before.length > 0) await store.delete(bucket, [key]);
  } else if (gone.length > 0 || hours.length !== before.length) {
    await store.putJson(bucket, key, { fileId, hours: [...hours] });
  }
  return gone;
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
