import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { SourceObject } from '#shared/core/ingest';

/** The port the pipeline uses for object storage (S3 in AWS, the local S3 stand-in locally). */
export interface ObjectStore {
  list(bucket: string, prefix: string): AsyncIterable<SourceObject>;
  /** Metadata of an object, or undefined when it does not exist. */
  head(
    bucket: string,
    key: string,
  ): Promise<{ size: number; etag: string; metadata: Record<string, string> } | undefined>;
  /** Server-side copy (no bytes through the Lambda), with user metadata on the copy. */
  copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    metadata: Record<string, string>,
  ): Promise<void>;
  putJson(bucket: string, key: string, value: unknown): Promise<void>;
  getJson(bucket: string, key: string): Promise<unknown>;
  put(bucket: string, key: string, body: Uint8Array | string, contentType?: string): Promise<void>;
  getStream(bucket: string, key: string): Promise<Readable>;
  /**
   * Uploads a stream of unknown length (multipart above 5 MiB). Aborting the signal abandons the
   * upload without publishing anything: S3 shows an object only once the upload completes.
   */
  putStream(
    bucket: string,
    key: string,
    body: Readable,
    options?: { contentType?: string; signal?: AbortSignal },
  ): Promise<void>;
  delete(bucket: string, keys: string[]): Promise<void>;
}

/** The JSON object at `key`, or undefined when there is none (a record not written yet). */
export async function getJsonIfPresent(store: ObjectStore, bucket: string, key: string): Promise<unknown> {
  return (await store.head(bucket, key)) === undefined ? undefined : store.getJson(bucket, key);
}

export class S3ObjectStore implements ObjectStore {
  constructor(private readonly s3: S3Client) {}

  async *list(bucket: string, prefix: string): AsyncIterable<SourceObject> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield {
          key: object.Key,
          size: object.Size ?? 0,
          etag: stripQuotes(object.ETag),
          ...(object.LastModified !== undefined && { lastModified: object.LastModified }),
        };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
  }

  async head(bucket: string, key: string) {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: head.ContentLength ?? 0, etag: stripQuotes(head.ETag), metadata: head.Metadata ?? {} };
    } catch (error) {
      if (error instanceof NotFound || (error as { name?: string }).name === 'NotFound') return undefined;
      throw error;
    }
  }

  async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    metadata: Record<string, string>,
  ) {
    await this.s3.send(
      new CopyObjectCommand({
        Bucket: to.bucket,
        Key: to.key,
        // CopySource is `bucket/key` with the key URL-encoded (keys may hold spaces, `+`, `=`).
        CopySource: `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}`,
        MetadataDirective: 'REPLACE',
        Metadata: metadata,
      }),
    );
  }

  async putJson(bucket: string, key: string, value: unknown) {
    await this.put(bucket, key, JSON.stringify(value, null, 2), 'application/json');
  }

  async getJson(bucket: string, key: string): Promise<unknown> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await object.Body?.transformToString('utf8');
    if (text === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new Error(`s3://${bucket}/${key} is not valid JSON`, { cause: error });
    }
  }

  async put(bucket: string, key: string, body: Uint8Array | string, contentType?: string) {
    await this.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async putStream(
    bucket: string,
    key: string,
    body: Readable,
    options: { contentType?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    // Loaded here: only the transform streams uploads, the other functions' cold starts skip it.
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: options.contentType },
      // 8 MiB parts, two in flight: bounded memory per open output (Lambda runs several at once).
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
  }

  async delete(bucket: string, keys: string[]): Promise<void> {
    // DeleteObjects takes at most 1,000 keys per call.
    for (let start = 0; start < keys.length; start += 1000) {
      const chunk = keys.slice(start, start + 1000);
      await this.s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    // In Node the SDK's body is the HTTP response, a Readable; anything else is a wrong runtime.
    if (!(object.Body instanceof Readable)) throw new Error(`s3://${bucket}/${key}: no readable body`);
    return object.Body;
  }
}

function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}
