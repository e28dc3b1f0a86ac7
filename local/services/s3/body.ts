import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors';

/** S3's largest single PUT is 5 GiB; this stand-in holds bodies in memory and takes less. */
const MAX_BODY_BYTES = 1024 * 1024 * 1024;

export async function readRequestBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
        MaxSizeAllowed: String(MAX_BODY_BYTES),
      });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const incompleteBody = () =>
  new S3Error(
    'IncompleteBody',
    400,
    'The request body terminated unexpectedly or is not valid aws-chunked encoding',
  );

/**
 * Decodes `aws-chunked` framing (what SDKs send for streamed bodies with a checksum trailer, or
 * SigV4 streaming signatures): `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0…\r\n`, then
 * trailer lines. Returns the payload and the trailers (`x-amz-checksum-crc32`, …).
 */
export function decodeAwsChunked(body: Buffer): { payload: Buffer; trailers: Record<string, string> } {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd === -1) throw incompleteBody();
    const header = body.subarray(offset, lineEnd).toString('latin1');
    const size = Number.parseInt(header.split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw incompleteBody();
    offset = lineEnd + 2;
    if (size === 0) break;
    if (offset + size + 2 > body.length) throw incompleteBody();
    chunks.push(body.subarray(offset, offset + size));
    offset += size;
    if (body.toString('latin1', offset, offset + 2) !== '\r\n') throw incompleteBody();
    offset += 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of body.subarray(offset).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { payload: Buffer.concat(chunks), trailers };
}

/** Checks `Content-MD5` (base64 of the 16-byte digest) against the body. */
export function checkContentMd5(header: string | undefined, body: Buffer): void {
  if (header === undefined) return;
  const expected = Buffer.from(header, 'base64');
  if (expected.length !== 16 || expected.toString('base64') !== header.trim())
    throw new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.', {
      'Content-MD5': header,
    });
  if (!createHash('md5').update(body).digest().equals(expected))
    throw new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: header,
    });
}

const DIGESTS: Record<string, string> = { 'x-amz-checksum-sha256': 'sha256', 'x-amz-checksum-sha1': 'sha1' };

/** Checks the SHA checksums a client sent (header or trailer); other algorithms are stored unchecked. */
export function checkChecksums(values: Record<string, string | undefined>, body: Buffer): void {
  for (const [name, algorithm] of Object.entries(DIGESTS)) {
    const value = values[name];
    if (value === undefined) continue;
    if (createHash(algorithm).update(body).digest('base64') !== value)
      throw new S3Error(
        'BadDigest',
        400,
        `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
  }
}
