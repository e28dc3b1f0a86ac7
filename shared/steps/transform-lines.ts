/**
 * Raw lines of interleaved hours, gathered by hour before they are parsed into columns.
 *
 * Parsing a line writes one value into each of its hour's ~33 column buffers. With the rows of 48
 * hours interleaved, consecutive rows write into 48 × 33 buffers in turn, and the CPU's caches
 * miss on nearly every write (measured: the appends took 3.5× their time on sorted rows). So the
 * transform keeps, for each hour other than the one it is appending to, that hour's next lines as
 * bytes (one copy, in order), and parses a batch of them together when it is full: the columns
 * are then written by runs of hundreds of rows, as for sorted input. Sorted input pays only at
 * each hour's first lines.
 */

export interface LineBatchLimits {
  /** Lines a batch holds before it is parsed. */
  lines: number;
  /** Bytes a batch holds before it is parsed; a longer line is never held. */
  bytes: number;
  /** Batches with room at once (their bytes are the memory this takes). */
  batches: number;
}

/**
 * Measured on the bench's 1,000,000 rows over 48 interleaved hours (`npm run bench:transform`):
 * batches of 1,024 lines with 32 batches for 48 hours took 8.4–9.4 s (a batch was often parsed
 * early to make room), 512 lines with 64 batches 6.6–6.7 s; sorted rows take 6.0–6.5 s. 64
 * batches of 128 KiB are 8 MiB.
 */
export const DEFAULT_LINE_BATCH_LIMITS: LineBatchLimits = {
  lines: 512,
  bytes: 128 * 1024,
  batches: 64,
};

/** One hour's held lines: `bytes[ends[i - 1], ends[i])` is the line numbered `lineNumbers[i]`. */
export interface LineBatch {
  hour: number;
  readonly bytes: Buffer;
  readonly ends: Int32Array;
  readonly lineNumbers: Float64Array;
  count: number;
  length: number;
}

export class LineBatches {
  private readonly held = new Map<number, LineBatch>();
  private readonly free: LineBatch[] = [];
  private made = 0;

  constructor(private readonly limits: LineBatchLimits = DEFAULT_LINE_BATCH_LIMITS) {}

  /** Whether a line this long is held at all (a long line is parsed at once, after its hour's batch). */
  holds(lineBytes: number): boolean {
    return lineBytes <= this.limits.bytes / 4;
  }

  /** Whether lines of this hour are being held. */
  has(hour: number): boolean {
    return this.held.has(hour);
  }

  /**
   * The batch the next line of `hour` (of `lineBytes`) goes into, or, when it has no room (or no
   * batch is free), the batch to parse first, taken out of this holder: parse it, `release` it,
   * then ask again.
   */
  room(hour: number, lineBytes: number): { batch: LineBatch; full: boolean } {
    const batch = this.held.get(hour);
    if (batch !== undefined) {
      if (batch.count < this.limits.lines && batch.length + lineBytes <= this.limits.bytes)
        return { batch, full: false };
      return { batch: this.take(batch), full: true };
    }
    const fresh = this.free.pop() ?? this.make();
    if (fresh === undefined) return { batch: this.take(this.fullest()), full: true };
    fresh.hour = hour;
    fresh.count = 0;
    fresh.length = 0;
    this.held.set(hour, fresh);
    return { batch: fresh, full: false };
  }

  /** Copies `bytes[start, end)` into `batch` (which `room` returned with `full: false`). */
  static add(batch: LineBatch, bytes: Uint8Array, start: number, end: number, lineNumber: number): void {
    batch.bytes.set(bytes.subarray(start, end), batch.length);
    batch.length += end - start;
    batch.ends[batch.count] = batch.length;
    batch.lineNumbers[batch.count] = lineNumber;
    batch.count++;
  }

  /** Takes the hour's batch out (to be parsed now), if it has one. */
  takeHour(hour: number): LineBatch | undefined {
    const batch = this.held.get(hour);
    return batch === undefined ? undefined : this.take(batch);
  }

  /** Takes every batch out, hours in ascending order (the end of the file, or a header line). */
  takeAll(): LineBatch[] {
    const batches = [...this.held.values()].sort((a, b) => a.hour - b.hour);
    this.held.clear();
    return batches;
  }

  /** Gives a parsed batch's room back. */
  release(batch: LineBatch): void {
    this.free.push(batch);
  }

  private take(batch: LineBatch): LineBatch {
    this.held.delete(batch.hour);
    return batch;
  }

  private fullest(): LineBatch {
    let fullest: LineBatch | undefined;
    for (const batch of this.held.values())
      if (fullest === undefined || batch.length > fullest.length) fullest = batch;
    return fullest!;
  }

  private make(): LineBatch | undefined {
    if (this.made >= this.limits.batches) return undefined;
    this.made++;
    return {
      hour: -1,
      bytes: Buffer.allocUnsafeSlow(this.limits.bytes),
      ends: new Int32Array(this.limits.lines),
      lineNumbers: new Float64Array(this.limits.lines),
      count: 0,
      length: 0,
    };
  }
}
