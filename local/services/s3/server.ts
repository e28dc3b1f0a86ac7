import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { checkChecksums, checkContentMd5, decodeAwsChunked, readRequestBody } from './body';
import { invalidArgument, malformedXml, noSuchKey, preconditionFailed, S3Error } from './errors';
import {
  bareEtag,
  cannedAcl,
  checkBucketName,
  checkKey,
  DEFAULT_CONTENT_TYPE,
  etagMatches,
  header,
  httpDate,
  iso,
  MIN_PART_BYTES,
  nowSeconds,
  OWNER,
  parseHttpDate,
  storedHeaders,
  taggingHeader,
  urlEncodeKey,
  userMetadata,
} from './handlers-util';
import { compareKeys, listKeys } from './listing';
import type { ObjectMeta, S3Storage } from './store';
import { child, childrenNamed, escapeXml, parseXml, type XmlNode, xmlDocument, xmlError } from './xml';

interface Request {
  http: IncomingMessage;
  response: ServerResponse;
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
  requestId: string;
  resource: string;
}

type Headers = Record<string, string | number>;

export interface S3HandlerOptions {
  storage: S3Storage;
  region: string;
  /** Called with every request that ended in a 500, so the stack log shows the cause. */
  onInternalError?: (error: unknown, request: { method: string; resource: string }) => void;
}

/**
 * The S3 REST API (path-style and `<bucket>.localhost` virtual-host style) over {@link S3Storage}.
 * Any credentials are accepted and signatures are not checked (the local-stack convention). Every
 * failure inside a request becomes an S3 XML error answer: nothing a client sends can throw out of
 * the handler.
 */
