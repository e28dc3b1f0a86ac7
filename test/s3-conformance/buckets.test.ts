import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketPolicyCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { type ConformanceTarget, conformanceTarget, s3Failure } from './target';

describe('S3 conformance: buckets, versioning, ACLs and policies', () => {
  let target: ConformanceTarget;

  beforeAll(async () => {
    target = await conformanceTarget();
  });
  afterAll(() => target.stop());

  it('creates a bucket that HeadBucket and ListBuckets then see', async () => {
    const bucket = await target.bucket('created');
    expect((await target.s3.send(new HeadBucketCommand({ Bucket: bucket }))).$metadata.httpStatusCode).toBe(
      200,
    );
    const listed = await target.s3.send(new ListBucketsCommand({}));
    expect((listed.Buckets ?? []).map((entry) => entry.Name)).toContain(bucket);
  });

  it('answers 404 to HeadBucket and NoSuchBucket to a listing of a missing bucket', async () => {
    expect(
      (await s3Failure(target.s3.send(new HeadBucketCommand({ Bucket: 'conf-no-such-bucket-x' })))).status,
    ).toBe(404);
    expect(
      await s3Failure(target.s3.send(new ListObjectVersionsCommand({ Bucket: 'conf-no-such-bucket-x' }))),
    ).toEqual({ code: 'NoSuchBucket', status: 404 });
  });

  it('refuses an invalid bucket name (InvalidBucketName)', async () => {
    expect(await s3Failure(target.s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toMatchObject({
      code: 'InvalidBucketName',
      status: 400,
    });
  });

  it('refuses to delete a bucket that holds objects (BucketNotEmpty, 409)', async () => {
    const bucket = await target.bucket('not-empty');
    await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
    expect(await s3Failure(target.s3.send(new DeleteBucketCommand({ Bucket: bucket })))).toEqual({
      code: 'BucketNotEmpty',
      status: 409,
    });
  });

  it('answers GetBucketLocation (empty for us-east-1)', async () => {
    const bucket = await target.bucket('location');
    const location = await target.s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
    expect(location.LocationConstraint ?? '').toBe('');
  });

  it('stores the versioning status: none at first, then Enabled, then Suspended', async () => {
    const bucket = await target.bucket('versioning');
    expect((await target.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBeUndefined();
    for (const Status of ['Enabled', 'Suspended'] as const) {
      await target.s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }),
      );
      expect((await target.s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe(Status);
    }
  });

  it('lists every object of an unversioned bucket as one version with id null (ListObjectVersions)', async () => {
    const bucket = await target.bucket('versions');
    for (const key of ['v/b', 'v/a', 'w'])
      await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const versions = await target.s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    expect(
      (versions.Versions ?? []).map((version) => [version.Key, version.VersionId, version.IsLatest]),
    ).toEqual([
      ['v/a', 'null', true],
      ['v/b', 'null', true],
      ['w', 'null', true],
    ]);
    const grouped = await target.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter: '/' }));
    expect((grouped.CommonPrefixes ?? []).map((prefix) => prefix.Prefix)).toEqual(['v/']);
    expect((grouped.Versions ?? []).map((version) => version.Key)).toEqual(['w']);
  });

  it('stores a canned bucket ACL and returns it as grants (not enforced locally)', async () => {
    const bucket = await target.bucket('acl');
    await target.s3.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read' }));
    const acl = await target.s3.send(new GetBucketAclCommand({ Bucket: bucket }));
    const permissions = (acl.Grants ?? []).map(
      (grant) => `${grant.Grantee?.URI ?? grant.Grantee?.Type}:${grant.Permission}`,
    );
    expect(permissions).toContain('http://acs.amazonaws.com/groups/global/AllUsers:READ');
    expect(permissions.some((permission) => permission.endsWith(':FULL_CONTROL'))).toBe(true);
  });

  it('stores, returns and deletes a bucket policy (NoSuchBucketPolicy when there is none)', async () => {
    const bucket = await target.bucket('policy');
    expect(await s3Failure(target.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })))).toEqual({
      code: 'NoSuchBucketPolicy',
      status: 404,
    });
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: `arn:aws:s3:::${bucket}/*`,
        },
      ],
    };
    await target.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    const stored = await target.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }));
    expect(JSON.parse(stored.Policy!)).toMatchObject({ Statement: [{ Action: 's3:GetObject' }] });
    await target.s3.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
    expect((await s3Failure(target.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })))).code).toBe(
      'NoSuchBucketPolicy',
    );
  });
});
