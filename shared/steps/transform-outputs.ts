import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import * as z from 'zod';
import { getJsonIfPresent, type ObjectStore } from '#shared/adapters/object-store';
import { mapWithLimit } from '#shared/core/concurrency';
import { keys } from '#shared/core/run-files';
import type { TableDefinition } from '#shared/datasets/table';
import { ColumnBatchBuilder } from '#shared/parquet/column-batch';
import { SpilledBatchReader, spillBuffers } from '#shared/parquet/column-spill';
import { ParquetEncoder, SpareColumnWriters } from '#shared/parquet/parquet-writer';
import {
  makeSpoolFolder,
  SpillFile,
  type SpillRange,
  SpoolBudget,
  SpoolFile,
  type SpoolRange,
} from './transform-spool';

const MiB = 1024 * 1024;
const HOUR_MS = 3_600_000;

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
  /** Rows without another hour's row after which an hour counts as alone (sorted input). */
  aloneRows: number;
  /** An hour alone hands its rows to its encoder in batches of this many bytes. */
  streamBatchBytes: number;
  /**
   * Hours that may hold a row group open in their encoder at once (an hour alone streams into it;
   * an open row group is only ever written out full, or at the end of the file).
   */
  openRowGroups: number;
}

/** Lambda's default /tmp is 512 MB; the spool leaves 64 MB of it for everything else. */
export const DEFAULT_SPOOL_BYTES = 448 * MiB;

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  rowGroupRows: 64_000,
  rowGroupBytes: 64 * MiB,
  bufferBytes: 8 * MiB,
  spoolBytes: DEFAULT_SPOOL_BYTES,
  uploadConcurrency: 4,
  aloneRows: 4_096,
  streamBatchBytes: 6 * MiB,
  openRowGroups: 2,
};

/**
 * What the builders' buffers may take in all, empty room included, before empty ones are let go.
 * An hour's builder keeps the room it grew to for its next rows (made again, it would grow by
 * doubling, copying its rows about eight times). With hours interleaved, the fullest hour is
 * spilled, so hours sit between empty and about twice the average when the budget is reached, and
 * buffers grow by doubling: their room is up to about 4× `bufferBytes` (measured 4.2–4.5× on the
 * bench's orders). Room never written to is not resident: the RSS is that of the rows.
 */
function capacityLimit(limits: OutputLimits): number {
  return limits.bufferBytes * 5;
}

/** Small builders kept for reuse once let go (`HourOutputs.spareBuilders`): under 3 MB in all. */
const SPARE_BUILDERS = 32;
const SPARE_BUILDER_BYTES = 64 * 1024;

/** Rows between checks of an hour's bytes (a line may be up to 1 MiB: this bounds the overshoot). */
const BYTE_CHECK_ROWS = 64;

/** Rows of one hour spilled to the row spool: one builder's rows, in the spill layout. */
interface SpilledRows {
  range: SpillRange;
  rows: number;
}

/**
 * One hour's rows of this raw file, on their way to its one curated Parquet file. In file order,
 * its rows not yet written out are: those in the encoder's open row group, then the spilled ones,
 * then those in the builder.
 */
export interface HourRows {
  /** Hours since the epoch. */
  readonly index: number;
  readonly hour: string;
  /** Rows in memory, not yet encoded nor spilled; undefined once its buffers were let go. */
  builder: ColumnBatchBuilder | undefined;
  /** The builder's rows' bytes, and its buffers' bytes, as last counted in the memory budget. */
  contentBytes: number;
  capacityBytes: number;
  /** Rows on the temp disk, in file order. */
  spilled: SpilledRows[];
  spilledRows: number;
  spilledBytes: number;
  /** The hour's Parquet file: made at its first encoded rows, written into the Parquet spool. */
  encoder: ParquetEncoder | undefined;
  /** Rows in the encoder's open row group. */
  openRows: number;
  /** The file's row number of the hour's last row. */
  lastRow: number;
  /** Where the hour's Parquet bytes are in the Parquet spool, in order. */
  parts: SpoolRange[];
}

type ActiveHour = HourRows & { builder: ColumnBatchBuilder };