export function createS3Handler(options: S3HandlerOptions) {
  const { storage, region } = options;

  return (http: IncomingMessage, response: ServerResponse): void => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const method = http.method ?? 'GET';
    let request: Request | undefined;
    const run = async () => {
      request = parseRequest(http, response, requestId);
      await route(request);
    };
    run().catch((error: unknown) => {
      const resource = request?.resource ?? http.url ?? '/';
      let s3Error: S3Error;
      if (error instanceof S3Error) s3Error = error;
      else {
        options.onInternalError?.(error, { method, resource });
        s3Error = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
      }
      sendError(response, method, s3Error, resource, requestId);
      // A body the handler did not read (an error before reading it) is drained, not left hanging.
      if (!http.complete) http.resume();
    });
  };

  async function route(request: Request): Promise<void> {
    const { method, bucket, key, query } = request;
    if (bucket === undefined) {
      if (method === 'GET') return listBuckets(request);
      throw notImplemented(request);
    }
    if (key === undefined) {
      switch (method) {
        case 'GET':
          if (query.has('location')) return getLocation(request, bucket);
          if (query.has('versioning')) return getVersioning(request, bucket);
          if (query.has('policy')) return getPolicy(request, bucket);
          if (query.has('acl')) return getAcl(request, storage.bucket(bucket).meta.acl);
          if (query.has('tagging')) return getTagging(request, storage.bucket(bucket).meta.tags, true);
          if (query.has('versions')) return listVersions(request, bucket);
          if (query.has('uploads')) return listUploads(request, bucket);
          if (hasOtherSubresource(query)) throw notImplemented(request);
          return listObjects(request, bucket, query.get('list-type') === '2');
        case 'HEAD':
          storage.bucket(bucket);
          return send(request, 200, undefined, { 'x-amz-bucket-region': storage.bucket(bucket).meta.region });
        case 'PUT':
          if (query.has('versioning')) return putVersioning(request, bucket);
          if (query.has('policy')) return putPolicy(request, bucket);
          if (query.has('acl')) return putAcl(request, bucket, undefined);
          if (query.has('tagging')) return putTagging(request, bucket, undefined);
          if (hasOtherSubresource(query)) throw notImplemented(request);
          return createBucket(request, bucket);
        case 'DELETE':
          if (query.has('policy')) {
            await storage.updateBucket(bucket, (meta) => delete meta.policy);
            return send(request, 204);
          }
          if (query.has('tagging')) {
            await storage.updateBucket(bucket, (meta) => delete meta.tags);
            return send(request, 204);
          }
          if (hasOtherSubresource(query)) throw notImplemented(request);
          await storage.deleteBucket(bucket);
          return send(request, 204);
        case 'POST':
          if (query.has('delete')) return deleteObjects(request, bucket);
          throw notImplemented(request);
        default:
          throw methodNotAllowed(request);
      }
    }
    checkKey(key);
    switch (method) {
      case 'GET':
        if (query.has('uploadId')) return listParts(request, bucket, key);
        if (query.has('acl')) return getAcl(request, storage.head(bucket, key).acl);
        if (query.has('tagging')) return getTagging(request, storage.head(bucket, key).tags, false);
        if (query.has('attributes')) return getAttributes(request, bucket, key);
        return getObject(request, bucket, key, true);
      case 'HEAD':
        return getObject(request, bucket, key, false);
      case 'PUT':
        if (query.has('uploadId')) return uploadPart(request, bucket, key);
        if (query.has('acl')) return putAcl(request, bucket, key);
        if (query.has('tagging')) return putTagging(request, bucket, key);
        if (header(request.http, 'x-amz-copy-source') !== undefined) return copyObject(request, bucket, key);
        return putObject(request, bucket, key);
      case 'POST':
        if (query.has('uploads')) return createUpload(request, bucket, key);
        if (query.has('uploadId')) return completeUpload(request, bucket, key);
        throw notImplemented(request);
      case 'DELETE':
        if (query.has('uploadId')) {
          storage.upload(bucket, key, query.get('uploadId') ?? '');
          await storage.removeUpload(bucket, query.get('uploadId') ?? '');
          return send(request, 204);
        }
        if (query.has('tagging')) {
          await storage.updateObject(bucket, key, (meta) => delete meta.tags);
          return send(request, 204);
        }
        storage.bucket(bucket);
        await storage.delete(bucket, key);
        return send(request, 204);
      default:
        throw methodNotAllowed(request);
    }
  }

  // Buckets.

  function listBuckets(request: Request) {
    const buckets = storage.listBuckets();
    sendXml(request, 200, 'ListAllMyBucketsResult', [
      ['Owner', ownerXml()],
      [
        'Buckets',
        buckets.map(
          (b): XmlNode => [
            'Bucket',
            [
              ['Name', b.name],
              ['CreationDate', iso(b.created)],
            ],
          ],
        ),
      ],
    ]);
  }

  async function createBucket(request: Request, bucket: string) {
    checkBucketName(bucket);
    const body = (await readRequestBody(request.http)).toString('utf8').trim();
    let location = region;
    if (body !== '') {
      const constraint = child(parseXml(body), 'LocationConstraint')?.text.trim();
      if (constraint) location = constraint;
    }
    const acl = cannedAcl(request.http);
    await storage.createBucket(bucket, location);
    if (acl !== undefined) await storage.updateBucket(bucket, (meta) => (meta.acl = acl));
    send(request, 200, undefined, { Location: `/${bucket}` });
  }

  function getLocation(request: Request, bucket: string) {
    const location = storage.bucket(bucket).meta.region;
    // us-east-1 answers an empty LocationConstraint.
    const text = location === 'us-east-1' ? '' : escapeXml(location);
    sendRaw(
      request,
      200,
      `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${text}</LocationConstraint>`,
    );
  }

  async function putVersioning(request: Request, bucket: string) {
    storage.bucket(bucket);
    const document = parseXml((await readRequestBody(request.http)).toString('utf8'));
    if (document.name !== 'VersioningConfiguration') throw malformedXml();
    const status = child(document, 'Status')?.text.trim();
    if (status !== undefined && status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
    if (status !== undefined) await storage.updateBucket(bucket, (meta) => (meta.versioning = status));
    send(request, 200);
  }

  function getVersioning(request: Request, bucket: string) {
    const status = storage.bucket(bucket).meta.versioning;
    sendXml(request, 200, 'VersioningConfiguration', [['Status', status]]);
  }

  async function putPolicy(request: Request, bucket: string) {
    storage.bucket(bucket);
    const text = (await readRequestBody(request.http)).toString('utf8');
    let policy: unknown;
    try {
      policy = JSON.parse(text);
    } catch {
      policy = undefined;
    }
    if (typeof policy !== 'object' || policy === null || !('Statement' in policy))
      throw new S3Error('MalformedPolicy', 400, "Policies must be valid JSON and the first byte must be '{'");
    await storage.updateBucket(bucket, (meta) => (meta.policy = text));
    send(request, 204);
  }

  function getPolicy(request: Request, bucket: string) {
    const policy = storage.bucket(bucket).meta.policy;
    if (policy === undefined)
      throw new S3Error('NoSuchBucketPolicy', 404, 'The bucket policy does not exist', {
        BucketName: bucket,
      });
    send(request, 200, policy, { 'Content-Type': 'application/json' });
  }

  async function putAcl(request: Request, bucket: string, key: string | undefined) {
    if (key === undefined) storage.bucket(bucket);
    else storage.head(bucket, key);
    const body = (await readRequestBody(request.http)).toString('utf8').trim();
    let acl = cannedAcl(request.http);
    if (acl === undefined) {
      // A full AccessControlPolicy is accepted and stored as the nearest canned ACL.
      if (body === '')
        throw new S3Error('MissingSecurityHeader', 400, 'Your request was missing a required header', {
          MissingHeaderName: 'x-amz-acl',
        });
      const document = parseXml(body);
      if (document.name !== 'AccessControlPolicy') throw malformedXml();
      acl = body.includes('/global/AllUsers')
        ? body.includes('>WRITE<')
          ? 'public-read-write'
          : 'public-read'
        : body.includes('/global/AuthenticatedUsers')
          ? 'authenticated-read'
          : 'private';
    }
    const value = acl;
    if (key === undefined) await storage.updateBucket(bucket, (meta) => (meta.acl = value));
    else await storage.updateObject(bucket, key, (meta) => (meta.acl = value));
    send(request, 200);
  }

  function getAcl(request: Request, acl: string | undefined) {
    const grant = (grantee: string, permission: string) =>
      `<Grant>${grantee}<Permission>${permission}</Permission></Grant>`;
    const group = (uri: string) =>
      `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>${uri}</URI></Grantee>`;
    const allUsers = group('http://acs.amazonaws.com/groups/global/AllUsers');
    const grants = [
      grant(
        `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>${OWNER.ID}</ID><DisplayName>${OWNER.DisplayName}</DisplayName></Grantee>`,
        'FULL_CONTROL',
      ),
    ];
    if (acl === 'public-read' || acl === 'public-read-write') grants.push(grant(allUsers, 'READ'));
    if (acl === 'public-read-write') grants.push(grant(allUsers, 'WRITE'));
    if (acl === 'authenticated-read')
      grants.push(grant(group('http://acs.amazonaws.com/groups/global/AuthenticatedUsers'), 'READ'));
    sendRaw(
      request,
      200,
      `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>${OWNER.ID}</ID><DisplayName>${OWNER.DisplayName}</DisplayName></Owner><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`,
    );
  }

  async function putTagging(request: Request, bucket: string, key: string | undefined) {
    if (key === undefined) storage.bucket(bucket);
    else storage.head(bucket, key);
    const document = parseXml((await readRequestBody(request.http)).toString('utf8'));
    const tagSet = child(document, 'TagSet');
    if (document.name !== 'Tagging' || tagSet === undefined) throw malformedXml();
    const tags: Record<string, string> = {};
    for (const tag of childrenNamed(tagSet, 'Tag')) {
      const name = child(tag, 'Key')?.text;
      if (name === undefined) throw malformedXml();
      tags[name] = child(tag, 'Value')?.text ?? '';
    }
    if (key === undefined) await storage.updateBucket(bucket, (meta) => (meta.tags = tags));
    else await storage.updateObject(bucket, key, (meta) => (meta.tags = tags));
    send(request, key === undefined ? 204 : 200);
  }

  function getTagging(request: Request, tags: Record<string, string> | undefined, isBucket: boolean) {
    if (isBucket && tags === undefined) throw new S3Error('NoSuchTagSet', 404, 'The TagSet does not exist');
    sendXml(request, 200, 'Tagging', [
      [
        'TagSet',
        Object.entries(tags ?? {}).map(
          ([k, v]): XmlNode => [
            'Tag',
            [
              ['Key', k],
              ['Value', v],
            ],
          ],
        ),
      ],
    ]);
  }

  // Listings.

  function maxKeysOf(request: Request, name: string): number {
    const raw = request.query.get(name);
    if (raw === null) return 1000;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value))
      throw invalidArgument('Provided max-keys not an integer or within integer range', name, raw);
    return Math.min(value, 1000);
  }

  function encodingOf(request: Request): ((value: string) => string) | undefined {
    const encoding = request.query.get('encoding-type');
    if (encoding === null) return undefined;
    if (encoding !== 'url')
      throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
    return urlEncodeKey;
  }

  function listObjects(request: Request, bucketName: string, v2: boolean) {
    const bucket = storage.bucket(bucketName);
    const query = request.query;
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = maxKeysOf(request, 'max-keys');
    const encode = encodingOf(request);
    const out = (value: string) => (encode ? encode(value) : value);
    let after = '';
    const token = query.get('continuation-token');
    if (v2) {
      if (token !== null) after = decodeToken(token);
      else after = query.get('start-after') ?? '';
    } else after = query.get('marker') ?? '';
    const page = listKeys(bucket.sorted, { prefix, delimiter, after, maxKeys });
    const fetchOwner = !v2 || query.get('fetch-owner') === 'true';
    const contents = page.keys.map((key): XmlNode => {
      const object = bucket.objects.get(key)!;
      return [
        'Contents',
        [
          ['Key', out(key)],
          ['LastModified', iso(object.lastModified)],
          ['ETag', object.etag],
          ['Size', object.size],
          ['StorageClass', object.storageClass],
          ...(fetchOwner ? [['Owner', ownerXml()] as XmlNode] : []),
        ],
      ];
    });
    const prefixes = page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', out(p)]]]);
    const nodes: XmlNode[] = [
      ['Name', bucketName],
      ['Prefix', out(prefix)],
    ];
    if (v2) {
      if (token !== null) nodes.push(['ContinuationToken', token]);
      if (token === null && query.has('start-after')) nodes.push(['StartAfter', out(after)]);
      if (page.truncated && page.last !== undefined)
        nodes.push(['NextContinuationToken', encodeToken(page.last)]);
      nodes.push(['KeyCount', page.keys.length + page.commonPrefixes.length]);
    } else {
      nodes.push(['Marker', out(after)]);
      // S3 gives NextMarker only with a delimiter; without one the last key is the next marker.
      if (page.truncated && delimiter !== '' && page.last !== undefined)
        nodes.push(['NextMarker', out(page.last)]);
    }
    nodes.push(['MaxKeys', maxKeys]);
    if (delimiter !== '') nodes.push(['Delimiter', out(delimiter)]);
    if (encode) nodes.push(['EncodingType', 'url']);
    nodes.push(['IsTruncated', page.truncated], ...contents, ...prefixes);
    sendXml(request, 200, 'ListBucketResult', nodes);
  }

  function listVersions(request: Request, bucketName: string) {
    const bucket = storage.bucket(bucketName);
    const query = request.query;
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxKeys = maxKeysOf(request, 'max-keys');
    const encode = encodingOf(request);
    const out = (value: string) => (encode ? encode(value) : value);
    const keyMarker = query.get('key-marker') ?? '';
    const page = listKeys(bucket.sorted, { prefix, delimiter, after: keyMarker, maxKeys });
    // One version per key, id `null`: what S3 lists for a bucket that never had versioning on.
    const versions = page.keys.map((key): XmlNode => {
      const object = bucket.objects.get(key)!;
      return [
        'Version',
        [
          ['Key', out(key)],
          ['VersionId', 'null'],
          ['IsLatest', true],
          ['LastModified', iso(object.lastModified)],
          ['ETag', object.etag],
          ['Size', object.size],
          ['StorageClass', object.storageClass],
          ['Owner', ownerXml()],
        ],
      ];
    });
    const nodes: XmlNode[] = [
      ['Name', bucketName],
      ['Prefix', out(prefix)],
      ['KeyMarker', out(keyMarker)],
      ['VersionIdMarker', query.get('version-id-marker') ?? ''],
    ];
    if (page.truncated && page.last !== undefined)
      nodes.push(['NextKeyMarker', out(page.last)], ['NextVersionIdMarker', 'null']);
    nodes.push(['MaxKeys', maxKeys]);
    if (delimiter !== '') nodes.push(['Delimiter', out(delimiter)]);
    if (encode) nodes.push(['EncodingType', 'url']);
    nodes.push(['IsTruncated', page.truncated], ...versions);
    nodes.push(...page.commonPrefixes.map((p): XmlNode => ['CommonPrefixes', [['Prefix', out(p)]]]));
    sendXml(request, 200, 'ListVersionsResult', nodes);
  }

  function listUploads(request: Request, bucketName: string) {
    const query = request.query;
    const prefix = query.get('prefix') ?? '';
    const keyMarker = query.get('key-marker') ?? '';
    const idMarker = query.get('upload-id-marker') ?? '';
    const maxUploads = maxKeysOf(request, 'max-uploads');
    const all = storage
      .uploads(bucketName)
      .filter((upload) => upload.key.startsWith(prefix))
      .sort(
        (a, b) =>
          compareKeys(a.key, b.key) || a.initiated - b.initiated || (a.uploadId < b.uploadId ? -1 : 1),
      );
    let start = 0;
    if (keyMarker !== '') {
      start = all.findIndex((upload) => {
        const order = compareKeys(upload.key, keyMarker);
        return order > 0 || (order === 0 && idMarker !== '' && upload.uploadId > idMarker);
      });
      if (start === -1) start = all.length;
    }
    const page = all.slice(start, start + maxUploads);
    const truncated = start + maxUploads < all.length;
    const last = page[page.length - 1];
    sendXml(request, 200, 'ListMultipartUploadsResult', [
      ['Bucket', bucketName],
      ['KeyMarker', keyMarker],
      ['UploadIdMarker', idMarker],
      ...(truncated && last
        ? ([
            ['NextKeyMarker', last.key],
            ['NextUploadIdMarker', last.uploadId],
          ] as XmlNode[])
        : []),
      ['Prefix', prefix],
      ['MaxUploads', maxUploads],
      ['IsTruncated', truncated],
      ...page.map(
        (upload): XmlNode => [
          'Upload',
          [
            ['Key', upload.key],
            ['UploadId', upload.uploadId],
            ['Initiator', ownerXml()],
            ['Owner', ownerXml()],
            ['StorageClass', upload.storageClass],
            ['Initiated', iso(upload.initiated)],
          ],
        ],
      ),
    ]);
  }

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
}

