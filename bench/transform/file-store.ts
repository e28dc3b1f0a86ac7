import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '#shared/adapters/object-store';
import type { SourceObject } from '#shared/core/ingest';

/**
 * The `ObjectStore` port over a local folder (`<root>/<bucket>/<key>`), so the benchmark runs the
 * real `transformFile` without S3 in the way: what is measured is the transform, not the local S3.
 * Reads come in 64 KiB chunks, as an S3 GetObject body does.
 */
export class FileObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private path(bucket: string, key: string): string {
    return join(this.root, bucket, key);
  }

  async *list(bucket: string, prefix: string): AsyncIterable<SourceObject> {
    const base = join(this.root, bucket);
    for (const path of await walk(base)) {
      const key = relative(base, path);
      if (!key.startsWith(prefix)) continue;
      yield { key, size: (await stat(path)).size, etag: '' };
    }
  }

  async head(bucket: string, key: string) {
    try {
      return { size: (await stat(this.path(bucket, key))).size, etag: '', metadata: {} };
    } catch {
      return undefined;
    }
  }

  async copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }) {
    await this.put(to.bucket, to.key, await readFile(this.path(from.bucket, from.key)));
  }

  async putJson(bucket: string, key: string, value: unknown) {
    await this.put(bucket, key, JSON.stringify(value, null, 2));
  }

  async getJson(bucket: string, key: string): Promise<unknown> {
    return JSON.parse(await readFile(this.path(bucket, key), 'utf8'));
  }

  async put(bucket: string, key: string, body: Uint8Array | string) {
    const path = this.path(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
  }

  async getStream(bucket: string, key: string): Promise<Readable> {
    return createReadStream(this.path(bucket, key), { highWaterMark: 64 * 1024 });
  }

  /** Written to a temporary name and renamed at the end: like S3, nothing shows before completion. */
  async putStream(bucket: string, key: string, body: Readable, options: { signal?: AbortSignal } = {}) {
    const path = this.path(bucket, key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    try {
      await pipeline(body, createWriteStream(partial), { signal: options.signal });
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  async delete(bucket: string, keys: string[]) {
    for (const key of keys) await rm(this.path(bucket, key), { force: true });
  }
}

async function walk(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const paths: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) paths.push(...(await walk(path)));
    else paths.push(path);
  }
  return paths;
}
