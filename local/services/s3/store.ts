import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { noSuchBucket, noSuchKey, noSuchUpload, S3Error } from './errors';
import { SortedKeys } from './listing';

/** What S3 keeps about an object besides its bytes. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted, as S3 sends it: `"<md5>"` or `"<md5 of part md5s>-<parts>"`. */
  etag: string;
  /** Milliseconds, whole seconds (S3's Last-Modified has second precision). */
  lastModified: number;
  contentType: string;
  /** Content-Encoding, Content-Disposition, Cache-Control, Content-Language, Expires. */
  headers: Record<string, string>;
  /** `x-amz-meta-*` without the prefix. */
  metadata: Record<string, string>;
  storageClass: string;
  /** Part sizes of a multipart object (GetObjectAttributes, `partNumber` reads). */
  parts?: number[];
  tags?: Record<string, string>;
  acl?: string;
  /** The file under `objects/` that holds the bytes; a new name per write, so a reader that
   * opened the previous file keeps reading consistent bytes. */
  dataFile: string;
}

export interface BucketMeta {
  name: string;
  created: number;
  region: string;
  versioning?: 'Enabled' | 'Suspended';
  policy?: string;
  acl?: string;
  tags?: Record<string, string>;
}

export interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: number;
  contentType: string;
  headers: Record<string, string>;
  metadata: Record<string, string>;
  storageClass: string;
  tags?: Record<string, string>;
  acl?: string;
}

export interface PartMeta {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: number;
}

interface Bucket {
  meta: BucketMeta;
  objects: Map<string, ObjectMeta>;
  sorted: SortedKeys;
  uploads: Map<string, { meta: UploadMeta; parts: Map<number, PartMeta> }>;
}

/** File names are hashes of the key: any key S3 accepts (1,024 bytes, any segment length) fits. */
const fileNameOf = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Buckets, objects and multipart uploads on disk, with an in-memory index rebuilt at start.
 * Layout per bucket: `bucket.json`, `objects/<sha256(key)>.json` (metadata) next to the data file
 * it names, `uploads/<uploadId>/` (upload.json, `<n>.part`, `<n>.json`). Every file is written to a
 * temporary name and renamed, so a crash never leaves a half-written object behind.
 */
export class S3Storage {
  private readonly buckets = new Map<string, Bucket>();
  /** Writes and deletes of one key run one after another, so index and files agree. */
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  private constructor(readonly directory: string) {}

