import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** An object under a table's location, as ListObjectsV2 reports it. */
export interface S3ObjectRef {
  bucket: string;
  key: string;
  size: number;
  etag: string;
}

export interface S3Location {
  bucket: string;
  /** Key prefix, without a leading `/`; ends with `/` for folders. */
  prefix: string;
}

/** `s3://bucket/prefix` → bucket and prefix, or undefined when it is not an S3 URI. */
export function parseS3Url(url: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (match?.[1] === undefined) return undefined;
  return { bucket: match[1], prefix: match[2] ?? '' };
}

export function objectUrl(object: Pick<S3ObjectRef, 'bucket' | 'key'>): string {
  return `s3://${object.bucket}/${object.key}`;
}

/** Athena (like Hive) skips files whose names start with `_` or `.` (`_SUCCESS`, `.crc`). */
export function isHiddenObject(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return name === '' || name.startsWith('_') || name.startsWith('.') || key.endsWith('_$folder$');
}

/**
 * Table data comes from S3 through the S3 client (the engine never reads S3 itself: DuckDB's
 * httpfs extension cannot be installed offline). Objects are cached on disk under
 * `<directory>/<hash of bucket+key>/<etag>/`, so an unchanged object is downloaded once.
 */
export class ObjectCache {
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(
    private readonly s3: S3Client,
    readonly directory: string,
  ) {}

  async list(location: S3Location): Promise<S3ObjectRef[]> {
    const objects: S3ObjectRef[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.prefix,
          ...(continuationToken !== undefined && { ContinuationToken: continuationToken }),
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || isHiddenObject(object.Key)) continue;
        objects.push({
          bucket: location.bucket,
          key: object.Key,
          size: object.Size ?? 0,
          etag: (object.ETag ?? '').replaceAll('"', ''),
        });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return objects;
  }

  /** Local path of the object's bytes, downloading it unless this version is already cached. */
  fetch(object: S3ObjectRef): Promise<string> {
    const keyDirectory = join(this.directory, sha256(`${object.bucket}\u0000${object.key}`));
    const versionDirectory = join(keyDirectory, sha256(object.etag).slice(0, 32));
    // The name keeps the compression extension: DuckDB (like Athena) picks gzip/zstd by suffix.
    const path = join(versionDirectory, `object${compressionSuffix(object.key)}`);
    let download = this.downloads.get(path);
    if (download === undefined) {
      download = this.download(object, keyDirectory, versionDirectory, path).finally(() =>
        this.downloads.delete(path),
      );
      this.downloads.set(path, download);
    }
    return download;
  }

  private async download(
    object: S3ObjectRef,
    keyDirectory: string,
    versionDirectory: string,
    path: string,
  ): Promise<string> {
    if (await exists(path)) return path;
    await mkdir(versionDirectory, { recursive: true });
    const response = await this.s3.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
    if (!(response.Body instanceof Readable))
      throw new Error(`s3://${object.bucket}/${object.key} has no readable body`);
    const temporary = `${path}.${process.pid}.${Date.now()}.part`;
    await pipeline(response.Body, createWriteStream(temporary));
    await rename(temporary, path);
    // Older versions of the same key will not be read again.
    for (const entry of await readdir(keyDirectory)) {
      if (join(keyDirectory, entry) !== versionDirectory) {
        await rm(join(keyDirectory, entry), { recursive: true, force: true });
      }
    }
    return path;
  }
}

function compressionSuffix(key: string): string {
  const match = /\.(gz|gzip|zst|zstd|bz2|snappy|lz4|deflate|lzo)$/i.exec(key);
  if (match?.[1] === undefined) return '';
  const extension = match[1].toLowerCase();
  return extension === 'gzip' ? '.gz' : extension === 'zstd' ? '.zst' : `.${extension}`;
}

/** Compression DuckDB cannot read: Athena reads these, the stand-in reports NOT_SUPPORTED. */
export function unsupportedCompression(key: string): string | undefined {
  const suffix = compressionSuffix(key);
  return suffix === '' || suffix === '.gz' || suffix === '.zst' ? undefined : suffix.slice(1);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
