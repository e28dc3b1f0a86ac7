import { types } from 'node:util';
import { constants, ZstdCompress, zstdCompressSync } from 'node:zlib';

/**
 * The state of a Node zlib stream's native handle that `PageCompressor` drives: `writeSync` runs
 * one step of the codec over the given input and output ranges, and leaves the room left in the
 * output and the input not consumed in `_writeState` (the same calls `zstdCompressSync` makes).
 */
interface NativeCodec {
  _handle: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOff: number,
      inLen: number,
      out: Uint8Array,
      outOff: number,
      outLen: number,
    ): void;
  } | null;
  _writeState: Uint32Array;
  destroyed: boolean;
  /** The error the stream was destroyed with (set at once; 'error' is emitted a tick later). */
  errored: Error | null;
}

/**
 * Compresses Parquet pages with zstd, one frame per page, through one compression context kept for
 * every page.
 *
 * `zstdCompressSync` makes a context per call, with its stream object, its tables and its output
 * buffers: 25 µs for a 100-byte page and 0.6 ms more than a reused context for a 200 KB one
 * (measured on Node 22: 1.3 ms against 0.7 ms). A file of a few rows per hour writes hundreds of
 * thousands of tiny pages.
 *
 * Each call hands zstd the whole page with `ZSTD_e_end` and room for zstd's bound: zstd then
 * compresses it in one step, writes its size in the frame header and ends the frame, and the
 * context starts the next frame afresh. These are the frames `zstdCompressSync` makes when its
 * output buffer (`chunkSize`) has that room. With a smaller buffer (16 KiB by default; this writer
 * gave it 64 KiB) zstd takes its buffered path on larger pages, which can find other matches on
 * long repetitive pages: valid frames either way, and the bench's curated files came out byte for
 * byte the same as with the 64 KiB buffer.
 *
 * The reused context drives the native handle of a `ZstdCompress` stream, which is not Node's
 * public API: where it is missing (another runtime), every page goes through `zstdCompressSync`,
 * given the same room.
 */
export class PageCompressor {
  private static readonly byLevel = new Map<number, PageCompressor>();

  /**
   * The compressor of this level that the process's writers share. Pages are compressed one at a
   * time, synchronously, and each frame is copied out before the next: one context serves every
   * writer, and its native memory (not counted by V8, so collected late) is made once.
   */
  static shared(level: number): PageCompressor {
    let compressor = PageCompressor.byLevel.get(level);
    if (compressor === undefined) {
      compressor = new PageCompressor(level);
      PageCompressor.byLevel.set(level, compressor);
    }
    return compressor;
  }

  private codec: NativeCodec | undefined;
  /** Output of the last page; grows to zstd's bound of the largest page. */
  private out = Buffer.allocUnsafeSlow(4096);

  constructor(private readonly level: number) {
    // Node keeps zstd's parameters as unsigned 32-bit numbers, in which -1 means "unset": level -1
    // would silently run zstd's default, level 3.
    if (!Number.isInteger(level) || level === -1 || level > 22) {
      throw new RangeError(
        `zstd level ${level}: Node takes whole levels up to 22, and not -1 (its "unset", level 3)`,
      );
    }
    this.codec = openCodec(level);
  }

  /** The compressed frame of `page`: a view of this compressor's buffer, valid until its next call. */
  compress(page: Uint8Array): Buffer {
    // With more room than zstd's bound, one step compresses the whole page and ends the frame, and
    // room left over tells that it did.
    const room = compressBound(page.length) + 1;
    const stream = this.codec;
    if (stream === undefined) {
      return zstdCompressSync(page, {
        chunkSize: room,
        params: { [constants.ZSTD_c_compressionLevel]: this.level },
      });
    }
    if (this.out.length < room) this.out = Buffer.allocUnsafeSlow(Math.max(room, this.out.length * 2));
    const out = this.out;
    try {
      stream._handle?.writeSync(constants.ZSTD_e_end, page, 0, page.length, out, 0, out.length);
      // A zstd error destroys the stream at once (its handle let go), and its state is stale.
      if (stream.destroyed || stream._handle === null) {
        const cause = stream.errored ?? new Error('zstd stream closed');
        throw new Error(`zstd failed on a page of ${page.length} bytes: ${cause.message}`, { cause });
      }
      const outLeft = stream._writeState[0] ?? 0;
      const inLeft = stream._writeState[1] ?? page.length;
      if (inLeft !== 0 || outLeft === 0) {
        throw new Error(`zstd did not compress a page of ${page.length} bytes in one step`);
      }
      return out.subarray(0, out.length - outLeft);
    } catch (error) {
      // The context may hold half a frame, which the next page would continue: the next page gets
      // a new one (a warm Lambda keeps this compressor for its next invocations), or, if none can
      // be made, goes through zstdCompressSync.
      try {
        this.codec = openCodec(this.level);
      } catch {
        this.codec = undefined;
      }
      throw error;
    }
  }
}

/** A `ZstdCompress` stream whose native handle `PageCompressor` can drive, if this runtime has one. */
function openCodec(level: number): NativeCodec | undefined {
  const stream = new ZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: level } });
  const native = stream as unknown as NativeCodec;
  if (typeof native._handle?.writeSync !== 'function' || !types.isUint32Array(native._writeState))
    return undefined;
  // Node reports a zstd error by destroying the stream with it, which then emits 'error' on the
  // next tick: without a listener that would end the process. `compress` throws it instead.
  stream.on('error', () => undefined);
  return native;
}

/** ZSTD_COMPRESSBOUND: the largest frame zstd makes of `size` bytes. */
export function compressBound(size: number): number {
  const small = 128 * 1024;
  return size + (size >>> 8) + (size < small ? (small - size) >>> 11 : 0);
}
