import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createConnection } from 'mysql2/promise';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

/** The hour each test runs in: tests share the stack, never an hour, so none sees another's rows. */
let nextDay = 1;

/** `count` rows of `host` in hour 10 of `day`, 1,000 bytes each. */
function logFile(day: string, host: string, count: number): Buffer {
  const rows = Array.from({ length: count }, (_, index) =>
    legacyRow(day, `10:${String(index % 60).padStart(2, '0')}:00`, { 14: `${host}-${index}`, 15: host }),
  );
  return gzipSync(`${LEGACY_HEADER}${rows.join('\n')}\n`);
}

describe('re-runs converge: each aggregated hour holds in MySQL exactly the aggregate of its curated data', () => {
  let pipeline: LocalPipeline;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-converge-'));
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

  /** A source folder of its own and an hour of its own, for one test. */
  function scenario() {
    const day = `2024-05-${String(nextDay++).padStart(2, '0')}`;
    const window = { from: `${day}T10`, to: `${day}T11` };
    const source = join(work, `source-${day}`);
    mkdirSync(source);
    const file = (name: string, host: string, count: number) =>
      writeFileSync(join(source, `E1.${day}-10.${name}.gz`), logFile(day, host, count));
    const remove = (name: string) => rmSync(join(source, `E1.${day}-10.${name}.gz`));

    async function run(runId: string) {
      await seedSource(new S3ObjectStore(pipeline.stack.clients.s3), sourceOf(pipeline.environment), source);
      const outcome = await runWindow(pipeline, window, `${runId}-${day}`);
      expect({ status: outcome.status, error: outcome.error }).toEqual({
        status: 'SUCCEEDED',
        error: undefined,
      });
      return outcome.report!;
    }

    /** Requests per host in MySQL for this test's hour. */
    async function hosts(): Promise<Record<string, number>> {
      const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
      const connection = await createConnection({ host, port, user, password, database });
      try {
        const [rows] = await connection.query(
          'SELECT host, CAST(SUM(requests) AS SIGNED) AS requests FROM cloudfront_hourly ' +
            'WHERE hour_start = ? GROUP BY host ORDER BY host',
          [`${day} 10:00:00`],
        );
        return Object.fromEntries(
          (rows as { host: string; requests: number }[]).map((row) => [row.host, Number(row.requests)]),
        );
      } finally {
        await connection.end();
      }
    }

    return { window, file, remove, run, hosts };
  }

  it('runs one.gz (a.example) and two.gz (b.example)', async () => {
    const { file, run, hosts } = scenario();
    file('one', 'a.example', 100);
    file('two', 'b.example', 50);
    const report = await run('converge-1');
    expect(report.rows.accepted).toBe(150);
    expect(await hosts()).toEqual({ 'a.example': 100, 'b.example': 50 });
    expect(report.reconciliation).toEqual({ status: 'MATCHED', hours: 1, differences: [] });
  }, 120_000);

  it('replaces what a file replaced at the source held: a.example is gone, c.example is in', async () => {
    const { window, file, run, hosts } = scenario();
    file('one', 'a.example', 100);
    file('two', 'b.example', 50);
    await run('converge-1');
    file('one', 'c.example', 100);
    const report = await run('converge-2');
    expect(await hosts()).toEqual({ 'b.example': 50, 'c.example': 100 });
    expect(report.hours).toEqual([{ hour: window.from, requests: 150, bytes: 150_000 }]);
    expect(report.reconciliation.status).toBe('MATCHED');
  }, 120_000);

  it('converges when the same run id runs again after another source change (stale staged groups dropped)', async () => {
    const { file, run, hosts } = scenario();
    file('one', 'a.example', 100);
    file('two', 'b.example', 50);
    await run('converge-1');
    file('one', 'c.example', 100);
    await run('converge-2');
    file('two', 'd.example', 50);
    const report = await run('converge-2');
    expect(await hosts()).toEqual({ 'c.example': 100, 'd.example': 50 });
    expect(report.reconciliation.status).toBe('MATCHED');
  }, 120_000);

  it('keeps what was ingested of a file that disappeared from the source', async () => {
    const { window, file, remove, run, hosts } = scenario();
    file('one', 'c.example', 100);
    file('two', 'd.example', 50);
    await run('converge-1');
    remove('two');
    const report = await run('converge-2');
    // Only one.gz is in this run (100 accepted), yet the hour's total still has d.example's rows.
    expect(report.rows.accepted).toBe(100);
    expect(await hosts()).toEqual({ 'c.example': 100, 'd.example': 50 });
    expect(report.hours).toEqual([{ hour: window.from, requests: 150, bytes: 150_000 }]);
  }, 120_000);
});
