import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { folderBytes } from '#shared/core/files';
import { processRuns } from '#shared/core/process';

/**
 * This process's mark on the spool folders it makes, `cf-etl-spool-<pid>-<mark>-…`: when it
 * started (ms, base 36). A folder of the same pid with another mark was left by an earlier process
 * that had that pid (on Lambda, a timed-out invocation's runtime, restarted in the same environment,
 * whose /tmp is kept). Not a random value: every copy of this module in one process (the local
 * stack loads each function's modules apart) must make the same mark.
 */
const PROCESS_MARK = Math.floor(performance.timeOrigin).toString(36);
const SPOOL_PREFIX = 'cf-etl-spool-';
const OWNED_SPOOL = /^cf-etl-spool-(\d+)-([0-9a-z]+)-/;

/** A new spool folder for one raw file's transform in `directory`, marked as this process's. */
export function makeSpoolFolder(directory: string): string {
  return mkdtempSync(join(directory, `${SPOOL_PREFIX}${process.pid}-${PROCESS_MARK}-`));
}

/** Spool folders left in `directory` by processes that are gone, and their bytes. */
export interface StaleSpools {
  folders: string[];
  bytes: number;
}

/**
 * Removes the spool folders in `directory` that processes now gone left behind: a transform
 * killed halfway (a Lambda timeout, an out-of-memory kill) removes nothing, and on Lambda its
 * /tmp outlives it, so its spool (up to `spoolBytes`) would take the temp disk the next transform
 * in that environment counts on. A folder is left alone while the process that made it may be
 * running (other processes on a shared machine); unmarked folders, of older versions, too.
 * Processes sharing the temp folder are taken to share one pid namespace (one machine or
 * container, as on Lambda). A folder that cannot be removed is skipped: this never fails a
 * transform.
 */
export function removeStaleSpools(directory: string): StaleSpools {
  const stale: StaleSpools = { folders: [], bytes: 0 };
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch {
    return stale;
  }
  for (const name of names) {
    const owner = OWNED_SPOOL.exec(name);
    if (owner === null) continue;
    const pid = Number(owner[1]);
    const gone = pid === process.pid ? owner[2] !== PROCESS_MARK : !processRuns(pid);
    if (!gone) continue;
    const folder = join(directory, name);
    let bytes = 0;
    try {
      bytes = folderBytes(folder);
    } catch {
      // Gone meanwhile: nothing to count.
    }
    try {
      rmSync(folder, { recursive: true, force: true });
    } catch {
      // Not ours to remove (another user's): the transform goes on; its own spool is checked.
      continue;
    }
    stale.bytes += bytes;
    stale.folders.push(folder);
  }
  return stale;
}

/** A run of bytes in a spool file. */
export interface SpoolRange {
  offset: number;
  length: number;
}

/** Raised when a file's spool would pass what the temp disk may hold; names the setting to raise. */
export class SpoolFullError extends Error {
  constructor(limitBytes: number) {
    super(
      `the transform needs more than ${Math.floor(limitBytes / 1024 / 1024)} MB of temp disk for this file ` +
        '(raise ephemeralStorageSize in serverless.yml, or keep raw files under maxRawFileBytes)',
    );
    this.name = 'SpoolFullError';
  }
}

/** What every spool file of one transform may hold together on the temp disk. */
export class SpoolBudget {
  used = 0;
  peak = 0;
  constructor(readonly limitBytes: number) {}

  take(bytes: number): void {
    if (this.used + bytes > this.limitBytes) throw new SpoolFullError(this.limitBytes);
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }
}

/**
 * An append-only file on the temp disk that ranges of bytes are written to, then streamed out.
 * Writes are synchronous: the transform's reader waits for nothing else meanwhile, and a local
 * disk write of a few MiB is cheaper than the promise machinery around it.
 */
export class SpoolFile {
  private fd: number | undefined;
  private size = 0;

  constructor(
    private readonly path: string,
    private readonly budget: SpoolBudget,
  ) {}

  /** Appends the buffers, in order, as one range. */
  append(buffers: readonly Buffer[]): SpoolRange {
    const length = totalLength(buffers);
    this.budget.take(length);
    this.fd ??= openSync(this.path, 'w+');
    const offset = this.size;
    writeAllSync(this.fd, buffers, offset);
    this.size += length;
    return { offset, length };
  }

  /** The ranges, in order, as one stream (an upload's body), read 1 MiB at a time. */
  stream(ranges: readonly SpoolRange[]): Readable {
    const path = this.path;
    return Readable.from(
      (async function* () {
        const file = await open(path, 'r');
        try {
          for (const range of ranges) {
            for (let at = 0; at < range.length; ) {
              const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, range.length - at));
              const { bytesRead } = await file.read(chunk, 0, chunk.length, range.offset + at);
              if (bytesRead === 0) throw new Error(`spool file ${path} ends early`);
              at += bytesRead;
              yield chunk.subarray(0, bytesRead);
            }
          }
        } finally {
          await file.close();
        }
      })(),
      { objectMode: false },
    );
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Where one spilled piece is in a `SpillFile`: its segments, in order, `length` bytes in all. */
export interface SpillRange {
  segments: SpoolRange[];
  length: number;
}

