import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/**
 * The bytes of a raw file, gunzipped when they start with the gzip magic number (whatever the
 * name says). Node's gunzip reads multi-member gzip (concatenated files) to the end; a corrupt or
 * truncated stream raises an error, which the caller turns into a whole-file quarantine.
 */
export async function* decompressed(source: Readable): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await iterator.next();
  if (first.done) return;
  const head: Buffer = first.value;
  async function* whole(): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    // 256 KiB out per chunk instead of 16 KiB: a sixteenth of the chunks, promises and copies.
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    pipeline(whole(), gunzip, () => undefined); // errors surface through the gunzip iteration
    yield* gunzip as AsyncIterable<Buffer>;
  } else {
    yield* whole();
  }
}

/**
 * The first bytes of a stream (at least `size` of them, or all there are) to recognise a format by,
 * and the whole stream again, those bytes included.
 */
export async function peekBytes(
  bytes: AsyncIterable<Buffer>,
  size = 64 * 1024,
): Promise<{ head: Buffer; all: AsyncIterable<Buffer> }> {
  const iterator = bytes[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < size) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    taken.push(next.value);
    length += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* taken;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return { head: taken.length === 1 ? taken[0]! : Buffer.concat(taken), all: all() };
}

/**
 * Lines of UTF-8 text from a byte stream, without their `\n` (a trailing `\r` is kept for the parser
 * to strip). Invalid UTF-8 becomes U+FFFD instead of an error; a missing final newline still ends
 * the last line.
 */
export async function* textLines(bytes: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of bytes) {
    const text = pending + decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    pending = text.slice(start);
  }
  pending += decoder.end();
  if (pending.length > 0) yield pending;
}

/** Longest line kept whole (a CloudFront line is a few KB; a fuzzed one can be any size). */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * A run of whole lines of UTF-8 bytes: `bytes` ends at a line end (or at the end of the file).
 * `cut` marks a block holding one line that was longer than `MAX_LINE_BYTES`: it has only the
 * line's first bytes, the rest was skipped, and the reader must quarantine it.
 */
export interface LineBlock {
  bytes: Buffer;
  cut: boolean;
}

/**
 * Lines of UTF-8 bytes from a byte stream, in blocks of whole lines, for parsers that read bytes
 * (no string per line or per field). Memory is bounded: a line longer than `maxLineBytes` comes as
 * a `cut` block of its start. A byte that is not part of valid UTF-8 becomes its percent-encoding
 * (`0xE9` → `%E9`, as CloudFront encodes such bytes itself), so two values that differ only in
 * invalid bytes stay different (U+FFFD would make `caf\xE9` and `caf\xE8` one value). A block is
 * checked as a whole (newlines never split a character, so a valid block is valid line by line),
 * and only an invalid one is rewritten.
 */
export async function* lineBlocks(
  bytes: AsyncIterable<Buffer>,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<LineBlock> {
  let pending: Buffer | undefined; // the start of a line that continues in the next chunk
  let skipping = false; // inside an over-long line, dropping bytes up to its end
  const valid = (block: Buffer): LineBlock => ({
    bytes: isUtf8(block) ? block : percentEncodeInvalidUtf8(block),
    cut: false,
  });
  for await (const chunk of bytes) {
    let start = 0;
    if (skipping) {
      const end = chunk.indexOf(10);
      if (end < 0) continue;
      skipping = false;
      start = end + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last < start) {
      // No line end in this chunk: it all belongs to the pending line.
      const rest = chunk.subarray(start);
      pending = pending === undefined ? Buffer.from(rest) : Buffer.concat([pending, rest]);
      if (pending.length > maxLineBytes) {
        yield { bytes: valid(pending.subarray(0, maxLineBytes)).bytes, cut: true };
        pending = undefined;
        skipping = true;
      }
      continue;
    }
    if (pending !== undefined) {
      const end = chunk.indexOf(10, start);
      const line = Buffer.concat([pending, chunk.subarray(start, end + 1)]);
      pending = undefined;
      if (line.length - 1 > maxLineBytes)
        yield { bytes: valid(line.subarray(0, maxLineBytes)).bytes, cut: true };
      else yield valid(line);
      start = end + 1;
    }
    if (last + 1 > start) yield* splitLong(chunk.subarray(start, last + 1), maxLineBytes, valid);
    if (last + 1 < chunk.length) {
      pending = Buffer.from(chunk.subarray(last + 1));
      if (pending.length > maxLineBytes) {
        yield { bytes: valid(pending.subarray(0, maxLineBytes)).bytes, cut: true };
        pending = undefined;
        skipping = true;
      }
    }
  }
  if (pending !== undefined && pending.length > 0) yield valid(pending);
}

/** A block of whole lines as it is, unless a line in it is over-long (rare: scanned only then). */
function* splitLong(
  block: Buffer,
  maxLineBytes: number,
  valid: (block: Buffer) => LineBlock,
): Generator<LineBlock> {
  if (block.length <= maxLineBytes) {
    yield valid(block);
    return;
  }
  let start = 0;
  let runStart = 0;
  while (start < block.length) {
    const end = block.indexOf(10, start);
    if (end - start > maxLineBytes) {
      if (start > runStart) yield valid(block.subarray(runStart, start));
      yield { bytes: valid(block.subarray(start, start + maxLineBytes)).bytes, cut: true };
      runStart = end + 1;
    }
    start = end + 1;
  }
  if (runStart < block.length) yield valid(block.subarray(runStart));
}

const HEX = '0123456789ABCDEF';

/** Length of the valid UTF-8 sequence at `bytes[index]`, or 0 when the byte there starts none. */
function utf8SequenceLength(bytes: Uint8Array, index: number): number {
  const lead = bytes[index]!;
  if (lead < 0x80) return 1;
  const continuation = (offset: number, low = 0x80, high = 0xbf) => {
    const byte = bytes[index + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (lead >= 0xc2 && lead <= 0xdf) return continuation(1) ? 2 : 0;
  if (lead >= 0xe0 && lead <= 0xef) {
    // No overlong forms (E0 80–9F) and no UTF-16 surrogates (ED A0–BF).
    const second =
      lead === 0xe0 ? continuation(1, 0xa0) : lead === 0xed ? continuation(1, 0x80, 0x9f) : continuation(1);
    return second && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xf0 && lead <= 0xf4) {
    // No overlong forms (F0 80–8F) and nothing past U+10FFFF (F4 90–BF).
    const second =
      lead === 0xf0 ? continuation(1, 0x90) : lead === 0xf4 ? continuation(1, 0x80, 0x8f) : continuation(1);
    return second && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

/** `bytes` with every byte outside a valid UTF-8 sequence written as `%XX` (upper-case hex). */
export function percentEncodeInvalidUtf8(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(bytes.length * 3);
  let length = 0;
  let index = 0;
  while (index < bytes.length) {
    const size = utf8SequenceLength(bytes, index);
    if (size === 0) {
      const byte = bytes[index++]!;
      out[length++] = 37; // %
      out[length++] = HEX.charCodeAt(byte >> 4);
      out[length++] = HEX.charCodeAt(byte & 15);
      continue;
    }
    for (const end = index + size; index < end; index++) out[length++] = bytes[index]!;
  }
  return out.subarray(0, length);
}
