import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startS3 } from '#local/services/s3';
import type { RunningService } from '#local/services/service';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { type AwsClients, LOCAL_CREDENTIALS } from '#shared/aws/clients';
import { localClients } from '../support/clients';

const BUCKET = 'roundtrip';

/** Deterministic, incompressible-looking bytes so any framing or truncation shows. */
function payload(size: number, seed = 7): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed;
  for (let index = 0; index < size; index++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

/** Splits a buffer into a stream of odd-sized chunks, as a gzip or file stream would deliver. */
function streamOf(bytes: Buffer, chunk = 64 * 1024 + 13): Readable {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += chunk)
    parts.push(bytes.subarray(offset, offset + chunk));
  return Readable.from(parts);
}

describe('local S3 through the client factory', () => {
  let directory: string;
  let s3: RunningService;
  let clients: AwsClients;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-s3-'));
    s3 = await startS3({ directory, buckets: [BUCKET] });
    clients = localClients({ s3: s3.endpoint });
  });

  afterAll(async () => {
    clients.destroy();
    await s3.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const readBack = async (key: string): Promise<Buffer> => {
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  };

  it('returns a buffered PutObject byte for byte', async () => {
    const body = payload(300_000);
    await clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'buffer.bin', Body: body }));
    expect((await readBack('buffer.bin')).equals(body)).toBe(true);
  });

  it('returns a streamed PutObject byte for byte (no aws-chunked framing stored)', async () => {
    const body = payload(700_000, 11);
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'stream.bin',
        Body: streamOf(body),
        ContentLength: body.length,
      }),
    );
    const stored = await readBack('stream.bin');
    expect(stored.length).toBe(body.length);
    expect(stored.equals(body)).toBe(true);
  });

  it('returns a multipart upload of a stream of unknown length byte for byte', async () => {
    // 3 parts: the 5 MiB minimum part size twice, plus a tail.
    const body = payload(11 * 1024 * 1024 + 12_345, 3);
    const upload = new Upload({
      client: clients.s3,
      params: { Bucket: BUCKET, Key: 'multipart.bin', Body: streamOf(body) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    await upload.done();
    expect((await readBack('multipart.bin')).equals(body)).toBe(true);
  });

  it('copies keys holding =, +, spaces and % (the URL-encoded CopySource S3 expects)', async () => {
    const store = new S3ObjectStore(clients.s3);
    for (const key of ['cf/DistributionId=E1/year=2025/month=01/a.parquet', 'odd/a+b c%20d&e.gz']) {
      await store.put(BUCKET, key, `body of ${key}`);
      await store.copy({ bucket: BUCKET, key }, { bucket: BUCKET, key: `copy/${key}` }, { source: 'test' });
      expect((await readBack(`copy/${key}`)).toString()).toBe(`body of ${key}`);
    }
  });

  it('stores a streamed PutObject from a client with SDK-default checksums byte for byte', async () => {
    // SDK defaults send a streamed body aws-chunked with a trailing CRC32: the framing must be
    // decoded, not stored: stored framing would corrupt every such object without an error.
    const sdkDefaults = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { ...LOCAL_CREDENTIALS },
    });
    const body = payload(100_000, 5);
    await sdkDefaults.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'sdk-defaults.bin',
        Body: streamOf(body),
        ContentLength: body.length,
      }),
    );
    sdkDefaults.destroy();
    const stored = await readBack('sdk-defaults.bin');
    expect(stored.equals(body)).toBe(true);
  });
});
