import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type ConformanceTarget, conformanceTarget, s3Failure } from './target';

const HOUR = 3_600_000;

describe('S3 conformance: conditional requests', () => {
  let target: ConformanceTarget;
  let bucket: string;
  let etag: string;
  let lastModified: Date;

  beforeAll(async () => {
    target = await conformanceTarget();
    bucket = await target.bucket('conditions');
    const written = await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'object', Body: 'v1' }));
    etag = written.ETag!;
    const head = await target.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'object' }));
    lastModified = head.LastModified!;
  });
  afterAll(() => target.stop());

  const get = (extra: Partial<GetObjectCommand['input']>) =>
    target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'object', ...extra }));
  const head = (extra: Partial<HeadObjectCommand['input']>) =>
    target.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'object', ...extra }));
  const past = () => new Date(lastModified.getTime() - HOUR);
  const future = () => new Date(lastModified.getTime() + HOUR);

  it('GET with a matching If-Match answers 200, a non-matching one 412 PreconditionFailed', async () => {
    expect((await get({ IfMatch: etag })).$metadata.httpStatusCode).toBe(200);
    expect(await s3Failure(get({ IfMatch: '"0000"' }))).toEqual({ code: 'PreconditionFailed', status: 412 });
  });

  it('GET with a matching If-None-Match answers 304, a different one 200', async () => {
    expect((await s3Failure(get({ IfNoneMatch: etag }))).status).toBe(304);
    expect((await get({ IfNoneMatch: '"0000"' })).$metadata.httpStatusCode).toBe(200);
  });

  it('GET with If-Modified-Since after the change answers 304, before it 200', async () => {
    expect((await s3Failure(get({ IfModifiedSince: future() }))).status).toBe(304);
    expect((await get({ IfModifiedSince: past() })).$metadata.httpStatusCode).toBe(200);
  });

  it('GET with If-Unmodified-Since before the change answers 412, after it 200', async () => {
    expect(await s3Failure(get({ IfUnmodifiedSince: past() }))).toEqual({
      code: 'PreconditionFailed',
      status: 412,
    });
    expect((await get({ IfUnmodifiedSince: future() })).$metadata.httpStatusCode).toBe(200);
  });

  it('If-Match that holds wins over a failing If-Unmodified-Since (200)', async () => {
    expect((await get({ IfMatch: etag, IfUnmodifiedSince: past() })).$metadata.httpStatusCode).toBe(200);
  });

  it('a failing If-None-Match with a true If-Modified-Since answers 304', async () => {
    expect((await s3Failure(get({ IfNoneMatch: etag, IfModifiedSince: past() }))).status).toBe(304);
  });

  it('HEAD answers 412 and 304 like GET', async () => {
    expect((await s3Failure(head({ IfMatch: '"0000"' }))).status).toBe(412);
    expect((await s3Failure(head({ IfNoneMatch: etag }))).status).toBe(304);
    expect((await head({ IfMatch: etag })).$metadata.httpStatusCode).toBe(200);
  });

  it('PutObject with If-None-Match: * creates a new key and refuses an existing one (412)', async () => {
    const created = await target.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'create-only', Body: 'first', IfNoneMatch: '*' }),
    );
    expect(created.$metadata.httpStatusCode).toBe(200);
    expect(
      await s3Failure(
        target.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: 'create-only', Body: 'second', IfNoneMatch: '*' }),
        ),
      ),
    ).toEqual({ code: 'PreconditionFailed', status: 412 });
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'create-only' }));
    expect(await object.Body!.transformToString()).toBe('first');
  });

  it('PutObject with If-Match overwrites only the version it names (412 otherwise)', async () => {
    const first = await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'swap', Body: 'a' }));
    expect(
      await s3Failure(
        target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'swap', Body: 'b', IfMatch: '"0000"' })),
      ),
    ).toEqual({ code: 'PreconditionFailed', status: 412 });
    const second = await target.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'swap', Body: 'c', IfMatch: first.ETag }),
    );
    expect(second.$metadata.httpStatusCode).toBe(200);
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'swap' }));
    expect(await object.Body!.transformToString()).toBe('c');
  });
});
