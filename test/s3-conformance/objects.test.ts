import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { type ConformanceTarget, conformanceTarget, s3Failure } from './target';

describe('S3 conformance: objects, keys, copies, ranges', () => {
  let target: ConformanceTarget;
  let bucket: string;

  beforeAll(async () => {
    target = await conformanceTarget();
    bucket = await target.bucket('objects');
  });
  afterAll(() => target.stop());

  const put = (Key: string, Body: string | Buffer, extra: Partial<PutObjectCommand['input']> = {}) =>
    target.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...extra }));
  const text = async (Key: string, extra: Partial<GetObjectCommand['input']> = {}) => {
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key, ...extra }));
    return { object, body: await object.Body!.transformToString() };
  };

  it('returns a PutObject with its MD5 ETag, Content-Type and user metadata', async () => {
    const written = await put('meta/a.txt', 'hello', {
      ContentType: 'text/plain',
      Metadata: { origin: 'conformance', 'two-words': 'a b' },
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="a.txt"',
    });
    const md5 = createHash('md5').update('hello').digest('hex');
    expect(written.ETag).toBe(`"${md5}"`);
    const { object, body } = await text('meta/a.txt');
    expect(body).toBe('hello');
    expect(object.ETag).toBe(`"${md5}"`);
    expect(object.ContentType).toBe('text/plain');
    expect(object.ContentLength).toBe(5);
    expect(object.CacheControl).toBe('max-age=60');
    expect(object.ContentDisposition).toBe('attachment; filename="a.txt"');
    expect(object.Metadata).toEqual({ origin: 'conformance', 'two-words': 'a b' });
    expect(object.LastModified).toBeInstanceOf(Date);
  });

  it('stores a zero-byte object', async () => {
    await put('empty', Buffer.alloc(0));
    const head = await target.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'empty' }));
    expect(head.ContentLength).toBe(0);
    expect(head.ETag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
    expect((await text('empty')).body).toBe('');
  });

  it.each([
    ['spaces', 'dir with spaces/file name.txt'],
    ['dot segments', 'a/../b/./c'],
    ['percent and plus', 'p/100%+sure&x=y.txt'],
    ['trailing slash', 'folder/'],
    ['a 250-character segment', `long/${'s'.repeat(250)}/end`],
    ['an 800-character segment', `x${'y'.repeat(800)}`],
    ['unicode', 'ü/日本語/😀.txt'],
    ['double slash', 'a//b'],
    ['a key of exactly 1,024 bytes', 'k'.repeat(1024)],
    ['a key of 1,024 bytes in 3-byte characters', `${'語'.repeat(341)}k`],
  ])('stores and returns a key with %s', async (_label, key) => {
    await put(key, `body of ${key.length}`);
    expect((await text(key)).body).toBe(`body of ${key.length}`);
  });

  it('refuses a key longer than 1,024 bytes with KeyTooLongError', async () => {
    expect(await s3Failure(put('k'.repeat(1025), 'x'))).toEqual({ code: 'KeyTooLongError', status: 400 });
  });

  it('answers NoSuchKey (404) to a GetObject of a missing key, and NotFound to a HeadObject', async () => {
    expect(await s3Failure(text('missing/key'))).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(
      await s3Failure(target.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'missing/key' }))),
    ).toEqual({
      code: 'NotFound',
      status: 404,
    });
  });

  it('answers an error document with Code, Message, Resource and RequestId', async () => {
    const response = await fetch(`${target.endpoint}/${bucket}/missing-for-xml`);
    expect(response.status).toBe(404);
    const xml = await response.text();
    expect(xml).toMatch(/<Code>NoSuchKey<\/Code>/);
    expect(xml).toMatch(/<Message>[^<]+<\/Message>/);
    expect(xml).toMatch(/<RequestId>[^<]+<\/RequestId>/);
    expect(xml).toMatch(/<Resource>[^<]*missing-for-xml<\/Resource>|<Key>missing-for-xml<\/Key>/);
  });

  it('refuses a body whose Content-MD5 does not match with BadDigest', async () => {
    const wrong = createHash('md5').update('other').digest('base64');
    expect(await s3Failure(put('md5', 'hello', { ContentMD5: wrong }))).toEqual({
      code: 'BadDigest',
      status: 400,
    });
    expect(await s3Failure(text('md5'))).toMatchObject({ code: 'NoSuchKey' });
  });

  it('accepts a streamed body sent aws-chunked with a trailing checksum (SDK defaults) byte for byte', async () => {
    const body = Buffer.from(Array.from({ length: 200_000 }, (_, index) => (index * 7919) % 251));
    await put(
      'chunked.bin',
      Readable.from([body.subarray(0, 70_001), body.subarray(70_001)]) as unknown as Buffer,
      {
        ContentLength: body.length,
      },
    );
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'chunked.bin' }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('deletes an object (204), and deleting a missing key also succeeds', async () => {
    await put('to-delete', 'x');
    const deleted = await target.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'to-delete' }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect(await s3Failure(text('to-delete'))).toMatchObject({ code: 'NoSuchKey' });
    const again = await target.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'to-delete' }));
    expect(again.$metadata.httpStatusCode).toBe(204);
  });

  it('deletes several objects with DeleteObjects, reporting each (and nothing in quiet mode)', async () => {
    await put('multi/1', '1');
    await put('multi/2', '2');
    const result = await target.s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: 'multi/1' }, { Key: 'multi/2' }, { Key: 'multi/never' }] },
      }),
    );
    expect((result.Deleted ?? []).map((entry) => entry.Key).sort()).toEqual([
      'multi/1',
      'multi/2',
      'multi/never',
    ]);
    await put('multi/3', '3');
    const quiet = await target.s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'multi/3' }], Quiet: true } }),
    );
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(await s3Failure(text('multi/3'))).toMatchObject({ code: 'NoSuchKey' });
  });

  it('copies an object with its metadata, or with new metadata under REPLACE', async () => {
    await put('copy/source', 'copied', { ContentType: 'text/csv', Metadata: { a: '1' } });
    const copy = await target.s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'copy/kept', CopySource: `${bucket}/copy/source` }),
    );
    expect(copy.CopyObjectResult?.ETag).toBe(`"${createHash('md5').update('copied').digest('hex')}"`);
    const kept = await text('copy/kept');
    expect(kept.body).toBe('copied');
    expect(kept.object.ContentType).toBe('text/csv');
    expect(kept.object.Metadata).toEqual({ a: '1' });
    await target.s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy/replaced',
        CopySource: `${bucket}/copy/source`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/plain',
        Metadata: { b: '2' },
      }),
    );
    const replaced = await text('copy/replaced');
    expect(replaced.object.ContentType).toBe('text/plain');
    expect(replaced.object.Metadata).toEqual({ b: '2' });
  });

  it('copies a key holding =, +, spaces and % given URL-encoded in CopySource', async () => {
    const key = 'cf/year=2025/a+b c%d.gz';
    await put(key, 'odd');
    await target.s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy/odd',
        CopySource: encodeURIComponent(`${bucket}/${key}`),
      }),
    );
    expect((await text('copy/odd')).body).toBe('odd');
  });

  it('answers NoSuchKey to a copy from a missing source, and InvalidRequest to a copy onto itself', async () => {
    expect(
      await s3Failure(
        target.s3.send(
          new CopyObjectCommand({ Bucket: bucket, Key: 'copy/x', CopySource: `${bucket}/copy/none` }),
        ),
      ),
    ).toEqual({ code: 'NoSuchKey', status: 404 });
    expect(
      await s3Failure(
        target.s3.send(
          new CopyObjectCommand({ Bucket: bucket, Key: 'copy/source', CopySource: `${bucket}/copy/source` }),
        ),
      ),
    ).toEqual({ code: 'InvalidRequest', status: 400 });
  });

  describe('ranges (RFC 9110)', () => {
    beforeAll(() => put('range', 'testcontent'));

    it.each([
      ['bytes=0-3', 'test', 'bytes 0-3/11'],
      ['bytes=4-', 'content', 'bytes 4-10/11'],
      ['bytes=-7', 'content', 'bytes 4-10/11'],
      ['bytes=-100', 'testcontent', 'bytes 0-10/11'],
      ['bytes=8-100', 'ent', 'bytes 8-10/11'],
    ])('%s reads %s (206, Content-Range %s)', async (Range, expected, contentRange) => {
      const { object, body } = await text('range', { Range });
      expect(object.$metadata.httpStatusCode).toBe(206);
      expect(body).toBe(expected);
      expect(object.ContentRange).toBe(contentRange);
      expect(object.ContentLength).toBe(expected.length);
    });

    it('answers InvalidRange (416) to a range that starts past the end', async () => {
      expect(await s3Failure(text('range', { Range: 'bytes=11-' }))).toEqual({
        code: 'InvalidRange',
        status: 416,
      });
      expect(await s3Failure(text('range', { Range: 'bytes=50-60' }))).toEqual({
        code: 'InvalidRange',
        status: 416,
      });
    });
  });

  it('returns GetObjectAttributes: ETag without quotes, size and storage class', async () => {
    await put('attributes', 'twelve bytes');
    const attributes = await target.s3.send(
      new GetObjectAttributesCommand({
        Bucket: bucket,
        Key: 'attributes',
        ObjectAttributes: ['ETag', 'ObjectSize', 'StorageClass'],
      }),
    );
    expect(attributes.ETag).toBe(createHash('md5').update('twelve bytes').digest('hex'));
    expect(attributes.ObjectSize).toBe(12);
    expect(attributes.StorageClass).toBe('STANDARD');
  });

  it('stores a canned ACL given on PutObject and returns it as grants (not enforced locally)', async () => {
    await put('acl/public', 'x', { ACL: 'public-read' });
    const acl = await target.s3.send(new GetObjectAclCommand({ Bucket: bucket, Key: 'acl/public' }));
    const permissions = (acl.Grants ?? []).map(
      (grant) => `${grant.Grantee?.URI ?? grant.Grantee?.Type}:${grant.Permission}`,
    );
    expect(permissions).toContain('http://acs.amazonaws.com/groups/global/AllUsers:READ');
    expect(acl.Owner?.ID).toBeTruthy();
  });

  it('stores and returns object tags', async () => {
    await put('tagged', 'x');
    await target.s3.send(
      new PutObjectTaggingCommand({
        Bucket: bucket,
        Key: 'tagged',
        Tagging: { TagSet: [{ Key: 'team', Value: 'data' }] },
      }),
    );
    const tags = await target.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tagged' }));
    expect(tags.TagSet).toEqual([{ Key: 'team', Value: 'data' }]);
  });
});
