import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sourceFileId } from '#shared/core/ingest';
import { keys } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import { LEGACY_HEADER as HEADER, legacyRow as row } from '../support/cloudfront-logs';
import { duckQuery } from '../support/duckdb';
import { localS3, silentLog } from '../support/s3';

const BUCKET = 'data';
const CONFORMANCE = join(__dirname, '..', 'fixtures', 'conformance');

describe('transform (real local S3, Parquet read back by DuckDB)', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;
  const work = mkdtempSync(join(tmpdir(), 'etl-transform-'));

  beforeAll(async () => {
    s3 = await localS3([BUCKET]);
  });
  afterAll(() => s3.stop());

  async function run(name: string, body: Buffer | string) {
    const key = `raw/${name}`;
    await s3.store.put(BUCKET, key, typeof body === 'string' ? Buffer.from(body) : body);
    const fileId = sourceFileId(key);
    const result = await transformFile(
      { runId: 'run-1', file: { fileId, key, sourceKey: name, size: body.length } },
      { dataBucket: BUCKET, rowGroupRows: 3 },
      cloudfront,
      s3.store,
      silentLog,
    );
    return { result, fileId };
  }

  async function curatedRows(hour: string, fileId: string) {
    const local = join(work, `${fileId}-${hour}.parquet`);
    const stream = await s3.store.getStream(BUCKET, keys.curated(hour, fileId));
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    writeFileSync(local, Buffer.concat(chunks));
    return duckQuery(`SELECT * FROM read_parquet('${local}') ORDER BY request_time`);
  }

  it.each([
    ['elastic-test-cloudfront.log', 11, 1],
    ['claygregory-web-1-0-2019-12.txt', 3, 0],
    ['claygregory-web-1-0.txt', 2, 0],
  ])(
    'reads conformance file %s plain and gzipped: %i accepted, %i quarantined',
    async (name, accepted, bad) => {
      const text = readFileSync(join(CONFORMANCE, name));
      for (const [suffix, body] of [
        ['', text],
        ['.gz', gzipSync(text)],
      ] as const) {
        const { result } = await run(`${name}${suffix}`, body);
        expect(result.status).toBe('transformed');
        expect(result.rows).toEqual({ read: accepted + bad, accepted, quarantined: bad });
      }
    },
  );

  it('stores decoded values, lists and nulls as the field rules say', async () => {
    const { result, fileId } = await run(
      'elastic-rules.log',
      readFileSync(join(CONFORMANCE, 'elastic-test-cloudfront.log')),
    );
    const rows = (await Promise.all(result.hours.map((hour) => curatedRows(hour, fileId)))).flat();
    expect(rows).toHaveLength(11);
    const forwarded = rows.map((r) => r.forwarded_for).filter((value) => value !== null);
    expect(forwarded).toContainEqual(['81.2.69.142', '216.160.83.56']);
    expect(forwarded).toContainEqual(['localhost:8080']);
    expect(rows.some((r) => r.client_ip === '2a02:cf40:add:4002:91f2:a9b2:e09a:6fc6')).toBe(true);
    expect(rows.some((r) => r.sc_status === 0)).toBe(true);
    expect(rows.every((r) => typeof r.cs_user_agent !== 'string' || !r.cs_user_agent.includes('%20'))).toBe(
      true,
    );
  });

  it('keeps double encoding recognisable and fills columns older files lack with null', async () => {
    const { result, fileId } = await run(
      'clay-old.txt',
      readFileSync(join(CONFORMANCE, 'claygregory-web-1-0.txt')),
    );
    const rows = await curatedRows(result.hours[0]!, fileId);
    expect(rows[0]!.cs_user_agent).toMatch(/^Mozilla\/5\.0%20\(iPhone;%20CPU/);
    expect(rows[0]!.time_to_first_byte).toBeNull();
    expect(rows[0]!.client_port).toBeNull();
    expect(rows[0]!.request_time).toBe('2014-05-23 01:13:11');
  });

  it('routes rows to the hour of their own timestamp (one file, several hours), CRLF and no final newline', async () => {
    const lines = [
      row('2024-07-13', '00:59:59'),
      row('2024-07-13', '01:00:00'),
      row('2024-07-13', '01:30:00'),
      row('2024-07-13', '03:00:01'),
    ];
    const { result, fileId } = await run(
      'E1.2024-07-13-00.multi.gz',
      gzipSync(HEADER.replaceAll('\n', '\r\n') + lines.join('\r\n')),
    );
    expect(result.hours).toEqual(['2024-07-13T00', '2024-07-13T01', '2024-07-13T03']);
    expect(result.rows.accepted).toBe(4);
    expect(await curatedRows('2024-07-13T01', fileId)).toHaveLength(2);
    expect((await curatedRows('2024-07-13T00', fileId))[0]!.cs_uri_stem).toBe('/a b');
  });

  it('reads multi-member gzip to the end', async () => {
    const first = gzipSync(`${HEADER}${row('2024-07-13', '05:00:00')}\n`);
    const second = gzipSync(`${row('2024-07-13', '05:00:01')}\n${row('2024-07-13', '05:00:02')}\n`);
    const { result } = await run('members.gz', Buffer.concat([first, second]));
    expect(result.rows.accepted).toBe(3);
  });

  it('quarantines bad rows with line number and reason, and keeps invalid UTF-8 bytes as %XX', async () => {
    const [before, after] = row('2024-07-13', '06:00:00', { 10: 'agent-@' }).split('@');
    const utf8Broken = Buffer.concat([
      Buffer.from(`${HEADER}${before}`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(
        `${after}\n${row('2024-07-13', '06:00:01', { 3: 'many' })}\n${row('2024-02-30', '06:00:02')}\n${row('2024-07-13', '25:00:00')}\nshort\tline\n`,
      ),
    ]);
    const { result, fileId } = await run('bad-rows.log', utf8Broken);
    expect(result.rows).toEqual({ read: 5, accepted: 1, quarantined: 4 });
    const rows = await curatedRows('2024-07-13T06', fileId);
    expect(rows[0]!.cs_user_agent).toBe('agent-%FF%FE');
    const text = await (await s3.store.getStream(BUCKET, keys.quarantinedRows(fileId))).toArray();
    const records = Buffer.concat(text)
      .toString()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((record) => [record.line, record.reason])).toEqual([
      [4, "sc-bytes: not a valid bigint: 'many'"],
      [5, "unparseable date/time '2024-02-30 06:00:02'"],
      [6, "unparseable date/time '2024-07-13 25:00:00'"],
      [7, 'field count 2 ≠ 33 in #Fields'],
    ]);
  });

  it('quarantines a truncated gzip file whole and publishes none of its rows', async () => {
    const lines = Array.from({ length: 200 }, (_, index) =>
      row('2024-07-13', `07:${String(index % 60).padStart(2, '0')}:00`),
    );
    const gz = gzipSync(HEADER + lines.join('\n'));
    const { result, fileId } = await run('truncated.gz', gz.subarray(0, Math.floor(gz.length * 0.6)));
    expect(result.status).toBe('quarantined');
    expect(result.reason).toMatch(/unexpected end of file/);
    expect(await s3.store.head(BUCKET, keys.curated('2024-07-13T07', fileId))).toBeUndefined();
    expect(await s3.store.head(BUCKET, keys.quarantinedFile(fileId))).toBeDefined();
  });

  it('quarantines a file whose #Fields lacks date or time', async () => {
    const { result } = await run('no-time.log', '#Fields: date x-edge-location\n2024-07-13\tFRA2\n');
    expect(result.status).toBe('quarantined');
    expect(result.reason).toBe('line 1: #Fields lacks time');
  });

  it('replaces its outputs on a re-run instead of duplicating them', async () => {
    const body = `${HEADER}${row('2024-07-13', '08:00:00')}\n${row('2024-07-13', '08:00:01')}\n`;
    await run('rerun.log', body);
    const { result, fileId } = await run('rerun.log', body);
    expect(result.rows.accepted).toBe(2);
    expect(await curatedRows('2024-07-13T08', fileId)).toHaveLength(2);
  });
});
