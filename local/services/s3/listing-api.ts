import { invalidArgument } from './errors';
import { iso } from './handlers-util';
import { encodingOf, maxKeysOf, ownerXml, type Request, sendXml } from './http';
import { compareKeys, listKeys } from './listing';
import type { S3Storage } from './store';
import type { XmlNode } from './xml';

/** Listings: ListObjects V1 and V2, ListObjectVersions, ListMultipartUploads. */
export function listingApi(storage: S3Storage) {
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

  return { listObjects, listVersions, listUploads };
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
