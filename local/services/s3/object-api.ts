import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { checkChecksums, checkContentMd5, decodeAwsChunked, readRequestBody } from './body';
import { invalidArgument, malformedXml, noSuchKey, preconditionFailed, S3Error } from './errors';
import {
  bareEtag,
  cannedAcl,
  DEFAULT_CONTENT_TYPE,
  etagMatches,
  header,
  httpDate,
  iso,
  nowSeconds,
  parseHttpDate,
  storedHeaders,
  taggingHeader,
  userMetadata,
} from './handlers-util';
import { commonHeaders, type Headers, optional, type Request, send, sendXml } from './http';
import type { ObjectMeta, S3Storage } from './store';
import { child, childrenNamed, parseXml, type XmlNode } from './xml';

/** Object operations: put, get/head (ranges, conditions), copy, delete, attributes. */
export function objectApi(storage: S3Storage) {
  // Objects.

  async function putObject(request: Request, bucket: string, key: string) {
    storage.bucket(bucket);
    const body = await readBody(request);
    checkWriteConditions(request, storage.find(bucket, key));
    const object = await storage.put(
      bucket,
      {
        key,
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        lastModified: nowSeconds(),
        contentType: header(request.http, 'content-type') ?? DEFAULT_CONTENT_TYPE,
        headers: storedHeaders(request.http),
        metadata: userMetadata(request.http),
        storageClass: header(request.http, 'x-amz-storage-class') ?? 'STANDARD',
        ...optional('tags', taggingHeader(request.http)),
        ...optional('acl', cannedAcl(request.http)),
      },
      body,
    );
    send(request, 200, undefined, { ETag: object.etag });
  }

  /** The request body, with aws-chunked framing removed and Content-MD5 and SHA checksums checked. */
  async function readBody(request: Request): Promise<Buffer> {
    const raw = await readRequestBody(request.http);
    const sha = header(request.http, 'x-amz-content-sha256') ?? '';
    const chunked =
      sha.startsWith('STREAMING-') ||
      (header(request.http, 'content-encoding') ?? '').includes('aws-chunked');
    const { payload, trailers } = chunked ? decodeAwsChunked(raw) : { payload: raw, trailers: {} };
    checkContentMd5(header(request.http, 'content-md5'), payload);
    checkChecksums(
      {
        'x-amz-checksum-sha256':
          header(request.http, 'x-amz-checksum-sha256') ?? trailers['x-amz-checksum-sha256'],
        'x-amz-checksum-sha1': header(request.http, 'x-amz-checksum-sha1') ?? trailers['x-amz-checksum-sha1'],
      },
      payload,
    );
    return payload;
  }

  /** Conditional writes: `If-None-Match: *` (create only) and `If-Match: <etag>`. */
  function checkWriteConditions(request: Request, existing: ObjectMeta | undefined) {
    const ifNoneMatch = header(request.http, 'if-none-match');
    const ifMatch = header(request.http, 'if-match');
    if (ifNoneMatch !== undefined) {
      if (ifNoneMatch.trim() !== '*')
        throw new S3Error('NotImplemented', 501, 'If-None-Match on writes supports only *', {
          Header: 'If-None-Match',
        });
      if (existing !== undefined) throw preconditionFailed('If-None-Match');
    }
    if (ifMatch !== undefined) {
      if (existing === undefined) throw noSuchKey(request.key ?? '');
      if (!etagMatches(ifMatch, existing.etag)) throw preconditionFailed('If-Match');
    }
  }

  /** RFC 9110 evaluation order, as S3 applies it to GET and HEAD; returns 304 or undefined. */
  function checkReadConditions(request: Request, object: ObjectMeta): 304 | undefined {
    const ifMatch = header(request.http, 'if-match');
    const ifNoneMatch = header(request.http, 'if-none-match');
    const ifModifiedSince = parseHttpDate(header(request.http, 'if-modified-since'));
    const ifUnmodifiedSince = parseHttpDate(header(request.http, 'if-unmodified-since'));
    if (ifMatch !== undefined) {
      if (!etagMatches(ifMatch, object.etag)) throw preconditionFailed('If-Match');
    } else if (ifUnmodifiedSince !== undefined && object.lastModified > ifUnmodifiedSince) {
      throw preconditionFailed('If-Unmodified-Since');
    }
    if (ifNoneMatch !== undefined) {
      if (etagMatches(ifNoneMatch, object.etag)) return 304;
    } else if (ifModifiedSince !== undefined && object.lastModified <= ifModifiedSince) {
      return 304;
    }
    return undefined;
  }

  function objectHeaders(object: ObjectMeta): Headers {
    const headers: Headers = {
      'Content-Type': object.contentType,
      ETag: object.etag,
      'Last-Modified': httpDate(object.lastModified),
      'Accept-Ranges': 'bytes',
    };
    for (const [name, value] of Object.entries(object.headers)) headers[name] = value;
    for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (object.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = object.storageClass;
    if (object.tags !== undefined && Object.keys(object.tags).length > 0)
      headers['x-amz-tagging-count'] = Object.keys(object.tags).length;
    if (object.parts !== undefined) headers['x-amz-mp-parts-count'] = object.parts.length;
    return headers;
  }

  async function getObject(request: Request, bucket: string, key: string, withBody: boolean) {
    const object = storage.head(bucket, key);
    const headers = objectHeaders(object);
    if (checkReadConditions(request, object) === 304) {
      return send(request, 304, undefined, { ETag: object.etag, 'Last-Modified': headers['Last-Modified']! });
    }
    for (const [parameter, name] of [
      ['response-content-type', 'Content-Type'],
      ['response-content-language', 'Content-Language'],
      ['response-expires', 'Expires'],
      ['response-cache-control', 'Cache-Control'],
      ['response-content-disposition', 'Content-Disposition'],
      ['response-content-encoding', 'Content-Encoding'],
    ] as const) {
      const value = request.query.get(parameter);
      if (value !== null) headers[name] = value;
    }
    const range = parseRange(
      header(request.http, 'range'),
      object.size,
      request.query.get('partNumber'),
      object,
    );
    const status = range === undefined ? 200 : 206;
    const start = range?.start ?? 0;
    const end = range?.end ?? object.size - 1;
    if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${object.size}`;
    headers['Content-Length'] = Math.max(0, end - start + 1);
    if (!withBody || object.size === 0) return send(request, status, undefined, headers);
    // Open before answering: an object replaced meanwhile reads as its old bytes or not at all.
    const file = await open(storage.dataPath(bucket, object)).catch(() => {
      throw noSuchKey(key);
    });
    request.response.writeHead(status, { ...headers, ...commonHeaders(request) });
    try {
      await pipeline(createReadStream('', { fd: file, start, end, autoClose: true }), request.response);
    } catch {
      request.response.destroy();
    }
  }

  function parseRange(
    value: string | undefined,
    size: number,
    partNumber: string | null,
    object: ObjectMeta,
  ) {
    if (partNumber !== null) {
      const number = Number(partNumber);
      const parts = object.parts ?? [object.size];
      if (!Number.isInteger(number) || number < 1 || number > parts.length)
        throw new S3Error('InvalidPartNumber', 416, 'The requested partnumber is not satisfiable', {
          PartNumberRequested: partNumber,
          ActualPartCount: String(parts.length),
        });
      const start = parts.slice(0, number - 1).reduce((sum, part) => sum + part, 0);
      return { start, end: start + parts[number - 1]! - 1 };
    }
    if (value === undefined) return undefined;
    const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
    // A Range S3 cannot read (several ranges, another unit, bad syntax) is ignored, as RFC 9110 allows.
    if (!match || (match[1] === '' && match[2] === '')) return undefined;
    const unsatisfiable = () =>
      new S3Error(
        'InvalidRange',
        416,
        'The requested range is not satisfiable',
        { RangeRequested: value, ActualObjectSize: String(size) },
        { 'Content-Range': `bytes */${size}` },
      );
    if (match[1] === '') {
      const suffix = Number(match[2]);
      if (suffix === 0 || size === 0) throw unsatisfiable();
      return { start: Math.max(0, size - suffix), end: size - 1 };
    }
    const start = Number(match[1]);
    const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < start) return undefined;
    if (start >= size) throw unsatisfiable();
    return { start, end };
  }

  function parseCopySource(
    request: Request,
    headerName = 'x-amz-copy-source',
  ): { bucket: string; key: string } {
    const raw = header(request.http, headerName) ?? '';
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw.split('?versionId=')[0]!.replace(/^\//, ''));
    } catch {
      throw invalidArgument('Invalid copy source encoding', headerName, raw);
    }
    const slash = decoded.indexOf('/');
    if (slash <= 0 || slash === decoded.length - 1)
      throw invalidArgument(
        'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
        headerName,
        raw,
      );
    return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
  }

  function checkCopySourceConditions(request: Request, source: ObjectMeta) {
    const ifMatch = header(request.http, 'x-amz-copy-source-if-match');
    const ifNoneMatch = header(request.http, 'x-amz-copy-source-if-none-match');
    const modifiedSince = parseHttpDate(header(request.http, 'x-amz-copy-source-if-modified-since'));
    const unmodifiedSince = parseHttpDate(header(request.http, 'x-amz-copy-source-if-unmodified-since'));
    if (ifMatch !== undefined && !etagMatches(ifMatch, source.etag))
      throw preconditionFailed('x-amz-copy-source-If-Match');
    if (ifMatch === undefined && unmodifiedSince !== undefined && source.lastModified > unmodifiedSince)
      throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, source.etag))
      throw preconditionFailed('x-amz-copy-source-If-None-Match');
    if (ifNoneMatch === undefined && modifiedSince !== undefined && source.lastModified <= modifiedSince)
      throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
  }

  async function copyObject(request: Request, bucket: string, key: string) {
    storage.bucket(bucket);
    const from = parseCopySource(request);
    const source = storage.head(from.bucket, from.key);
    checkCopySourceConditions(request, source);
    await readRequestBody(request.http);
    const replace = (header(request.http, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
    const replaceTags =
      (header(request.http, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase() === 'REPLACE';
    const storageClass = header(request.http, 'x-amz-storage-class');
    if (from.bucket === bucket && from.key === key && !replace && storageClass === undefined)
      throw new S3Error(
        'InvalidRequest',
        400,
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    checkWriteConditions(request, storage.find(bucket, key));
    const data = await storage.read(from.bucket, source);
    const object = await storage.put(
      bucket,
      {
        key,
        etag: `"${createHash('md5').update(data).digest('hex')}"`,
        lastModified: nowSeconds(),
        contentType: replace
          ? (header(request.http, 'content-type') ?? DEFAULT_CONTENT_TYPE)
          : source.contentType,
        headers: replace ? storedHeaders(request.http) : source.headers,
        metadata: replace ? userMetadata(request.http) : source.metadata,
        storageClass: storageClass ?? source.storageClass,
        ...optional('tags', replaceTags ? taggingHeader(request.http) : source.tags),
        ...optional('acl', cannedAcl(request.http)),
      },
      data,
    );
    sendXml(request, 200, 'CopyObjectResult', [
      ['LastModified', iso(object.lastModified)],
      ['ETag', object.etag],
    ]);
  }

  function getAttributes(request: Request, bucket: string, key: string) {
    const object = storage.head(bucket, key);
    const wanted = new Set(
      (header(request.http, 'x-amz-object-attributes') ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    );
    if (wanted.size === 0)
      throw invalidArgument('Invalid attribute name specified.', 'x-amz-object-attributes', '');
    if (checkReadConditions(request, object) === 304)
      return send(request, 304, undefined, { ETag: object.etag });
    const nodes: XmlNode[] = [];
    if (wanted.has('ETag')) nodes.push(['ETag', bareEtag(object.etag)]);
    if (wanted.has('ObjectParts') && object.parts !== undefined)
      nodes.push([
        'ObjectParts',
        [
          ['PartsCount', object.parts.length],
          ['PartNumberMarker', 0],
          ['NextPartNumberMarker', object.parts.length],
          ['MaxParts', 1000],
          ['IsTruncated', false],
          ...object.parts.map(
            (size, index): XmlNode => [
              'Part',
              [
                ['PartNumber', index + 1],
                ['Size', size],
              ],
            ],
          ),
        ],
      ]);
    if (wanted.has('StorageClass')) nodes.push(['StorageClass', object.storageClass]);
    if (wanted.has('ObjectSize')) nodes.push(['ObjectSize', object.size]);
    sendXml(request, 200, 'GetObjectAttributesResponse', nodes, {
      'Last-Modified': httpDate(object.lastModified),
    });
  }

  async function deleteObjects(request: Request, bucket: string) {
    storage.bucket(bucket);
    const body = await readBody(request);
    const document = parseXml(body.toString('utf8'));
    if (document.name !== 'Delete') throw malformedXml();
    const objects = childrenNamed(document, 'Object');
    if (objects.length === 0 || objects.length > 1000) throw malformedXml();
    const quiet = child(document, 'Quiet')?.text.trim() === 'true';
    const results: XmlNode[] = [];
    for (const entry of objects) {
      const key = child(entry, 'Key')?.text;
      if (key === undefined) throw malformedXml();
      if (Buffer.byteLength(key) > 1024) {
        results.push([
          'Error',
          [
            ['Key', key],
            ['Code', 'KeyTooLongError'],
            ['Message', 'Your key is too long'],
          ],
        ]);
        continue;
      }
      await storage.delete(bucket, key);
      if (!quiet) results.push(['Deleted', [['Key', key]]]);
    }
    sendXml(request, 200, 'DeleteResult', results);
  }

  return {
    putObject,
    getObject,
    copyObject,
    getAttributes,
    deleteObjects,
    // Shared with multipart uploads: bodies, conditional writes, copy sources.
    readBody,
    checkWriteConditions,
    parseCopySource,
    checkCopySourceConditions,
  };
}
