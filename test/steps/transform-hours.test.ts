import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateLogLines, withHour } from '#local/sample/index';
import { mulberry32 } from '#local/sample/random';
import { sourceFileId } from '#shared/core/ingest';
import { keys } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import { DEFAULT_LINE_BATCH_LIMITS, type LineBatchLimits } from '#shared/steps/transform-lines';
import type { OutputLimits } from '#shared/steps/transform-outputs';
import { duckQuery } from '../support/duckdb';
import { silentLog } from '../support/s3';
import { BUCKET, transformHarness } from '../support/transform-harness';

/** 33-field CloudFront rows from the sample generator: two header lines, then `rows` rows. */
function generated(rows: number): { header: string[]; rows: string[] } {
  const lines = [
    ...generateLogLines({ seed: 7, start: new Date('2024-07-13T10:00:00Z'), rows, rowsPerSecond: 50 }),
  ];
  return { header: lines.slice(0, 2), rows: lines.slice(2) };
}

const REQUEST_ID = 14; // x-edge-request-id: unique per row

/** Row groups of 100 rows; memory so small that interleaved hours spill all the time. */
const TIGHT: Partial<OutputLimits> = {
  rowGroupRows: 100,
  bufferBytes: 64 * 1024,
  aloneRows: 50,
  streamBatchBytes: 16 * 1024,
};