// Request parsing and answers.

const SUBRESOURCES = [
  'accelerate',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'website',
  'legal-hold',
  'retention',
  'restore',
  'select',
  'torrent',
];
const hasOtherSubresource = (query: URLSearchParams) => SUBRESOURCES.some((name) => query.has(name));

function notImplemented(request: Request) {
  return new S3Error(
    'NotImplemented',
    501,
    'A header or query you provided implies functionality that is not implemented by the local S3',
    {
      Method: request.method,
    },
  );
}

function methodNotAllowed(request: Request) {
  return new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', {
    Method: request.method,
    ResourceType: request.key === undefined ? 'BUCKET' : 'OBJECT',
  });
}

function parseRequest(http: IncomingMessage, response: ServerResponse, requestId: string): Request {
  const url = http.url ?? '/';
  const mark = url.indexOf('?');
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.", { URI: url });
    }
  };
  let bucket: string | undefined;
  let key: string | undefined;
  // `<bucket>.localhost` is what SDKs send when told to use virtual-hosted style locally.
  const host = (http.headers.host ?? '').replace(/:\d+$/, '');
  const virtualHost = /^(.+)\.localhost$/.exec(host);
  if (virtualHost) {
    bucket = virtualHost[1];
    key = rawPath.length > 1 ? decode(rawPath.slice(1)) : undefined;
  } else {
    const path = rawPath.slice(1);
    const slash = path.indexOf('/');
    const bucketPart = slash === -1 ? path : path.slice(0, slash);
    bucket = bucketPart === '' ? undefined : decode(bucketPart);
    const keyPart = slash === -1 ? '' : path.slice(slash + 1);
    key = keyPart === '' ? undefined : decode(keyPart);
  }
  return {
    http,
    response,
    method: http.method ?? 'GET',
    bucket,
    key,
    query,
    requestId,
    resource: bucket === undefined ? '/' : `/${bucket}${key === undefined ? '' : `/${key}`}`,
  };
}

