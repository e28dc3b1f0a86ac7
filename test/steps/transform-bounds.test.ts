import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sourceFileId } from '#shared/core/ingest';
import { keys } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import type { OutputLimits } from '#shared/steps/transform-outputs';
import { duckQuery } from '../support/duckdb';
import { silentLog } from '../support/s3';
import { BUCKET, transformHarness } from '../support/transform-harness';

const HEADER = '#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-uri-stem sc-status\n';

/** A row of hour `hour` (0–23) of 2024-07-13, its sc-bytes = `bytes`. */
const row = (hour: number, second: number, bytes: number) =>
  [
    '2024-07-13',
    `${String(hour).padStart(2, '0')}:00:${String(second % 60).padStart(2, '0')}`,
    'FRA2',
    String(bytes),
    '192.0.2.1',
    `/p${bytes}`,
    '200',
  ].join('\t');

describe('transform with bounded outputs (many hours, a memory budget that forces spills)', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  const work = mkdtempSync(join(tmpdir(), 'etl-bounds-'));
  // This suite's own spool root: other suites' transforms (run in parallel) spool in the OS temp folder.
  const spoolRoot = mkdtempSync(join(tmpdir(), 'etl-bounds-spool-'));
  const spoolFolders = () => readdirSync(spoolRoot);
  const tight: Partial<OutputLimits> = {
    rowGroupRows: 4,
    rowGroupBytes: 1 << 20,
    // Smaller than two hours' builders: nearly every hour change spills the largest to disk.
    bufferBytes: 64 * 1024,
  };

  beforeAll(async () => {
    harness = await transformHarness();
  });
  afterAll(() => harness.stop());

  async function run(name: string, body: Buffer) {
    const key = `raw/${name}`;
    await harness.s3.store.put(BUCKET, key, body);
    const fileId = sourceFileId(key);
    const result = await transformFile(
      { runId: 'bounds', file: { fileId, key, sourceKey: name, size: body.length } },
      { dataBucket: BUCKET, limits: tight, spoolDirectory: spoolRoot },
      cloudfront,
      harness.s3.store,
      silentLog,
    );
    return { result, fileId };
  }

  it('writes every row of rows interleaved over 12 hours, each hour to its own file, and leaves no spool', async () => {
    // Rows cycle through the hours, so every row switches hours: the worst case for the builder cap.
    const lines = Array.from({ length: 240 }, (_, index) => row(index % 12, index, index + 1));
    const { result, fileId } = await run('interleaved.log', gzipSync(HEADER + lines.join('\n')));
    expect(result.status).toBe('transformed');
    expect(result.rows).toEqual({ read: 240, accepted: 240, quarantined: 0 });
    expect(result.hours).toHaveLength(12);
    // One object per hour, however often the rows switched hours: no segments beside it.
    const objects: string[] = [];
    for (const hour of result.hours) {
      const prefix = keys.curated(hour, fileId).replace(/[^/]+$/, '');
      for await (const object of harness.s3.store.list(BUCKET, prefix)) objects.push(object.key);
    }
    expect(objects.sort()).toEqual(result.hours.map((hour) => keys.curated(hour, fileId)).sort());
    const paths = await Promise.all(
      objects.map(async (key, index) => {
        const path = join(work, `${index}.parquet`);
        const body = await (await harness.s3.store.getStream(BUCKET, key)).toArray();
        writeFileSync(path, Buffer.concat(body));
        return `'${path}'`;
      }),
    );
    const perHour = await duckQuery(
      `SELECT strftime(request_time, '%Y-%m-%dT%H') AS hour, count(*) AS n, sum(sc_bytes) AS bytes
       FROM read_parquet([${paths.join(', ')}]) GROUP BY 1 ORDER BY 1`,
    );
    expect(perHour.map((r) => r.hour)).toEqual(result.hours);
    expect(perHour.every((r) => Number(r.n) === 20)).toBe(true);
    expect(perHour.reduce((sum, r) => sum + Number(r.bytes), 0)).toBe((240 * 241) / 2);
    expect(spoolFolders()).toEqual([]);
  });

  it('publishes none of the hours of a file that is cut short', async () => {
    const lines = Array.from({ length: 3000 }, (_, index) => row(Math.floor(index / 250), index, index));
    const gz = gzipSync(HEADER + lines.join('\n'));
    const { result, fileId } = await run('cut-many-hours.gz', gz.subarray(0, Math.floor(gz.length * 0.9)));
    expect(result.status).toBe('quarantined');
    for (let hour = 0; hour < 12; hour++) {
      const key = keys.curated(`2024-07-13T${String(hour).padStart(2, '0')}`, fileId);
      expect(await harness.s3.store.head(BUCKET, key)).toBeUndefined();
    }
    expect(await harness.s3.store.head(BUCKET, keys.quarantinedRows(fileId))).toBeUndefined();
    expect(spoolFolders()).toEqual([]);
  });

  it('streams quarantined rows: every line accepted or quarantined, with its reason, and counted', async () => {
    const lines: string[] = [];
    for (let index = 0; index < 5000; index++) {
      if (index % 3 === 0) lines.push(row(1, index, index));
      else if (index % 3 === 1) lines.push(`bad\trow\t${index}`);
      else lines.push(row(1, index, index).replace('2024-07-13', '2007-06-01'));
    }
    const harnessRun = await harness.run('many-bad.log', HEADER + lines.join('\n'));
    expect(harnessRun.result.rows).toEqual({ read: 5000, accepted: 1667, quarantined: 3333 });
    const records = await harnessRun.quarantine();
    expect(records).toHaveLength(3333);
    expect(records[0]).toMatchObject({
      line: 4,
      reason: 'field count 3 ≠ 7 in #Fields',
      text: 'bad\trow\t1',
    });
    expect(records[1]).toMatchObject({
      line: 5,
      reason: /^timestamp 2007-06-01T00:00:02.000Z is before 2008-01-01/,
    });
  });
});
