import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { type ConformanceTarget, conformanceTarget, s3Failure } from './target';

const MIB = 1024 * 1024;

describe('S3 conformance: multipart uploads', () => {
  let target: ConformanceTarget;
  let bucket: string;

  beforeAll(async () => {
    target = await conformanceTarget();
    bucket = await target.bucket('multipart');
  });
  afterAll(() => target.stop());

  const create = async (Key: string) => {
    const upload = await target.s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType: 'text/x-test' }),
    );
    return upload.UploadId!;
  };
  const part = async (Key: string, UploadId: string, PartNumber: number, Body: Buffer) => {
    const uploaded = await target.s3.send(
      new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber, Body }),
    );
    return { PartNumber, ETag: uploaded.ETag! };
  };
  const complete = (Key: string, UploadId: string, Parts: { PartNumber: number; ETag: string }[]) =>
    target.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId, MultipartUpload: { Parts } }),
    );
  const bytes = (size: number, fill: number) => Buffer.alloc(size, fill);

  it('completes an upload: the object is the parts joined, its ETag the MD5 of the part MD5s with -N', async () => {
    const uploadId = await create('mp/joined');
    const first = bytes(5 * MIB, 1);
    const second = bytes(1234, 2);
    const parts = [await part('mp/joined', uploadId, 1, first), await part('mp/joined', uploadId, 2, second)];
    const done = await complete('mp/joined', uploadId, parts);
    const expected = createHash('md5')
      .update(
        Buffer.concat([createHash('md5').update(first).digest(), createHash('md5').update(second).digest()]),
      )
      .digest('hex');
    expect(done.ETag).toBe(`"${expected}-2"`);
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp/joined' }));
    expect(object.ContentType).toBe('text/x-test');
    expect(
      Buffer.from(await object.Body!.transformToByteArray()).equals(Buffer.concat([first, second])),
    ).toBe(true);
    const attributes = await target.s3.send(
      new GetObjectAttributesCommand({
        Bucket: bucket,
        Key: 'mp/joined',
        ObjectAttributes: ['ObjectParts', 'ObjectSize'],
      }),
    );
    expect(attributes.ObjectSize).toBe(first.length + second.length);
    expect(attributes.ObjectParts?.TotalPartsCount).toBe(2);
  });

  it('lists uploads in progress and their parts, and aborts an upload (204, then NoSuchUpload)', async () => {
    const uploadId = await create('mp/listed');
    await part('mp/listed', uploadId, 1, bytes(100, 3));
    await part('mp/listed', uploadId, 3, bytes(200, 4));
    const uploads = await target.s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'mp/listed' }),
    );
    expect((uploads.Uploads ?? []).map((upload) => [upload.Key, upload.UploadId])).toEqual([
      ['mp/listed', uploadId],
    ]);
    const parts = await target.s3.send(
      new ListPartsCommand({ Bucket: bucket, Key: 'mp/listed', UploadId: uploadId }),
    );
    expect((parts.Parts ?? []).map((entry) => [entry.PartNumber, entry.Size])).toEqual([
      [1, 100],
      [3, 200],
    ]);
    const aborted = await target.s3.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp/listed', UploadId: uploadId }),
    );
    expect(aborted.$metadata.httpStatusCode).toBe(204);
    expect(
      await s3Failure(
        target.s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp/listed', UploadId: uploadId })),
      ),
    ).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  it('refuses to complete with a part never uploaded (InvalidPart)', async () => {
    const uploadId = await create('mp/missing-part');
    const first = await part('mp/missing-part', uploadId, 1, bytes(5 * MIB, 5));
    expect(
      await s3Failure(complete('mp/missing-part', uploadId, [first, { PartNumber: 9999, ETag: first.ETag }])),
    ).toEqual({ code: 'InvalidPart', status: 400 });
  });

  it('refuses to complete with a wrong part ETag (InvalidPart)', async () => {
    const uploadId = await create('mp/wrong-etag');
    await part('mp/wrong-etag', uploadId, 1, bytes(10, 6));
    expect(
      await s3Failure(
        complete('mp/wrong-etag', uploadId, [{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]),
      ),
    ).toEqual({ code: 'InvalidPart', status: 400 });
  });

  it('refuses a non-last part under 5 MiB (EntityTooSmall)', async () => {
    const uploadId = await create('mp/small');
    const parts = [
      await part('mp/small', uploadId, 1, bytes(1000, 7)),
      await part('mp/small', uploadId, 2, bytes(10, 8)),
    ];
    expect(await s3Failure(complete('mp/small', uploadId, parts))).toEqual({
      code: 'EntityTooSmall',
      status: 400,
    });
  });

  it('refuses parts out of order (InvalidPartOrder)', async () => {
    const uploadId = await create('mp/order');
    const parts = [
      await part('mp/order', uploadId, 1, bytes(5 * MIB, 9)),
      await part('mp/order', uploadId, 2, bytes(5 * MIB, 10)),
    ];
    expect(await s3Failure(complete('mp/order', uploadId, [parts[1]!, parts[0]!]))).toEqual({
      code: 'InvalidPartOrder',
      status: 400,
    });
  });

  it('answers NoSuchUpload to a part or a completion under an unknown upload id', async () => {
    expect(
      await s3Failure(
        target.s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: 'mp/unknown',
            UploadId: 'no-such-upload',
            PartNumber: 1,
            Body: 'x',
          }),
        ),
      ),
    ).toEqual({ code: 'NoSuchUpload', status: 404 });
    expect(
      await s3Failure(complete('mp/unknown', 'no-such-upload', [{ PartNumber: 1, ETag: '"x"' }])),
    ).toEqual({
      code: 'NoSuchUpload',
      status: 404,
    });
    expect(
      await s3Failure(
        target.s3.send(
          new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp/unknown', UploadId: 'no-such-upload' }),
        ),
      ),
    ).toEqual({ code: 'NoSuchUpload', status: 404 });
  });

  it('copies a byte range of an object into a part (UploadPartCopy)', async () => {
    await target.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mp/copy-source', Body: 'abcdefghij' }));
    const uploadId = await create('mp/copied');
    const copied = await target.s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'mp/copied',
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${bucket}/mp/copy-source`,
        CopySourceRange: 'bytes=2-5',
      }),
    );
    await complete('mp/copied', uploadId, [{ PartNumber: 1, ETag: copied.CopyPartResult!.ETag! }]);
    const object = await target.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'mp/copied' }));
    expect(await object.Body!.transformToString()).toBe('cdef');
  });
});