/**
 * The curated outputs of one raw file: exactly one Parquet file per hour of the rows' own
 * timestamps, `curated/dt=…/hour=…/<fileId>.parquet`, whatever the order of the rows, with full
 * row groups and memory bounded by `bufferBytes` (docs/transform.md, "Rows in any order").
 *
 * - **An hour alone** (no other hour's row in the last `aloneRows` rows: sorted input) is encoded
 *   as it comes, a batch of `streamBatchBytes` at a time, into its open row group, as compressed
 *   pages: memory is its row group's compressed size. At most `openRowGroups` hours hold a row
 *   group open; an open row group is written out only when full or at the end of the file, so an
 *   hour whose rows stop and resume later still continues the same row group.
 * - **Hours interleaved** (or alone without a free open row group) keep their rows in a builder
 *   per hour until the hour has `rowGroupRows` rows, then encode them as one full row group. Past
 *   `bufferBytes` of rows in builders, the hour holding the most (preferring any but the one rows
 *   arrive for) is spilled to the temp disk as its buffers are, and read back, in order, when its
 *   row group is written.
 *
 * Row groups go into a Parquet spool on the temp disk. Nothing is published before `seal` and
 * `publish` (the raw file was read to its end); `abandon` removes the spool and publishes nothing.
 */
export class HourOutputs {
  private readonly byHour = new Map<string, HourRows>();
  private readonly byIndex = new Map<number, HourRows>();
  /** The hours holding a builder, the one rows went to least recently first. */
  private readonly live = new Map<number, HourRows>();
  /**
   * Builders of hours let go while they were still small (many hours of a few rows each), cleared,
   * for the next hours that need one: made again, each would cost 100-odd objects and buffers.
   */
  private readonly spareBuilders: ColumnBatchBuilder[] = [];
  /** The hour the last row went to. */
  private last: HourRows | undefined;
  /** Rows routed so far, and the row number at which the hour last changed. */
  private rowNumber = 0;
  private switchedAt = 0;
  /** The row number at which empty builders of hours that stopped are next let go. */
  private nextSweep = 0;
  /** Bytes of rows in all builders and bytes of their buffers, as counted. */
  private contentBytes = 0;
  private capacityBytes = 0;
  /** Hours whose encoder holds an open row group. */
  private openGroups = 0;
  /** Reused to read spilled rows back (8-byte aligned, grown to the largest piece). */
  private readBuffer = Buffer.allocUnsafeSlow(0);
  private readonly spillReader: SpilledBatchReader;
  /** Column writers between row groups, shared by the hours' encoders (they encode one at a time). */
  private readonly spareWriters: SpareColumnWriters;
  private readonly budget: SpoolBudget;
  private readonly folder: string;
  private readonly rowSpool: SpillFile;
  private readonly parquetSpool: SpoolFile;
  /** What the bounds made the outputs do (logged, and read by tests and the benchmark). */
  readonly stats = { spills: 0, spilledBytes: 0, builders: 0, buildersHeld: 0 };

