import { randomBytes } from 'node:crypto';
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { compressBound, PageCompressor } from '#shared/parquet/zstd';

/** Text-like bytes: compressible, not a single run. */
function textLike(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed;
  for (let index = 0; index < size; index++) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    bytes[index] = 97 + ((state >>> 16) % 13);
  }
  return bytes;
}

/** `size` bytes of a short text repeated: long matches, far apart (a log's repetitive column). */
function periodic(size: number, period: number): Buffer {
  const unit = textLike(period, 16);
  return Buffer.concat(Array.from({ length: Math.ceil(size / period) }, () => unit)).subarray(0, size);
}

/** zstdCompressSync with an output buffer that holds the whole frame: one step, as PageCompressor. */
function fresh(page: Uint8Array, level: number): Buffer {
  return zstdCompressSync(page, {
    chunkSize: compressBound(page.length) + 1,
    params: { [constants.ZSTD_c_compressionLevel]: level },
  });
}

interface Internals {
  codec: { close(): void; _handle: { onerror(message: string, errno: number, code: string): void } };
}

describe('PageCompressor', () => {
  it('makes the frames zstdCompressSync makes with room for them, page after page through one context', () => {
    const compressor = new PageCompressor(1);
    // Sizes around zstd's 128 KiB block and its 640 KiB window at level 1, compressible and not,
    // long repetitive pages, small pages after large ones (the context's tables then oversized).
    const pages = [
      Buffer.alloc(0),
      textLike(1, 1),
      textLike(100, 2),
      randomBytes(4_000),
      textLike(65_536, 3),
      textLike(131_072, 4),
      textLike(131_073, 5),
      randomBytes(300_000),
      textLike(2_000_000, 6),
      textLike(37, 7),
      Buffer.alloc(500_000, 7),
      textLike(90_000, 15).subarray(1_234, 80_001), // a view inside a larger buffer
      periodic(300_000, 10_400),
      periodic(1_048_576, 10_400),
      periodic(3_000_000, 50_000),
    ];
    for (const page of pages) {
      const frame = Buffer.from(compressor.compress(page));
      expect(frame.equals(fresh(page, 1))).toBe(true);
      expect(zstdDecompressSync(frame).equals(page)).toBe(true);
    }
  });

  it('compresses at its own level', () => {
    const page = textLike(200_000, 8);
    const level9 = Buffer.from(new PageCompressor(9).compress(page));
    expect(level9.equals(fresh(page, 9))).toBe(true);
    expect(level9.equals(fresh(page, 1))).toBe(false);
  });

  it('reuses one output buffer on this Node: a view its next page overwrites', () => {
    const compressor = new PageCompressor(1);
    const first = compressor.compress(textLike(1_000, 9));
    const copy = Buffer.from(first);
    compressor.compress(textLike(1_000, 10));
    expect(first.equals(copy)).toBe(false);
  });

  it('throws the error zstd reports, and the next page gets a new context', async () => {
    const compressor = new PageCompressor(1);
    compressor.compress(textLike(1_000, 12));
    // What Node's native side does on a zstd error: it calls the handle's onerror, which destroys
    // the stream with the error (and emits 'error' a tick later, which must not end the process).
    const { codec } = compressor as unknown as Internals;
    codec._handle.onerror('Allocation error : not enough memory', -1, 'ZSTD_error_memory_allocation');
    expect(() => compressor.compress(textLike(1_000, 13))).toThrow(
      'zstd failed on a page of 1000 bytes: Allocation error : not enough memory',
    );
    await new Promise((resolve) => setImmediate(resolve)); // past the 'error' event
    const page = textLike(3_000, 14);
    expect(Buffer.from(compressor.compress(page)).equals(fresh(page, 1))).toBe(true);
  });

  it('throws when its stream was closed under it, and recovers the same way', () => {
    const compressor = new PageCompressor(1);
    (compressor as unknown as Internals).codec.close();
    expect(() => compressor.compress(textLike(1_000, 17))).toThrow('zstd failed on a page of 1000 bytes');
    const page = textLike(2_000, 18);
    expect(Buffer.from(compressor.compress(page)).equals(fresh(page, 1))).toBe(true);
  });

  it('refuses a level Node would not pass as asked (-1 is its "unset": level 3)', () => {
    expect(() => new PageCompressor(-1)).toThrow(RangeError);
    expect(() => new PageCompressor(1.5)).toThrow(RangeError);
    expect(() => new PageCompressor(23)).toThrow(RangeError);
    const page = textLike(20_000, 19);
    expect(Buffer.from(new PageCompressor(-2).compress(page)).equals(fresh(page, -2))).toBe(true);
    expect(fresh(page, -2).equals(fresh(page, 3))).toBe(false);
  });

  it('shares one compressor per level across the writers of a process', () => {
    expect(PageCompressor.shared(1)).toBe(PageCompressor.shared(1));
    expect(PageCompressor.shared(9)).not.toBe(PageCompressor.shared(1));
    const page = textLike(5_000, 11);
    expect(Buffer.from(PageCompressor.shared(9).compress(page)).equals(fresh(page, 9))).toBe(true);
  });

  it('bounds a frame as zstd does (ZSTD_COMPRESSBOUND)', () => {
    expect(compressBound(0)).toBe(64);
    expect(compressBound(128 * 1024)).toBe(128 * 1024 + 512);
    for (const size of [0, 10, 5_000, 300_000]) {
      expect(fresh(randomBytes(size), 1).length).toBeLessThanOrEqual(compressBound(size));
    }
  });
});
