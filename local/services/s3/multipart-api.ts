import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { readRequestBody } from './body';
import { invalidArgument, malformedXml, S3Error } from './errors';
import {
  bareEtag,
  cannedAcl,
  DEFAULT_CONTENT_TYPE,
  header,
  iso,
  MIN_PART_BYTES,
  nowSeconds,
  storedHeaders,
  taggingHeader,
  userMetadata,
} from './handlers-util';
import { maxKeysOf, optional, ownerXml, type Request, send, sendXml } from './http';
import type { objectApi } from './object-api';
import type { S3Storage } from './store';
import { child, childrenNamed, parseXml, type XmlNode } from './xml';

/** Multipart uploads: create, upload part (or copy), complete with S3's checks, list parts. */
export function multipartApi(storage: S3Storage, objects: ReturnType<typeof objectApi>) {
  const { readBody, checkWriteConditions, parseCopySource, checkCopySourceConditions } = objects;
  // Multipart uploads.

  async function createUpload(request: Request, bucket: string, key: string) {
    storage.bucket(bucket);
    await readRequestBody(request.http);
    const upload = await storage.createUpload({
      bucket,
      key,
      contentType: header(request.http, 'content-type') ?? DEFAULT_CONTENT_TYPE,
      headers: storedHeaders(request.http),
      metadata: userMetadata(request.http),
      storageClass: header(request.http, 'x-amz-storage-class') ?? 'STANDARD',
      ...optional('tags', taggingHeader(request.http)),
      ...optional('acl', cannedAcl(request.http)),
    });
    sendXml(request, 200, 'InitiateMultipartUploadResult', [
      ['Bucket', bucket],
      ['Key', key],
      ['UploadId', upload.uploadId],
    ]);
  }

  function partNumberOf(request: Request): number {
    const raw = request.query.get('partNumber') ?? '';
    const number = Number(raw);
    if (!/^\d+$/.test(raw) || number < 1 || number > 10000)
      throw invalidArgument(
        'Part number must be an integer between 1 and 10000, inclusive',
        'partNumber',
        raw,
      );
    return number;
  }

  async function uploadPart(request: Request, bucket: string, key: string) {
    const uploadId = request.query.get('uploadId') ?? '';
    storage.bucket(bucket);
    const partNumber = partNumberOf(request);
    storage.upload(bucket, key, uploadId);
    let data: Buffer;
    const copySource = header(request.http, 'x-amz-copy-source') !== undefined;
    if (copySource) {
      const from = parseCopySource(request);
      const source = storage.head(from.bucket, from.key);
      checkCopySourceConditions(request, source);
      await readRequestBody(request.http);
      const whole = await storage.read(from.bucket, source);
      const rangeHeader = header(request.http, 'x-amz-copy-source-range');
      if (rangeHeader !== undefined) {
        const match = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
        if (!match || Number(match[2]) < Number(match[1]) || Number(match[2]) >= whole.length)
          throw invalidArgument(
            'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
            'x-amz-copy-source-range',
            rangeHeader,
          );
        data = whole.subarray(Number(match[1]), Number(match[2]) + 1);
      } else data = whole;
    } else data = await readBody(request);
    const part = {
      partNumber,
      etag: `"${createHash('md5').update(data).digest('hex')}"`,
      size: data.length,
      lastModified: nowSeconds(),
    };
    await storage.putPart(bucket, key, uploadId, part, data);
    if (copySource)
      sendXml(request, 200, 'CopyPartResult', [
        ['LastModified', iso(part.lastModified)],
        ['ETag', part.etag],
      ]);
    else send(request, 200, undefined, { ETag: part.etag });
  }

  async function completeUpload(request: Request, bucket: string, key: string) {
    const uploadId = request.query.get('uploadId') ?? '';
    const upload = storage.upload(bucket, key, uploadId);
    const document = parseXml((await readRequestBody(request.http)).toString('utf8'));
    if (document.name !== 'CompleteMultipartUpload') throw malformedXml();
    const listed = childrenNamed(document, 'Part').map((part) => ({
      partNumber: Number(child(part, 'PartNumber')?.text.trim()),
      etag: child(part, 'ETag')?.text ?? '',
    }));
    if (listed.length === 0 || listed.some((part) => !Number.isInteger(part.partNumber)))
      throw malformedXml();
    const invalidPart = () =>
      new S3Error(
        'InvalidPart',
        400,
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        { UploadId: uploadId },
      );
    for (let index = 1; index < listed.length; index++) {
      if (listed[index]!.partNumber <= listed[index - 1]!.partNumber)
        throw new S3Error(
          'InvalidPartOrder',
          400,
          'The list of parts was not in ascending order. Parts must be ordered by part number.',
          { UploadId: uploadId },
        );
    }
    const parts = listed.map((entry) => {
      const part = upload.parts.get(entry.partNumber);
      if (part === undefined || bareEtag(entry.etag) !== bareEtag(part.etag)) throw invalidPart();
      return part;
    });
    parts.forEach((part, index) => {
      if (index < parts.length - 1 && part.size < MIN_PART_BYTES)
        throw new S3Error(
          'EntityTooSmall',
          400,
          'Your proposed upload is smaller than the minimum allowed object size.',
          {
            ProposedSize: String(part.size),
            MinSizeAllowed: String(MIN_PART_BYTES),
            PartNumber: String(part.partNumber),
            ETag: part.etag,
          },
        );
    });
    checkWriteConditions(request, storage.find(bucket, key));
    const chunks: Buffer[] = [];
    for (const part of parts) {
      chunks.push(
        await readFile(storage.partPath(bucket, uploadId, part.partNumber)).catch(() => {
          throw invalidPart();
        }),
      );
    }
    const digests = Buffer.concat(parts.map((part) => Buffer.from(bareEtag(part.etag), 'hex')));
    const object = await storage.put(
      bucket,
      {
        key,
        etag: `"${createHash('md5').update(digests).digest('hex')}-${parts.length}"`,
        lastModified: nowSeconds(),
        contentType: upload.meta.contentType,
        headers: upload.meta.headers,
        metadata: upload.meta.metadata,
        storageClass: upload.meta.storageClass,
        parts: parts.map((part) => part.size),
        ...optional('tags', upload.meta.tags),
        ...optional('acl', upload.meta.acl),
      },
      chunks,
    );
    await storage.removeUpload(bucket, uploadId);
    sendXml(request, 200, 'CompleteMultipartUploadResult', [
      ['Location', `/${bucket}/${encodeURIComponent(key)}`],
      ['Bucket', bucket],
      ['Key', key],
      ['ETag', object.etag],
    ]);
  }

  function listParts(request: Request, bucket: string, key: string) {
    const uploadId = request.query.get('uploadId') ?? '';
    const upload = storage.upload(bucket, key, uploadId);
    const maxParts = maxKeysOf(request, 'max-parts');
    const marker = Number(request.query.get('part-number-marker') ?? '0') || 0;
    const all = [...upload.parts.values()]
      .filter((part) => part.partNumber > marker)
      .sort((a, b) => a.partNumber - b.partNumber);
    const page = all.slice(0, maxParts);
    const truncated = all.length > maxParts;
    sendXml(request, 200, 'ListPartsResult', [
      ['Bucket', bucket],
      ['Key', key],
      ['UploadId', uploadId],
      ['PartNumberMarker', marker],
      ['NextPartNumberMarker', page[page.length - 1]?.partNumber ?? marker],
      ['MaxParts', maxParts],
      ['IsTruncated', truncated],
      ...page.map(
        (part): XmlNode => [
          'Part',
          [
            ['PartNumber', part.partNumber],
            ['LastModified', iso(part.lastModified)],
            ['ETag', part.etag],
            ['Size', part.size],
          ],
        ],
      ),
      ['Initiator', ownerXml()],
      ['Owner', ownerXml()],
      ['StorageClass', upload.meta.storageClass],
    ]);
  }

  return { createUpload, uploadPart, completeUpload, listParts };
}