function ownerXml(): XmlNode[] {
  return [
    ['ID', OWNER.ID],
    ['DisplayName', OWNER.DisplayName],
  ];
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

function commonHeaders(request: { requestId: string }): Headers {
  return { 'x-amz-request-id': request.requestId, 'x-amz-id-2': request.requestId, Server: 'LocalS3' };
}

function send(request: Request, status: number, body?: string, headers: Headers = {}): void {
  const payload = body === undefined ? undefined : Buffer.from(body);
  request.response.writeHead(status, {
    ...commonHeaders(request),
    ...(payload !== undefined || !('Content-Length' in headers)
      ? { 'Content-Length': payload?.length ?? 0 }
      : {}),
    ...headers,
  });
  request.response.end(request.method === 'HEAD' ? undefined : payload);
}

function sendRaw(request: Request, status: number, xml: string, headers: Headers = {}): void {
  send(request, status, xml, { 'Content-Type': 'application/xml', ...headers });
}

function sendXml(
  request: Request,
  status: number,
  root: string,
  nodes: XmlNode[],
  headers: Headers = {},
): void {
  sendRaw(request, status, xmlDocument(root, nodes), headers);
}

function sendError(
  response: ServerResponse,
  method: string,
  error: S3Error,
  resource: string,
  requestId: string,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = Buffer.from(
    xmlError([
      ['Code', error.code],
      ['Message', error.message],
      ...Object.entries(error.details),
      ['Resource', resource],
      ['RequestId', requestId],
    ]),
  );
  response.writeHead(error.status, {
    ...commonHeaders({ requestId }),
    ...error.headers,
    'Content-Type': 'application/xml',
    'Content-Length': method === 'HEAD' ? 0 : body.length,
  });
  response.end(method === 'HEAD' ? undefined : body);
}

function encodeToken(last: string): string {
  return Buffer.from(`k:${last}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith('k:') || Buffer.from(decoded, 'utf8').toString('base64url') !== token)
    throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  return decoded.slice(2);
}
