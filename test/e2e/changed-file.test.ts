import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createConnection } from 'mysql2/promise';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

const DAY = '2024-07-13';
const WINDOW = { from: `${DAY}T00`, to: `${DAY}T03` };

/** `count` rows of `host` in `hour` of DAY, interleaved with the other hours' rows by the caller. */
const rows = (hour: string, count: number, host: string) =>
  Array.from({ length: count }, (_, index) =>
    legacyRow(DAY, `${hour}:${10 + index}:00`, {
      4: `192.0.2.${index}`,
      14: `${host}-${hour}-${index}`,
      15: host,
    }),
  );

/** Rows of several hours, alternating hour by hour (the order the transform must not mind). */
function interleave(...groups: string[][]): string[] {
  const out: string[] = [];
  for (let index = 0; out.length < groups.flat().length; index++) {
    for (const group of groups) if (index < group.length) out.push(group[index]!);
  }
  return out;
}

describe('a raw file changed at the source between two runs', () => {
  let pipeline: LocalPipeline;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-changed-'));
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error' },
    });
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  async function requestsByHour(): Promise<Record<string, number>> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database });
    try {
      const [result] = await connection.query(
        `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, SUM(requests) AS requests
           FROM cloudfront_hourly GROUP BY 1 ORDER BY 1`,
      );
      return Object.fromEntries(
        (result as { hour: string; requests: string }[]).map((row) => [row.hour, Number(row.requests)]),
      );
    } finally {
      await connection.end();
    }
  }

  it('loses the hour it no longer has: its curated file is deleted and MySQL counts the new file', async () => {
    const store = new S3ObjectStore(pipeline.stack.clients.s3);
    const source = sourceOf(pipeline.environment);
    const folder = join(work, 'source');
    mkdirSync(folder, { recursive: true });
    const write = (name: string, lines: string[]) =>
      writeFileSync(join(folder, name), gzipSync(`${LEGACY_HEADER}${lines.join('\n')}\n`));

    // E1 holds three hours, interleaved; F1 one hour, which must keep its rows throughout.
    write(
      'E1.gz',
      interleave(rows('00', 10, 'a.example'), rows('01', 10, 'a.example'), rows('02', 10, 'a.example')),
    );
    write('F1.gz', rows('01', 5, 'b.example'));
    await seedSource(store, source, folder);
    const first = await runWindow(pipeline, WINDOW, 'e2e-changed-1');
    expect(first.report?.status).toBe('SUCCEEDED');
    expect(await requestsByHour()).toEqual({ [`${DAY}T00`]: 10, [`${DAY}T01`]: 15, [`${DAY}T02`]: 10 });

    // E1 delivered again with hour 01 gone and hour 00 changed.
    write('E1.gz', interleave(rows('00', 7, 'a.example'), rows('02', 10, 'a.example')));
    await seedSource(store, source, folder);
    const second = await runWindow(pipeline, WINDOW, 'e2e-changed-2');
    expect(second.report?.status).toBe('SUCCEEDED');

    const curated: string[] = [];
    for await (const object of store.list(pipeline.environment.DATA_BUCKET!, 'curated/')) {
      if (object.key.includes('E1')) curated.push(object.key);
    }
    // One curated file per hour E1 now has: hour 01's is gone.
    expect(curated.map((key) => key.replace(/\/[^/]*$/, '')).sort()).toEqual([
      `curated/dt=${DAY}/hour=00`,
      `curated/dt=${DAY}/hour=02`,
    ]);
    expect(await requestsByHour()).toEqual({ [`${DAY}T00`]: 7, [`${DAY}T01`]: 5, [`${DAY}T02`]: 10 });
  }, 300_000);
});