/**
 * The file that rows spilled from memory go to, each piece written once and read back once. The
 * room of a piece read back is reused by the next ones (a piece may take several free runs, so
 * none is left too short), and the file grows, and takes from the budget, only when no room is
 * free. With five hours interleaved nearly every row is spilled, but an hour's pieces are read
 * back, and their room freed, at each of its row groups: the file stays near the rows of the hours
 * in progress instead of growing by every row, and writes land on pages the OS still has (measured:
 * 564 MiB appended to a new file took 80–510 ms of system time, the same rewritten within 190 MiB
 * 60 ms).
 */
export class SpillFile {
  private fd: number | undefined;
  private size = 0;
  /** Free runs of the file, by offset, no two adjacent, and their bytes. */
  private readonly free: SpoolRange[] = [];
  private freeBytes = 0;

  constructor(
    private readonly path: string,
    private readonly budget: SpoolBudget,
  ) {}

  /** Bytes the file takes on the disk. */
  get bytes(): number {
    return this.size;
  }

  /** Writes the buffers, in order, as one piece: into free runs first, lowest first, then at the end. */
  write(buffers: readonly Buffer[]): SpillRange {
    const length = totalLength(buffers);
    const growth = Math.max(0, length - this.freeBytes);
    this.budget.take(growth);
    this.freeBytes -= length - growth;
    const segments: SpoolRange[] = [];
    let left = length;
    while (left > 0 && this.free.length > 0) {
      const run = this.free[0]!;
      const take = Math.min(left, run.length);
      segments.push({ offset: run.offset, length: take });
      if (take === run.length) this.free.shift();
      else {
        run.offset += take;
        run.length -= take;
      }
      left -= take;
    }
    if (left > 0) {
      const last = segments[segments.length - 1];
      if (last !== undefined && last.offset + last.length === this.size) last.length += left;
      else segments.push({ offset: this.size, length: left });
      this.size += left;
    }
    this.fd ??= openSync(this.path, 'w+');
    let index = 0;
    let within = 0;
    for (const segment of segments) {
      const part: Buffer[] = [];
      for (let need = segment.length; need > 0; ) {
        const buffer = buffers[index]!;
        const take = Math.min(need, buffer.length - within);
        if (take > 0) part.push(buffer.subarray(within, within + take));
        need -= take;
        within += take;
        if (within === buffer.length) {
          index++;
          within = 0;
        }
      }
      writeAllSync(this.fd, part, segment.offset);
    }
    return { segments, length };
  }

  /**
   * A piece read back into `into` (or a buffer of its own), from its start: the returned view is
   * 8-byte aligned when `into` is, as typed-array views need.
   */
  read(range: SpillRange, into: Buffer = Buffer.allocUnsafeSlow(range.length)): Buffer {
    const buffer = into.subarray(0, range.length);
    let at = 0;
    for (const segment of range.segments) {
      readAllSync(this.fd!, this.path, buffer.subarray(at, at + segment.length), segment.offset);
      at += segment.length;
    }
    return buffer;
  }

  /** Gives a piece's room back, once read, for later pieces. */
  release(range: SpillRange): void {
    for (const segment of range.segments) {
      this.freeRun(segment.offset, segment.length);
      this.freeBytes += segment.length;
    }
    range.segments = [];
  }

  private freeRun(offset: number, length: number): void {
    const free = this.free;
    // The first run past `offset` (binary search: a file of thousands of hours frees many runs).
    let at = 0;
    for (let high = free.length; at < high; ) {
      const middle = (at + high) >>> 1;
      if (free[middle]!.offset < offset) at = middle + 1;
      else high = middle;
    }
    const before = free[at - 1];
    const after = free[at];
    if (before !== undefined && before.offset + before.length === offset) {
      before.length += length;
      if (after !== undefined && before.offset + before.length === after.offset) {
        before.length += after.length;
        free.splice(at, 1);
      }
    } else if (after !== undefined && offset + length === after.offset) {
      after.offset = offset;
      after.length += length;
    } else {
      free.splice(at, 0, { offset, length });
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function totalLength(buffers: readonly Buffer[]): number {
  let length = 0;
  for (const buffer of buffers) length += buffer.length;
  return length;
}

/** Writes the buffers, in order, from `position`; writev may write less than asked (a signal). */
function writeAllSync(fd: number, buffers: readonly Buffer[], position: number): void {
  let pending = buffers.filter((buffer) => buffer.length > 0);
  while (pending.length > 0) {
    let written = writevSync(fd, pending.slice(0, 1024), position);
    position += written;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (written >= buffer.length) written -= buffer.length;
      else {
        rest.push(written > 0 ? buffer.subarray(written) : buffer);
        written = 0;
      }
    }
    pending = rest;
  }
}

/** Fills `buffer` from the file at `position`. */
function readAllSync(fd: number, path: string, buffer: Buffer, position: number): void {
  for (let done = 0; done < buffer.length; ) {
    const read = readSync(fd, buffer, done, buffer.length - done, position + done);
    if (read === 0) throw new Error(`spool file ${path} ends before ${position + buffer.length}`);
    done += read;
  }
}