  static async open(directory: string): Promise<S3Storage> {
    const storage = new S3Storage(directory);
    await mkdir(join(directory, '.tmp'), { recursive: true });
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      if (!entry.isDirectory() || !existsSync(join(directory, entry.name, 'bucket.json'))) continue;
      await storage.load(entry.name);
    }
    return storage;
  }

  private async load(name: string): Promise<void> {
    const root = join(this.directory, name);
    const meta = JSON.parse(await readFile(join(root, 'bucket.json'), 'utf8')) as BucketMeta;
    const bucket: Bucket = { meta, objects: new Map(), sorted: new SortedKeys(), uploads: new Map() };
    await mkdir(join(root, 'objects'), { recursive: true });
    for (const file of await readdir(join(root, 'objects'))) {
      if (!file.endsWith('.json')) continue;
      const object = JSON.parse(await readFile(join(root, 'objects', file), 'utf8')) as ObjectMeta;
      bucket.objects.set(object.key, object);
      bucket.sorted.add(object.key);
    }
    const uploads = join(root, 'uploads');
    if (existsSync(uploads)) {
      for (const id of await readdir(uploads)) {
        const folder = join(uploads, id);
        if (!existsSync(join(folder, 'upload.json'))) continue;
        const upload = JSON.parse(await readFile(join(folder, 'upload.json'), 'utf8')) as UploadMeta;
        const parts = new Map<number, PartMeta>();
        for (const file of await readdir(folder)) {
          if (!/^\d+\.json$/.test(file)) continue;
          const part = JSON.parse(await readFile(join(folder, file), 'utf8')) as PartMeta;
          parts.set(part.partNumber, part);
        }
        bucket.uploads.set(id, { meta: upload, parts });
      }
    }
    this.buckets.set(name, bucket);
  }

  private async writeAtomically(path: string, data: string | Buffer): Promise<void> {
    const temporary = join(this.directory, '.tmp', randomBytes(12).toString('hex'));
    await writeFile(temporary, data);
    await rename(temporary, path);
  }

  listBuckets(): BucketMeta[] {
    return [...this.buckets.values()].map((bucket) => bucket.meta).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  bucket(name: string): Bucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw noSuchBucket(name);
    return bucket;
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  async createBucket(name: string, region: string): Promise<void> {
    if (this.buckets.has(name))
      throw new S3Error(
        'BucketAlreadyOwnedByYou',
        409,
        'Your previous request to create the named bucket succeeded and you already own it.',
        { BucketName: name },
      );
    const root = join(this.directory, name);
    await mkdir(join(root, 'objects'), { recursive: true });
    const meta: BucketMeta = { name, created: Date.now(), region };
    await this.writeAtomically(join(root, 'bucket.json'), JSON.stringify(meta));
    this.buckets.set(name, { meta, objects: new Map(), sorted: new SortedKeys(), uploads: new Map() });
  }

  async updateBucket(name: string, change: (meta: BucketMeta) => void): Promise<void> {
    const bucket = this.bucket(name);
    change(bucket.meta);
    await this.writeAtomically(join(this.directory, name, 'bucket.json'), JSON.stringify(bucket.meta));
  }

  async deleteBucket(name: string): Promise<void> {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0)
      throw new S3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty', {
        BucketName: name,
      });
    this.buckets.delete(name);
    await rm(join(this.directory, name), { recursive: true, force: true });
  }

  head(bucketName: string, key: string): ObjectMeta {
    const object = this.bucket(bucketName).objects.get(key);
    if (object === undefined) throw noSuchKey(key);
    return object;
  }

  find(bucketName: string, key: string): ObjectMeta | undefined {
    return this.bucket(bucketName).objects.get(key);
  }

  dataPath(bucketName: string, object: ObjectMeta): string {
    return join(this.directory, bucketName, 'objects', object.dataFile);
  }

  async read(bucketName: string, object: ObjectMeta): Promise<Buffer> {
    return readFile(this.dataPath(bucketName, object));
  }

  /** Stores an object; `data` is the whole body (buffers, or files joined for multipart). */
  put(
    bucketName: string,
    meta: Omit<ObjectMeta, 'dataFile' | 'size'>,
    data: Buffer | Buffer[],
  ): Promise<ObjectMeta> {
    return this.serially(bucketName, meta.key, () => this.write(bucketName, meta, data));
  }

  private serially<T>(bucketName: string, key: string, work: () => Promise<T>): Promise<T> {
    const lock = `${bucketName}/${key}`;
    const previous = this.keyLocks.get(lock) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.keyLocks.set(lock, settled);
    void settled.then(() => {
      if (this.keyLocks.get(lock) === settled) this.keyLocks.delete(lock);
    });
    return next;
  }

  private async write(
    bucketName: string,
    meta: Omit<ObjectMeta, 'dataFile' | 'size'>,
    data: Buffer | Buffer[],
  ): Promise<ObjectMeta> {
    const bucket = this.bucket(bucketName);
    const base = fileNameOf(meta.key);
    const dataFile = `${base}.${randomBytes(6).toString('hex')}.bin`;
    const chunks = Array.isArray(data) ? data : [data];
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const objects = join(this.directory, bucketName, 'objects');
    await this.writeAtomically(join(objects, dataFile), Array.isArray(data) ? Buffer.concat(chunks) : data);
    const object: ObjectMeta = { ...meta, size, dataFile };
    await this.writeAtomically(join(objects, `${base}.json`), JSON.stringify(object));
    const previous = bucket.objects.get(meta.key);
    bucket.objects.set(meta.key, object);
    bucket.sorted.add(meta.key);
    if (previous !== undefined) await rm(join(objects, previous.dataFile), { force: true });
    return object;
  }

  async updateObject(bucketName: string, key: string, change: (meta: ObjectMeta) => void): Promise<void> {
    const object = this.head(bucketName, key);
    change(object);
    await this.writeAtomically(
      join(this.directory, bucketName, 'objects', `${fileNameOf(key)}.json`),
      JSON.stringify(object),
    );
  }

  delete(bucketName: string, key: string): Promise<void> {
    return this.serially(bucketName, key, () => this.remove(bucketName, key));
  }

  private async remove(bucketName: string, key: string): Promise<void> {
    const bucket = this.bucket(bucketName);
    const object = bucket.objects.get(key);
    if (object === undefined) return;
    bucket.objects.delete(key);
    bucket.sorted.remove(key);
    const objects = join(this.directory, bucketName, 'objects');
    await rm(join(objects, `${fileNameOf(key)}.json`), { force: true });
    await rm(join(objects, object.dataFile), { force: true });
  }

  // Multipart uploads.

  async createUpload(meta: Omit<UploadMeta, 'uploadId' | 'initiated'>): Promise<UploadMeta> {
    const bucket = this.bucket(meta.bucket);
    const upload: UploadMeta = {
      ...meta,
      uploadId: randomBytes(24).toString('base64url'),
      initiated: Date.now(),
    };
    const folder = join(this.directory, meta.bucket, 'uploads', upload.uploadId);
    await mkdir(folder, { recursive: true });
    await this.writeAtomically(join(folder, 'upload.json'), JSON.stringify(upload));
    bucket.uploads.set(upload.uploadId, { meta: upload, parts: new Map() });
    return upload;
  }

  upload(bucketName: string, key: string, uploadId: string) {
    const upload = this.bucket(bucketName).uploads.get(uploadId);
    if (upload === undefined || upload.meta.key !== key) throw noSuchUpload(uploadId);
    return upload;
  }

  uploads(bucketName: string): UploadMeta[] {
    return [...this.bucket(bucketName).uploads.values()].map((upload) => upload.meta);
  }

  partPath(bucketName: string, uploadId: string, partNumber: number): string {
    return join(this.directory, bucketName, 'uploads', uploadId, `${partNumber}.part`);
  }

  async putPart(
    bucketName: string,
    key: string,
    uploadId: string,
    part: PartMeta,
    data: Buffer,
  ): Promise<void> {
    const upload = this.upload(bucketName, key, uploadId);
    const folder = join(this.directory, bucketName, 'uploads', uploadId);
    await this.writeAtomically(join(folder, `${part.partNumber}.part`), data);
    await this.writeAtomically(join(folder, `${part.partNumber}.json`), JSON.stringify(part));
    upload.parts.set(part.partNumber, part);
  }

  async removeUpload(bucketName: string, uploadId: string): Promise<void> {
    this.bucket(bucketName).uploads.delete(uploadId);
    await rm(join(this.directory, bucketName, 'uploads', uploadId), { recursive: true, force: true });
  }
}
