import {
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { generatedKeys, utf8Sorted } from './keys';
import { type ConformanceTarget, conformanceTarget, s3Failure } from './target';

interface Listed {
  keys: string[];
  prefixes: string[];
  pages: number;
}

/** Every page of a V1 listing, following NextMarker (or the last key, as S3 documents for no delimiter). */
async function listV1(
  s3: S3Client,
  Bucket: string,
  Prefix: string,
  MaxKeys: number,
  Delimiter?: string,
): Promise<Listed> {
  const listed: Listed = { keys: [], prefixes: [], pages: 0 };
  let Marker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectsCommand({ Bucket, Prefix, MaxKeys, Delimiter, Marker }));
    listed.pages++;
    const keys = (page.Contents ?? []).map((object) => object.Key!);
    listed.keys.push(...keys);
    listed.prefixes.push(...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix!));
    if (!page.IsTruncated) return listed;
    Marker = page.NextMarker ?? keys[keys.length - 1];
    if (Marker === undefined) throw new Error('a truncated V1 page gave no marker');
    if (listed.pages > 100_000) throw new Error('the listing does not end');
  }
}

/** Every page of a V2 listing through the SDK's paginator. */
async function listV2(
  s3: S3Client,
  Bucket: string,
  Prefix: string,
  PageSize: number,
  Delimiter?: string,
): Promise<Listed> {
  const listed: Listed = { keys: [], prefixes: [], pages: 0 };
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: PageSize },
    { Bucket, Prefix, Delimiter },
  )) {
    listed.pages++;
    listed.keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    listed.prefixes.push(...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix!));
    expect(page.KeyCount).toBe((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
    if (listed.pages > 100_000) throw new Error('the listing does not end');
  }
  return listed;
}

/** What S3 must list for a prefix and delimiter, computed from the key set alone. */
function expectedListing(keys: string[], prefix: string, delimiter?: string) {
  const direct: string[] = [];
  const groups = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut === -1) direct.push(key);
    else groups.add(key.slice(0, cut + delimiter!.length));
  }
  return { keys: utf8Sorted(direct), prefixes: utf8Sorted(groups) };
}

async function putAll(s3: S3Client, Bucket: string, keys: string[]): Promise<void> {
  const queue = [...keys];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let key = queue.shift(); key !== undefined; key = queue.shift())
        await s3.send(new PutObjectCommand({ Bucket, Key: key, Body: key.length.toString() }));
    }),
  );
}

