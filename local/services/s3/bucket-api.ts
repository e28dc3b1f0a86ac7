import { readRequestBody } from './body';
import { malformedXml, S3Error } from './errors';
import { cannedAcl, checkBucketName, iso, OWNER } from './handlers-util';
import { ownerXml, type Request, send, sendRaw, sendXml } from './http';
import type { S3Storage } from './store';
import { child, childrenNamed, escapeXml, parseXml, type XmlNode } from './xml';

/** Bucket operations: create, delete, location, versioning, policy, ACL, tags. */
export function bucketApi(storage: S3Storage, region: string) {
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

  return {
    listBuckets,
    createBucket,
    getLocation,
    putVersioning,
    getVersioning,
    putPolicy,
    getPolicy,
    putAcl,
    getAcl,
    putTagging,
    getTagging,
  };
}
