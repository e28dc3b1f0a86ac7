import { closeSync, openSync, readSync, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';

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
 * An append-only file on the temp disk that ranges of bytes are written to and read back from.
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
    let length = 0;
    for (const buffer of buffers) length += buffer.length;
    this.budget.take(length);
    this.fd ??= openSync(this.path, 'w+');
    const offset = this.size;
    let pending = buffers.filter((buffer) => buffer.length > 0);
    let position = offset;
    while (pending.length > 0) {
      // writev may write less than asked (a signal, a full pipe); carry on from where it stopped.
      let written = writevSync(this.fd, pending.slice(0, 1024), position);
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
    this.size = position;
    return { offset, length };
  }

  /**
   * A range read back into `into` (or a buffer of its own), from its start: the returned view is
   * 8-byte aligned when `into` is, as typed-array views need.
   */
  read(range: SpoolRange, into: Buffer = Buffer.allocUnsafeSlow(range.length)): Buffer {
    const buffer = into.subarray(0, range.length);
    let done = 0;
    while (done < range.length) {
      const read = readSync(this.fd!, buffer, done, range.length - done, range.offset + done);
      if (read === 0) throw new Error(`spool file ${this.path} ends before ${range.offset + range.length}`);
      done += read;
    }
    return buffer;
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