  constructor(
    private readonly table: TableDefinition,
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly fileId: string,
    private readonly limits: OutputLimits,
    /** Where the spool folder is made (the transform's `spoolDirectory`, the OS temp folder by default). */
    spoolDirectory: string,
  ) {
    this.spareWriters = new SpareColumnWriters(table);
    this.spillReader = new SpilledBatchReader(table);
    this.budget = new SpoolBudget(limits.spoolBytes);
    this.folder = makeSpoolFolder(spoolDirectory);
    this.rowSpool = new SpillFile(join(this.folder, 'rows.spill'), this.budget);
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

  /**
   * The rows of the hour `index` (hours since the epoch): append a row to `builder`, then call
   * `added`. Keyed by number, so rows in any order cost a map lookup, not a formatted date each.
   */
  rowsAt(index: number): ActiveHour {
    let rows = this.last?.index === index ? this.last : this.byIndex.get(index);
    if (rows === undefined) {
      const hour = new Date(index * HOUR_MS).toISOString().slice(0, 13);
      rows = {
        index,
        hour,
        builder: undefined,
        contentBytes: 0,
        capacityBytes: 0,
        spilled: [],
        spilledRows: 0,
        spilledBytes: 0,
        encoder: undefined,
        openRows: 0,
        lastRow: 0,
        parts: [],
      };
      this.byIndex.set(index, rows);
      this.byHour.set(hour, rows);
    }
    if (rows !== this.last) {
      this.last = rows;
      this.switchedAt = this.rowNumber;
      // Most recently used last: the map keeps insertion order.
      if (this.live.delete(index)) this.live.set(index, rows);
    }
    if (rows.builder === undefined) {
      rows.builder = this.spareBuilders.pop() ?? new ColumnBatchBuilder(this.table);
      this.live.set(index, rows);
      this.stats.builders++;
      if (this.live.size > this.stats.buildersHeld) this.stats.buildersHeld = this.live.size;
    }
    return rows as ActiveHour;
  }

  /**
   * After a row was appended to the hour's builder: encodes or spills rows as the bounds say (most
   * rows need nothing).
   */
  added(rows: ActiveHour): void {
    rows.lastRow = ++this.rowNumber;
    const count = rows.builder.length;
    // Counted at 1, 2, 4, … rows, then every BYTE_CHECK_ROWS: many hours of few rows each count too.
    if (
      count + rows.spilledRows + rows.openRows >= this.limits.rowGroupRows ||
      (count & (count - 1)) === 0 ||
      count % BYTE_CHECK_ROWS === 0
    ) {
      this.settle(rows);
    }
  }

  private settle(rows: ActiveHour): void {
    if (this.rowNumber >= this.nextSweep) this.letGoStaleBuilders();
    const content = rows.builder.byteSize;
    if (
      rows.builder.length + rows.spilledRows + rows.openRows >= this.limits.rowGroupRows ||
      content + rows.spilledBytes >= this.limits.rowGroupBytes
    ) {
      this.encode(rows, true);
    } else if (
      content >= this.limits.streamBatchBytes &&
      this.rowNumber - this.switchedAt >= this.limits.aloneRows &&
      (rows.openRows > 0 || this.openGroups < this.limits.openRowGroups)
    ) {
      this.encode(rows, false);
    }
    this.count(rows);
    while (this.overBudget() && this.relieve()) {}
  }

  private overBudget(): boolean {
    return this.contentBytes > this.limits.bufferBytes || this.capacityBytes > capacityLimit(this.limits);
  }

  /**
   * Lets go the empty builders of hours without a row in the last `rowGroupRows` rows: an hour
   * that ended (sorted input) keeps no room, while hours being interleaved keep theirs. (Their rows
   * come in bursts: lines wait by hour and are parsed a batch at a time, up to 32,768 lines of
   * other hours in between.)
   */
  private letGoStaleBuilders(): void {
    this.nextSweep = this.rowNumber + this.limits.aloneRows;
    for (const rows of this.live.values()) {
      if (rows.builder?.length === 0 && this.rowNumber - rows.lastRow > this.limits.rowGroupRows) {
        this.letGo(rows);
      }
    }
  }

  /** Lets the hour's builder go (it holds no rows): its room counts no more. */
  private letGo(rows: HourRows): void {
    if (
      rows.builder !== undefined &&
      rows.builder.capacityBytes <= SPARE_BUILDER_BYTES &&
      this.spareBuilders.length < SPARE_BUILDERS
    ) {
      this.spareBuilders.push(rows.builder);
    }
    rows.builder = undefined;
    this.live.delete(rows.index);
    this.count(rows);
  }

  /** Brings the budget's count of the hour's builder up to date. */
  private count(rows: HourRows): void {
    const content = rows.builder?.byteSize ?? 0;
    // Objects counted with buffers: a file of thousands of hours holds a bounded number of builders.
    const capacity = rows.builder?.footprintBytes ?? 0;
    this.contentBytes += content - rows.contentBytes;
    this.capacityBytes += capacity - rows.capacityBytes;
    rows.contentBytes = content;
    rows.capacityBytes = capacity;
  }

  /**
   * One step back under the budget: room that doubling and bursts left in empty builders is let
   * go first; when every builder holds rows (a file of many hours, a few rows each), the hour rows
   * went to least recently is spilled and its builder let go; past the rows' budget, the hour
   * holding the most rows (preferring any but the one rows arrive for) is spilled. False when
   * nothing is left to relieve.
   */
  private relieve(): boolean {
    let largestEmpty: HourRows | undefined;
    let fullest: HourRows | undefined;
    let leastRecent: HourRows | undefined;
    for (const rows of this.live.values()) {
      if (rows.builder === undefined) continue;
      if (rows.builder.length === 0) {
        if (largestEmpty === undefined || rows.capacityBytes > largestEmpty.capacityBytes)
          largestEmpty = rows;
      } else {
        if (leastRecent === undefined && rows !== this.last) leastRecent = rows;
        if (
          fullest === undefined ||
          (fullest === this.last && rows !== this.last) ||
          (rows !== this.last && rows.contentBytes > fullest.contentBytes)
        ) {
          fullest = rows;
        }
      }
    }
    if (this.capacityBytes > capacityLimit(this.limits)) {
      if (largestEmpty !== undefined) {
        this.letGo(largestEmpty);
        return true;
      }
      if (leastRecent?.builder !== undefined) {
        this.spill(leastRecent, leastRecent.builder);
        this.letGo(leastRecent);
        return true;
      }
    }
    if (this.contentBytes <= this.limits.bufferBytes || fullest?.builder === undefined) return false;
    this.spill(fullest, fullest.builder);
    return true;
  }

  /**
   * Writes the hour's rows to the row spool as its builder's buffers are (spill layout, no copy, no
   * encoding) and clears the builder, which keeps the room it grew to for the hour's next rows.
   * (Measured on the bench's orders: handing the full builder to a write on the thread pool and
   * giving the hour another was slower. A builder made again grows by doubling, copying its rows
   * about eight times, and builders in flight held memory.)
   */
  private spill(rows: HourRows, builder: ColumnBatchBuilder): void {
    const range = this.rowSpool.write(spillBuffers(builder));
    rows.spilled.push({ range, rows: builder.length });
    rows.spilledRows += builder.length;
    rows.spilledBytes += range.length;
    this.stats.spills++;
    this.stats.spilledBytes += range.length;
    builder.clear();
    this.count(rows);
  }

  /**
   * Encodes the hour's rows not yet encoded, spilled ones first, into its open row group; with
   * `endGroup` the row group is then written out (the encoder itself ends one at `rowGroupRows`)
   * and the column writers' buffers let go until the hour's next rows. The room of the pieces read
   * is given back for later ones, unless no more will be spilled (`seal`: the file goes).
   */
  private encode(rows: HourRows, endGroup: boolean, reuseRoom = true): void {
    rows.encoder ??= new ParquetEncoder(
      this.table,
      (bytes) => this.emitParquet(rows, bytes),
      {
        rowGroupRows: this.limits.rowGroupRows,
        // Row groups of wide rows are cut here, by their raw bytes, not by the encoder's guess.
        rowGroupBytes: Number.MAX_SAFE_INTEGER,
      },
      this.spareWriters,
    );
    const encoder = rows.encoder;
    for (const piece of rows.spilled) {
      if (this.readBuffer.length < piece.range.length)
        this.readBuffer = Buffer.allocUnsafeSlow(piece.range.length);
      encoder.append(this.spillReader.read(piece.rows, this.rowSpool.read(piece.range, this.readBuffer)));
      if (reuseRoom) this.rowSpool.release(piece.range);
    }
    rows.spilled = [];
    rows.spilledRows = 0;
    rows.spilledBytes = 0;
    if (rows.builder !== undefined && rows.builder.length > 0) {
      encoder.append(rows.builder);
      rows.builder.clear();
    }
    if (endGroup) encoder.pause();
    const open = encoder.openRows;
    this.openGroups += Number(open > 0) - Number(rows.openRows > 0);
    rows.openRows = open;
  }

  private emitParquet(rows: HourRows, bytes: Buffer): void {
    const range = this.parquetSpool.append([bytes]);
    const last = rows.parts[rows.parts.length - 1];
    if (last !== undefined && last.offset + last.length === range.offset) last.length += range.length;
    else rows.parts.push(range);
  }

  /**
   * Writes what is left and finishes every hour's file in the spool (the raw file was read to its
   * end). Rejects with `SpoolFullError` when the temp disk's share would overflow.
   */
  seal(): void {
    for (const hour of this.hours) {
      const rows = this.byHour.get(hour)!;
      this.encode(rows, true, false);
      rows.builder = undefined;
      this.live.delete(rows.index);
      rows.encoder!.finish();
    }
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
    this.live.clear();
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
  const stored = await getJsonIfPresent(store, bucket, key);
  const before = stored === undefined ? [] : CuratedHoursSchema.parse(stored).hours;
  const now = new Set(hours);
  const gone = before.filter((hour) => !now.has(hour));
  if (gone.length > 0)
    await store.delete(
      bucket,
      gone.map((hour) => keys.curated(hour, fileId)),
    );
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