describe('S3 conformance: listings (order, paging, delimiters, encoding)', () => {
  let target: ConformanceTarget;
  let bucket: string;
  const mixed = generatedKeys(300, 1234, 'g/');
  const many = Array.from(
    { length: 2500 },
    (_, index) => `many/${String(index % 50).padStart(2, '0')}/${index}.gz`,
  );
  const order = ['o/_', 'o/_ ', 'o/a', 'o/a b', 'o/a-b', 'o/a/b', 'o/é', 'o/\uff01', 'o/\ue000', 'o/😀'];

  beforeAll(async () => {
    target = await conformanceTarget();
    bucket = await target.bucket('listing');
    await putAll(target.s3, bucket, [...mixed, ...many, ...order, 'top-level.txt']);
  }, 240_000);
  afterAll(() => target.stop(), 120_000);

  it('lists keys in UTF-8 binary order (space before -, / before letters, U+E000 before U+FF01 before emoji)', async () => {
    const page = await target.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'o/' }));
    const listed = (page.Contents ?? []).map((object) => object.Key);
    expect(listed).toEqual(utf8Sorted(order));
    expect(listed).toEqual([
      'o/_',
      'o/_ ',
      'o/a',
      'o/a b',
      'o/a-b',
      'o/a/b',
      'o/é',
      'o/\ue000',
      'o/\uff01',
      'o/😀',
    ]);
  });

  it('pages V1 with MaxKeys=1 and Marker through every key, none skipped or repeated', async () => {
    const listed = await listV1(target.s3, bucket, 'o/', 1);
    expect(listed.keys).toEqual(utf8Sorted(order));
    expect(listed.pages).toBe(order.length);
  });

  it('lists 2,500 keys through the V2 paginator in 3 pages of up to 1,000', async () => {
    const listed = await listV2(target.s3, bucket, 'many/', 1000);
    expect(listed.keys).toEqual(utf8Sorted(many));
    expect(listed.pages).toBe(3);
  });

  it('lists 2,500 keys with V1 paging (no delimiter: the last key is the next marker)', async () => {
    const listed = await listV1(target.s3, bucket, 'many/', 1000);
    expect(listed.keys).toEqual(utf8Sorted(many));
  });

  it('gives every common prefix of 2,500 keys once, paged 7 at a time with V1 and V2', async () => {
    const expected = expectedListing(many, 'many/', '/');
    expect(expected.prefixes).toHaveLength(50);
    for (const listed of [
      await listV1(target.s3, bucket, 'many/', 7, '/'),
      await listV2(target.s3, bucket, 'many/', 7, '/'),
    ]) {
      expect(listed.prefixes).toEqual(expected.prefixes);
      expect(listed.keys).toEqual([]);
    }
  });

  it('gives the top level of the bucket with a delimiter: the root keys and every first-level prefix', async () => {
    const page = await target.s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    expect((page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix)).toEqual(['g/', 'many/', 'o/']);
    expect((page.Contents ?? []).map((object) => object.Key)).toEqual(['top-level.txt']);
  });

  describe.each([1, 7, 1000])('300 generated keys of mixed lengths and characters, page size %i', (size) => {
    it.each([
      ['V1', undefined],
      ['V1', '/'],
      ['V2', undefined],
      ['V2', '/'],
    ] as const)('%s with delimiter %s lists exactly the sorted set', async (version, delimiter) => {
      const expected = expectedListing(mixed, 'g/', delimiter);
      const listed =
        version === 'V1'
          ? await listV1(target.s3, bucket, 'g/', size, delimiter)
          : await listV2(target.s3, bucket, 'g/', size, delimiter);
      expect(listed.keys).toEqual(expected.keys);
      expect(listed.prefixes).toEqual(expected.prefixes);
    });
  });

  it('starts after StartAfter (V2) and after Marker (V1)', async () => {
    const v2 = await target.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'o/', StartAfter: 'o/a-b' }),
    );
    expect((v2.Contents ?? []).map((object) => object.Key)).toEqual(utf8Sorted(order).slice(5));
    expect(v2.StartAfter).toBe('o/a-b');
    const v1 = await target.s3.send(
      new ListObjectsCommand({ Bucket: bucket, Prefix: 'o/', Marker: 'o/a-b' }),
    );
    expect((v1.Contents ?? []).map((object) => object.Key)).toEqual(utf8Sorted(order).slice(5));
  });

  it('answers MaxKeys=0 with no keys', async () => {
    const page = await target.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'o/', MaxKeys: 0 }));
    expect(page.Contents ?? []).toEqual([]);
    expect(page.KeyCount).toBe(0);
    expect(page.MaxKeys).toBe(0);
  });

  it('URL-encodes keys and prefixes with EncodingType=url', async () => {
    const page = await target.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'o/a', EncodingType: 'url', Delimiter: '/' }),
    );
    expect(page.EncodingType).toBe('url');
    const decode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    const keys = (page.Contents ?? []).map((object) => object.Key!);
    expect(keys.map(decode)).toEqual(['o/a', 'o/a b', 'o/a-b']);
    expect(keys).not.toContain('o/a b');
    expect((page.CommonPrefixes ?? []).map((prefix) => decode(prefix.Prefix!))).toEqual(['o/a/']);
  });

  it('refuses a continuation token it did not issue', async () => {
    expect(
      (
        await s3Failure(
          target.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'not-a-token' })),
        )
      ).status,
    ).toBe(400);
  });
});
