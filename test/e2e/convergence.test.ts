import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createConnection } from 'mysql2/promise';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

const DAY = '2024-05-01';
const WINDOW = { from: `${DAY}T10`, to: `${DAY}T11` };

/** `count` rows of `host` in hour 10 of DAY, 1,000 bytes each. */
function logFile(host: string, count: number): Buffer {
  const rows = Array.from({ length: count }, (_, index) =>
    legacyRow(DAY, `10:${String(index % 60).padStart(2, '0')}:00`, { 14: `${host}-${index}`, 15: host }),
  );
  return gzipSync(`${LEGACY_HEADER}${rows.join('\n')}\n`);
}

describe('re-runs converge: each aggregated hour holds in MySQL exactly the aggregate of its curated data', () => {
  let pipeline: LocalPipeline;
  let work: string;
  let source: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-converge-'));
    source = join(work, 'source');
    mkdirSync(source);
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

  async function hosts(): Promise<Record<string, number>> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database });
    try {
      const [rows] = await connection.query(
        'SELECT host, CAST(SUM(requests) AS SIGNED) AS requests FROM cloudfront_hourly GROUP BY host ORDER BY host',
      );
      return Object.fromEntries(
        (rows as { host: string; requests: number }[]).map((row) => [row.host, Number(row.requests)]),
      );
    } finally {
      await connection.end();
    }
  }

  async function run(runId: string) {
    await seedSource(new S3ObjectStore(pipeline.stack.clients.s3), sourceOf(pipeline.environment), source);
    const outcome = await runWindow(pipeline, WINDOW, runId);
    expect({ status: outcome.status, error: outcome.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    return outcome.report!;
  }

  it('runs one.gz (a.example) and two.gz (b.example)', async () => {
    writeFileSync(join(source, `E1.${DAY}-10.one.gz`), logFile('a.example', 100));
    writeFileSync(join(source, `E1.${DAY}-10.two.gz`), logFile('b.example', 50));
    const report = await run('converge-1');
    expect(report.rows.accepted).toBe(150);
    expect(await hosts()).toEqual({ 'a.example': 100, 'b.example': 50 });
    expect(report.reconciliation).toEqual({ status: 'MATCHED', hours: 1, differences: [] });
  }, 120_000);

  it('replaces what a file replaced at the source held: a.example is gone, c.example is in', async () => {
    writeFileSync(join(source, `E1.${DAY}-10.one.gz`), logFile('c.example', 100));
    const report = await run('converge-2');
    expect(await hosts()).toEqual({ 'b.example': 50, 'c.example': 100 });
    expect(report.hours).toEqual([{ hour: WINDOW.from, requests: 150, bytes: 150_000 }]);
    expect(report.reconciliation.status).toBe('MATCHED');
  }, 120_000);

  it('converges when the same run id runs again after another source change (stale staged groups dropped)', async () => {
    writeFileSync(join(source, `E1.${DAY}-10.two.gz`), logFile('d.example', 50));
    const report = await run('converge-2');
    expect(await hosts()).toEqual({ 'c.example': 100, 'd.example': 50 });
    expect(report.reconciliation.status).toBe('MATCHED');
  }, 120_000);

  it('keeps what was ingested of a file that disappeared from the source', async () => {
    rmSync(join(source, `E1.${DAY}-10.two.gz`));
    const report = await run('converge-3');
    // Only one.gz is in this run (100 accepted), yet the hour's total still has d.example's rows.
    expect(report.rows.accepted).toBe(100);
    expect(await hosts()).toEqual({ 'c.example': 100, 'd.example': 50 });
    expect(report.hours).toEqual([{ hour: WINDOW.from, requests: 150, bytes: 150_000 }]);
  }, 120_000);
});