describe('transform: one curated file per (raw file, hour), whatever the row order', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  const work = mkdtempSync(join(tmpdir(), 'etl-hours-'));
  const sample = generated(2_400);

  beforeAll(async () => {
    harness = await transformHarness();
  });
  afterAll(async () => {
    await harness.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /** Small line batches: interleaved hours still reach the outputs interleaved, a few rows at a time. */
  const SMALL_BATCHES: LineBatchLimits = { lines: 16, bytes: 16 * 1024, batches: 2 };

  async function transform(
    name: string,
    lines: string[],
    limits: Partial<OutputLimits>,
    lineBatches: LineBatchLimits = SMALL_BATCHES,
  ) {
    const key = `raw/${name}`;
    const body = gzipSync(`${[...sample.header, ...lines].join('\n')}\n`);
    await harness.s3.store.put(BUCKET, key, body);
    const fileId = sourceFileId(key);
    // The transform's own account of what its bounds made it do ('file done' line).
    let done: Record<string, unknown> = {};
    const log = {
      ...silentLog,
      info(message: string, fields?: Record<string, unknown>) {
        if (message === 'transform: file done') done = fields ?? {};
      },
    };
    const result = await transformFile(
      { runId: 'hours', file: { fileId, key, sourceKey: name, size: body.length } },
      { dataBucket: BUCKET, limits, lineBatches },
      cloudfront,
      harness.s3.store,
      log,
    );
    // Where the time went, for operators: reading, the row groups left at the end, the uploads.
    if (result.status === 'transformed')
      for (const phase of ['readMs', 'sealMs', 'publishMs']) expect(done[phase]).toBeGreaterThanOrEqual(0);
    return {
      result,
      fileId,
      spills: Number(done.spills ?? 0),
      spilledBytes: Number(done.spilledBytes ?? 0),
      builders: Number(done.builders ?? 0),
      buildersHeld: Number(done.buildersHeld ?? 0),
    };
  }

  /** Every curated object of the file, downloaded: key → local path. */
  async function curatedFiles(fileId: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for await (const object of harness.s3.store.list(BUCKET, 'curated/')) {
      if (!object.key.includes(fileId)) continue;
      const path = join(work, `${files.size}-${fileId}.parquet`);
      const body = await (await harness.s3.store.getStream(BUCKET, object.key)).toArray();
      writeFileSync(path, Buffer.concat(body));
      files.set(object.key, path);
    }
    return files;
  }

  /** Request ids of the rows of each hour, in file order, as the input lines hold them. */
  function expectedByHour(lines: string[]): Map<string, string[]> {
    const byHour = new Map<string, string[]>();
    for (const line of lines) {
      const fields = line.split('\t');
      const hour = `${fields[0]}T${fields[1]!.slice(0, 2)}`;
      byHour.set(hour, [...(byHour.get(hour) ?? []), fields[REQUEST_ID]!]);
    }
    return byHour;
  }

  /** The rows as they are (hour `i % hours`, over as many days as it takes). */
  const interleaved = (hours: number) =>
    sample.rows.map((line, index) => {
      const slot = index % hours;
      return withHour(line, `2024-07-${String(13 + Math.floor(slot / 24)).padStart(2, '0')}`, slot % 24);
    });

  /** Each hour in a run of `block` consecutive rows, cycling through `hours` hours. */
  const blocks = (hours: number, block: number) =>
    sample.rows.map((line, index) => withHour(line, '2024-07-13', Math.floor(index / block) % hours));

  it.each([
    ['3 hours interleaved', interleaved(3), 'spills'],
    ['5 hours interleaved', interleaved(5), 'spills'],
    ['48 hours interleaved', interleaved(48), 'spills'],
    ['48 hours interleaved, line batches as deployed', interleaved(48), 'batched'],
    ['3 hours in blocks of 250 rows, each hour coming back', blocks(3, 250), 'streams'],
    ['2 hours sorted', blocks(2, 1_200), 'streams'],
    [
      '4 hours sorted, then again (two sources merged), more hours than open row groups',
      blocks(4, 300),
      'both',
    ],
  ])(
    '%s: one object per hour, its rows exactly and in order, every row group full but the last',
    async (name, lines, path) => {
      const { result, fileId, spills, spilledBytes } = await transform(
        `${name.replaceAll(/[ ,]+/g, '-')}.gz`,
        lines,
        TIGHT,
        path === 'batched' ? DEFAULT_LINE_BATCH_LIMITS : SMALL_BATCHES,
      );
      // Interleaved rows wait in builders and spill; an hour alone is encoded as its rows come.
      // The log says how much went through the temp disk: a spill is a builder's rows, as they are.
      if (path === 'spills') expect(spilledBytes).toBeGreaterThan(spills * 64);
      if (path === 'spills') expect(spills).toBeGreaterThan(0);
      else if (path !== 'batched') expect(spills).toBe(0);
      if (spills === 0) expect(spilledBytes).toBe(0);
      const expected = expectedByHour(lines);
      expect(result.status).toBe('transformed');
      expect(result.rows).toEqual({ read: lines.length, accepted: lines.length, quarantined: 0 });
      expect(result.hours).toEqual([...expected.keys()].sort());

      const files = await curatedFiles(fileId);
      expect([...files.keys()].sort()).toEqual(result.hours.map((hour) => keys.curated(hour, fileId)).sort());
      for (const hour of result.hours) {
        const path = files.get(keys.curated(hour, fileId))!;
        const rows = await duckQuery(
          `SELECT edge_request_id, strftime(request_time, '%Y-%m-%dT%H') AS hour FROM read_parquet('${path}')`,
        );
        expect(rows.every((row) => row.hour === hour)).toBe(true);
        expect(rows.map((row) => row.edge_request_id)).toEqual(expected.get(hour));
        const groups = await duckQuery(
          `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${path}') ORDER BY 1`,
        );
        const sizes = groups.map((group) => Number(group.row_group_num_rows));
        expect(sizes.slice(0, -1).every((size) => size === 100)).toBe(true);
        expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(expected.get(hour)!.length);
      }
    },
  );

  it('leaves the same curated data with the memory to hold every hour as with none to spare', async () => {
    const lines = interleaved(5);
    const roomy = await transform('roomy.gz', lines, { rowGroupRows: 100 });
    const tight = await transform('tight.gz', lines, TIGHT);
    const read = async (fileId: string) =>
      duckQuery(
        `SELECT * EXCLUDE (source_file) FROM read_parquet([${[...(await curatedFiles(fileId)).values()]
          .map((path) => `'${path}'`)
          .join(', ')}]) ORDER BY edge_request_id`,
      );
    expect(await read(tight.fileId)).toEqual(await read(roomy.fileId));
  });

  it('keeps one builder per interleaved hour across spills, and lets go those of hours that ended', async () => {
    // Interleaved hours spill again and again, each into the builder it already has (one made
    // again would grow by doubling, copying its rows each time).
    const spilling = { rowGroupRows: 1_000, bufferBytes: 128 * 1024, aloneRows: 50 };
    const interleavedRun = await transform('builders-interleaved.gz', interleaved(5), spilling);
    expect(interleavedRun.spills).toBeGreaterThan(5);
    expect(interleavedRun.builders).toBe(5);
    // Sorted hours past the open row groups go through builders; once an hour has had no row for a
    // row group's worth of rows, its empty builder is let go, and an hour that comes back gets a
    // new one.
    const sortedRun = await transform('builders-sorted.gz', blocks(4, 300), {
      rowGroupRows: 100,
      bufferBytes: 4 * 1024 * 1024,
      aloneRows: 50,
      openRowGroups: 0,
    });
    expect(sortedRun.result.hours).toHaveLength(4);
    // 4 hours each coming back once: without letting go, 4 builders; letting go, up to 8 (whether a
    // builder is empty when its hour ends depends on where its last row group ended).
    expect(sortedRun.builders).toBeGreaterThan(5);
  });

  it('holds a bounded number of builders for a file of hundreds of hours in random order, one object per hour', async () => {
    // 2,400 rows over 300 hours (12.5 days), a few rows each, in random order: more hours than the
    // builders' room holds (each builder costs its objects and first buffers even with one row), so
    // the hour rows went to least recently is spilled and its builder let go.
    const random = mulberry32(300);
    const lines = sample.rows.map((line) => {
      const slot = Math.floor(random() * 300);
      const day = new Date(Date.UTC(2024, 6, 1) + Math.floor(slot / 24) * 86_400_000)
        .toISOString()
        .slice(0, 10);
      return withHour(line, day, slot % 24);
    });
    const { result, fileId, buildersHeld } = await transform('many-hours.gz', lines, TIGHT);
    const expected = expectedByHour(lines);
    expect(result.status).toBe('transformed');
    expect(result.hours).toEqual([...expected.keys()].sort());
    expect(result.hours.length).toBeGreaterThan(250);
    expect(buildersHeld).toBeGreaterThan(1);
    expect(buildersHeld).toBeLessThan(40);

    const files = await curatedFiles(fileId);
    expect([...files.keys()].sort()).toEqual(result.hours.map((hour) => keys.curated(hour, fileId)).sort());
    const rows = await duckQuery(
      `SELECT filename, edge_request_id, strftime(request_time, '%Y-%m-%dT%H') AS hour
       FROM read_parquet([${[...files.values()].map((path) => `'${path}'`).join(', ')}], filename = true)`,
    );
    const byFile = new Map<string, { ids: string[]; hours: Set<string> }>();
    for (const row of rows) {
      const file = byFile.get(String(row.filename)) ?? { ids: [], hours: new Set<string>() };
      file.ids.push(String(row.edge_request_id));
      file.hours.add(String(row.hour));
      byFile.set(String(row.filename), file);
    }
    for (const [key, path] of files) {
      const hour = result.hours.find((candidate) => keys.curated(candidate, fileId) === key)!;
      const file = byFile.get(path)!;
      expect([...file.hours]).toEqual([hour]);
      expect(file.ids).toEqual(expected.get(hour));
    }
  });

  it('deletes the curated file of an hour a changed raw file no longer has, and reports the hour', async () => {
    const three = blocks(3, 800);
    const first = await transform('changed.gz', three, TIGHT);
    expect(first.result.hours).toEqual(['2024-07-13T00', '2024-07-13T01', '2024-07-13T02']);
    expect(first.result.hoursRemoved).toBeUndefined();

    const withoutHourOne = three.filter((line) => !line.startsWith('2024-07-13\t01'));
    const second = await transform('changed.gz', withoutHourOne, TIGHT);
    expect(second.fileId).toBe(first.fileId);
    expect(second.result.hours).toEqual(['2024-07-13T00', '2024-07-13T02']);
    expect(second.result.hoursRemoved).toEqual(['2024-07-13T01']);
    expect([...(await curatedFiles(first.fileId)).keys()].sort()).toEqual(
      second.result.hours.map((hour) => keys.curated(hour, first.fileId)),
    );
    expect(await harness.s3.store.getJson(BUCKET, keys.curatedHours(first.fileId))).toEqual({
      fileId: first.fileId,
      hours: ['2024-07-13T00', '2024-07-13T02'],
    });

    // The same content again: nothing removed, nothing rewritten in the record.
    const again = await transform('changed.gz', withoutHourOne, TIGHT);
    expect(again.result.hoursRemoved).toBeUndefined();
  });

  it('deletes every curated file of a raw file that is now unreadable, so no stale row is aggregated', async () => {
    const lines = blocks(2, 500);
    const good = await transform('later-cut.gz', lines, TIGHT);
    expect(good.result.hours).toHaveLength(2);

    const key = 'raw/later-cut.gz';
    const gz = gzipSync(`${[...sample.header, ...lines].join('\n')}\n`);
    await harness.s3.store.put(BUCKET, key, gz.subarray(0, Math.floor(gz.length / 2)));
    const cut = await transformFile(
      { runId: 'hours', file: { fileId: good.fileId, key, sourceKey: 'later-cut.gz', size: gz.length / 2 } },
      { dataBucket: BUCKET, limits: TIGHT },
      cloudfront,
      harness.s3.store,
      silentLog,
    );
    expect(cut.status).toBe('quarantined');
    expect(cut.hoursRemoved).toEqual(good.result.hours);
    expect(await curatedFiles(good.fileId)).toEqual(new Map());
    expect(await harness.s3.store.head(BUCKET, keys.curatedHours(good.fileId))).toBeUndefined();
  });

  it('quarantines a file whose spool would overflow its share of the temp disk, naming the setting', async () => {
    // The deployed line batches: 48 hours' rows wait in them, so the reader is far ahead of the rows.
    const { result } = await transform(
      'too-big.gz',
      interleaved(48),
      { ...TIGHT, spoolBytes: 64 * 1024 },
      DEFAULT_LINE_BATCH_LIMITS,
    );
    expect(result.status).toBe('quarantined');
    expect(result.reason).toMatch(/more than 0 MB of temp disk .*ephemeralStorageSize/);
    // The line named is the row that overflowed it, not how far the reader had got.
    const line = Number(/^at line (\d+):/.exec(result.reason ?? '')?.[1]);
    expect(line).toBeGreaterThan(sample.header.length);
    expect(line).toBeLessThan(sample.header.length + 2_400);
  });

  it('removes the spool a transform killed halfway left on the temp disk, and says so', async () => {
    // What a timed-out Lambda leaves in /tmp for the next invocation in its environment: a spool
    // folder of a process that is gone (here, a child that has exited), half written.
    const spoolDirectory = mkdtempSync(join(work, 'spool-'));
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const left = join(spoolDirectory, `cf-etl-spool-${gone}-0badc0de-Xy12Zq`);
    mkdirSync(left);
    writeFileSync(join(left, 'rows.spill'), Buffer.alloc(256 * 1024));
    const key = 'raw/after-a-kill.gz';
    const body = gzipSync(`${[...sample.header, ...interleaved(3)].join('\n')}\n`);
    await harness.s3.store.put(BUCKET, key, body);
    const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
    const result = await transformFile(
      {
        runId: 'hours',
        file: { fileId: sourceFileId(key), key, sourceKey: 'after-a-kill.gz', size: body.length },
      },
      { dataBucket: BUCKET, limits: TIGHT, spoolDirectory },
      cloudfront,
      harness.s3.store,
      { ...silentLog, warn: (message, fields) => warnings.push([message, fields]) },
    );
    expect(result.status).toBe('transformed');
    expect(warnings).toEqual([
      [
        'transform: removed the spool folders of transforms killed halfway',
        { folders: [left], bytes: 256 * 1024 },
      ],
    ]);
    // Its own spool is gone too once it published.
    expect(readdirSync(spoolDirectory)).toEqual([]);
  });

  it('quarantines a raw file larger than maxRawFileBytes without reading it', async () => {
    const key = 'raw/huge.gz';
    await harness.s3.store.put(BUCKET, key, 'not read');
    const result = await transformFile(
      { runId: 'hours', file: { fileId: sourceFileId(key), key, sourceKey: 'huge.gz', size: 5_000 } },
      { dataBucket: BUCKET, maxRawFileBytes: 4_096 },
      cloudfront,
      harness.s3.store,
      silentLog,
    );
    expect(result.status).toBe('quarantined');
    expect(result.reason).toMatch(/5000 bytes, larger than maxRawFileBytes \(4096\)/);
  });
});
