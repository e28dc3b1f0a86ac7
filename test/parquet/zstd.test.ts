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

function fresh(page: Uint8Array, level: number): Buffer {
  return zstdCompressSync(page, { params: { [constants.ZSTD_c_compressionLevel]: level } });
}

describe('PageCompressor', () => {
  it('makes the frames zstdCompressSync makes, page after page through one context', () => {
    const compressor = new PageCompressor(1);
    // Sizes around zstd's 128 KiB block and the 64 KiB output chunks zstdCompressSync writes in,
    // compressible and not, small pages after large ones (the context's tables then oversized).
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

  it('starts a new context after a page fails, so the next page is a whole frame of its own', () => {
    const compressor = new PageCompressor(1);
    compressor.compress(textLike(1_000, 12));
    // Close the stream under it, as a failed native call would leave it.
    (compressor as unknown as { codec: { close(): void } }).codec.close();
    expect(() => compressor.compress(textLike(1_000, 13))).toThrow(
      'zstd did not compress a page of 1000 bytes',
    );
    const page = textLike(3_000, 14);
    expect(Buffer.from(compressor.compress(page)).equals(fresh(page, 1))).toBe(true);
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
