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
    const gunzip = createGunzip();
    pipeline(whole(), gunzip, () => undefined); // errors surface through the gunzip iteration
    yield* gunzip as AsyncIterable<Buffer>;
  } else {
    yield* whole();
  }
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
