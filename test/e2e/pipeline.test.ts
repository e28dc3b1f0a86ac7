import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { writeSampleDirectory } from '#local/sample/index';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { LEGACY_HEADER, legacyRow } from '../support/cloudfront-logs';

const CONFORMANCE = resolve(__dirname, '..', 'fixtures', 'conformance');
const DAY = '2024-07-13';
const WINDOW = { from: `${DAY}T00`, to: `${DAY}T06` };

/** The business columns of the MySQL target, in key order (not the bookkeeping columns). */
async function warehouseRows(pipeline: LocalPipeline) {
  const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
  const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
  try {
    const [rows] = await connection.query(
      `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, host, status, requests, bytes_sent, client_errors,
              server_errors, mean_time_taken, p95_time_taken, distinct_client_ips
         FROM cloudfront_hourly ORDER BY hour_start, host, status`,
    );
    return rows as Record<string, unknown>[];
  } finally {
    await connection.end();
  }
}

/** LOAD DATA statements the stack's MariaDB has run so far (the writer's bulk mode load-data sends one per batch). */
async function loadDataStatements(pipeline: LocalPipeline): Promise<number> {
  const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
  const connection = await createConnection({ host, port, user, password, database });
  try {
    const [rows] = await connection.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_load'");
    return Number(rows[0]?.Value);
  } finally {
    await connection.end();
  }
}

const sumBy = (rows: Record<string, unknown>[], hour: string) =>
  rows.filter((row) => row.hour === hour).reduce((sum, row) => sum + Number(row.requests), 0);

/** `count` rows at minutes 40, 41, … of `day` `hour`, 1000 bytes each, for `host`. */
function cloudFrontRows(day: string, hour: string, count: number, host: string): string[] {
  return Array.from({ length: count }, (_, index) =>
    legacyRow(day, `${hour}:${40 + index}:00`, { 4: `192.0.2.${index}`, 14: `${host}-${index}`, 15: host }),
  );
}

const cloudFrontFile = (rows: string[]) => gzipSync(`${LEGACY_HEADER}${rows.join('\n')}\n`);

describe.each(['insert', 'load-data'] as const)(
  'the pipeline end to end on the local stack in bulk mode %s (same handlers, same state machines)',
  (bulkMode) => {
    let pipeline: LocalPipeline;
    let work: string;
    let store: S3ObjectStore;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'etl-e2e-'));
      // Each mode's pipeline imports the handlers afresh, so the write function reads its own
      // WAREHOUSE_BULK_MODE (the configuration is read once per module instance, as per container).
      jest.resetModules();
      // Waits and retry intervals at 1/100: the 1 s Athena poll becomes 10 ms.
      pipeline = await startLocalPipeline({
        directory: join(work, 'stack'),
        waitTimeScale: 0.01,
        environment: { LOG_LEVEL: 'error', WAREHOUSE_BULK_MODE: bulkMode },
      });
      store = new S3ObjectStore(pipeline.stack.clients.s3);
    }, 120_000);

    afterAll(async () => {
      await pipeline?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    // A fault a test armed and did not consume (it failed before its query ran) must not reach the
    // next test.
    afterEach(() => {
      pipeline?.stack.athena.clearFaults();
      pipeline?.stack.dynamodb.clearFaults();
    });

    const sample = (name: string, seed: number) => {
      const directory = join(work, name);
      const expected = writeSampleDirectory(directory, {
        seed,
        day: DAY,
        hours: 6,
        filesPerHour: 2,
        rowsPerFile: 40,
      });
      return { directory, expected };
    };

    /**
     * The sample day's first run, made once per stack by whichever test needs it first: the first
     * test checks it, the tests that change an aggregated day start from it (run alone, they make it).
     */
    let sampleDayRun:
      | Promise<{
          outcome: Awaited<ReturnType<typeof runWindow>>;
          loadsBefore: number;
          expected: ReturnType<typeof sample>['expected'];
          directory: string;
        }>
      | undefined;
    const sampleDay = () =>
      (sampleDayRun ??= (async () => {
        const { directory, expected } = sample('day', 7);
        await seedSource(store, sourceOf(pipeline.environment), directory);
        const loadsBefore = await loadDataStatements(pipeline);
        const outcome = await runWindow(pipeline, WINDOW, 'e2e-first');
        return { outcome, loadsBefore, expected, directory };
      })());

    it('runs a sample window to SUCCEEDED and the report reconciles with what was planted', async () => {
      const { outcome, loadsBefore, expected } = await sampleDay();
      expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
      // The write function sent its batches the configured way.
      expect((await loadDataStatements(pipeline)) > loadsBefore).toBe(bulkMode === 'load-data');
      const report = outcome.report!;
      expect(report.status).toBe('SUCCEEDED');
      expect(report.rows.accepted).toBe(expected.rowsAccepted);
      expect(report.rows.quarantined).toBe(expected.rowsQuarantined);
      expect(report.files).toEqual({
        total: expected.files,
        transformed: expected.files - expected.filesQuarantined,
        quarantined: expected.filesQuarantined,
      });
      // rows accepted = requests summed in MySQL over the run's hours, hour by hour.
      expect(report.hours.reduce((sum, hour) => sum + hour.requests, 0)).toBe(report.rows.accepted);
      for (const hour of report.hours) {
        expect({ hour: hour.hour, requests: hour.requests, bytes: hour.bytes }).toEqual({
          hour: hour.hour,
          requests: expected.acceptedByHour[hour.hour] ?? 0,
          bytes: expected.bytesByHour[hour.hour] ?? 0,
        });
      }
      expect(report.athena.queries).toBe(report.hours.length);
      expect(report.athena.bytesScanned).toBeGreaterThan(0);
      // The run model's estimate (the report's) against the history the runner recorded: it must
      // cover it, and by no more than 20 %.
      expect(report.measuredHistoryEvents).toBe(outcome.maxHistoryEvents);
      expect(report.historyEventsSource).toBe("counted from the handlers' invocations");
      expect(report.maxHistoryEvents).toBeGreaterThanOrEqual(outcome.maxHistoryEvents);
      expect(report.maxHistoryEvents).toBeLessThanOrEqual(outcome.maxHistoryEvents * 1.2);
      expect(report.maxHistoryEvents).toBeLessThan(25_000);
      expect(report.stages.map((stage) => stage.name)).toEqual([
        'ingest',
        'transform',
        'aggregate',
        'stage',
        'write',
      ]);
      // The cost by service, from the same counts: Lambda GB-s = Σ durations × memory.
      const timings = pipeline.timings('e2e-first');
      const memoryMb = JSON.parse(pipeline.environment.FUNCTION_MEMORY_MB ?? '{}') as Record<string, number>;
      const gbSeconds = timings.reduce(
        (sum, t) =>
          sum +
          ((Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000) *
            ((memoryMb[t.function] ?? 0) / 1024),
        0,
      );
      const { cost } = report;
      expect(cost.sources.lambda).toBe("the handlers' own invocations");
      expect(cost.lambda.requests).toBe(timings.length);
      expect(cost.lambda.gbSeconds).toBeCloseTo(gbSeconds, 5);
      expect(cost.lambda.gbSeconds).toBeGreaterThan(0);
      expect(cost.lambda.functions.transform?.memoryMb).toBe(1024);
      // Every query bills at least 10 MB; the sample's hours scan far less.
      expect(cost.athena.queries).toBe(report.athena.queries);
      expect(cost.athena.billedBytes).toBe(report.athena.queries * 10 * 1024 ** 2);
      expect(cost.athena.usd).toBe(report.athena.estimatedCostUsd);
      expect(cost.stepFunctions.stateTransitions).toBeGreaterThan(report.files.total);
      expect(cost.dynamodb.writeUnits).toBeGreaterThanOrEqual(report.hours.length);
      expect(cost.dynamodb.readUnits).toBeGreaterThan(0);
      expect(cost.s3.putCopyListRequests).toBeGreaterThan(report.files.total);
      const services = ['athena', 'lambda', 'stepFunctions', 's3', 'dynamodb'] as const;
      const sum = services.reduce((total, service) => total + cost[service].usd, 0);
      expect(Math.abs(cost.totalUsd - sum)).toBeLessThanOrEqual(0.000003);
      expect(cost.totalUsd).toBeLessThan(1);
    }, 180_000);

    it('leaves MySQL identical when the same window runs again', async () => {
      expect((await sampleDay()).outcome.status).toBe('SUCCEEDED');
      const before = await warehouseRows(pipeline);
      expect(before.length).toBeGreaterThan(0);
      const outcome = await runWindow(pipeline, WINDOW, 'e2e-again');
      expect(outcome.status).toBe('SUCCEEDED');
      expect(await warehouseRows(pipeline)).toEqual(before);
    }, 180_000);

    it('corrects an already aggregated hour when a late file arrives, and leaves the others alone', async () => {
      const { outcome: first, directory } = await sampleDay();
      expect(first.status).toBe('SUCCEEDED');
      const before = await warehouseRows(pipeline);
      const hour = `${DAY}T02`;
      const late = cloudFrontRows(DAY, '02', 5, 'late.example.com');
      // Delivered hours later, named for a later hour: the lookback takes it in, its rows' own time decides.
      writeFileSync(join(directory, `ELATE000000001.${DAY}-03.late0001.gz`), cloudFrontFile(late));
      await seedSource(store, sourceOf(pipeline.environment), directory);
      const outcome = await runWindow(pipeline, { from: `${DAY}T03`, to: `${DAY}T04` }, 'e2e-late');
      expect(outcome.status).toBe('SUCCEEDED');

      const after = await warehouseRows(pipeline);
      expect(sumBy(after, hour)).toBe(sumBy(before, hour) + 5);
      expect(after.find((row) => row.hour === hour && row.host === 'late.example.com')).toMatchObject({
        requests: 5,
        bytes_sent: 5000,
      });
      for (const other of [`${DAY}T00`, `${DAY}T01`, `${DAY}T04`, `${DAY}T05`]) {
        expect(after.filter((row) => row.hour === other)).toEqual(before.filter((row) => row.hour === other));
      }
    }, 180_000);

    it('reads the conformance corpus: 16 rows accepted, the truncated one quarantined', async () => {
      await seedSource(store, sourceOf(pipeline.environment), CONFORMANCE);
      const outcome = await runWindow(
        pipeline,
        { from: '2014-05-23T00', to: '2024-07-14T00' },
        'e2e-conformance',
      );
      expect(outcome.status).toBe('SUCCEEDED');
      expect(outcome.report?.files).toEqual({ total: 3, transformed: 3, quarantined: 0 });
      expect(outcome.report?.rows).toEqual({ read: 17, accepted: 16, quarantined: 1, inQuarantinedFiles: 0 });
      expect(outcome.report?.hours.reduce((sum, hour) => sum + hour.requests, 0)).toBe(16);
    }, 180_000);

    it('ends FAILED with a report naming the error when an Athena query fails', async () => {
      await seedSource(store, sourceOf(pipeline.environment), CONFORMANCE);
      pipeline.stack.athena.injectFault({ kind: 'fail', times: 1, reason: 'injected: HIVE_BAD_DATA' });
      const outcome = await runWindow(
        pipeline,
        { from: '2014-05-23T00', to: '2024-07-14T00' },
        'e2e-athena-fails',
      );
      expect(outcome.status).toBe('FAILED');
      expect(outcome.report?.status).toBe('FAILED');
      expect(outcome.report?.error?.error).toBe('AthenaQueryFailedError');
      expect(outcome.report?.error?.cause).toMatch(/HIVE_BAD_DATA/);
    }, 180_000);
    it('re-running the same runId after a late file runs fresh Athena queries, not the earlier result', async () => {
      const directory = join(work, 'same-run-id');
      mkdirSync(directory);
      const hour = '2024-07-20T10';
      writeFileSync(
        join(directory, 'ESAME.2024-07-20-10.first.gz'),
        cloudFrontFile(cloudFrontRows('2024-07-20', '10', 3, 'same.example.com')),
      );
      await seedSource(store, sourceOf(pipeline.environment), directory);
      const window = { from: hour, to: '2024-07-20T11' };
      const first = await runWindow(pipeline, window, 'e2e-same-id');
      expect(first.report?.hours).toEqual([{ hour, requests: 3, bytes: 3000 }]);

      writeFileSync(
        join(directory, 'ESAME.2024-07-20-10.second.gz'),
        cloudFrontFile(cloudFrontRows('2024-07-20', '10', 4, 'same.example.com')),
      );
      await seedSource(store, sourceOf(pipeline.environment), directory);
      const second = await runWindow(pipeline, window, 'e2e-same-id');
      expect(second.status).toBe('SUCCEEDED');
      expect(second.report?.hours).toEqual([{ hour, requests: 7, bytes: 7000 }]);
      expect(sumBy(await warehouseRows(pipeline), hour)).toBe(7);

      // The same runId for another window: the report has that window's hours only, not the
      // results the earlier runs left under this runId.
      writeFileSync(
        join(directory, 'ESAME.2024-07-22-20.third.gz'),
        cloudFrontFile(cloudFrontRows('2024-07-22', '20', 2, 'same.example.com')),
      );
      await seedSource(store, sourceOf(pipeline.environment), directory);
      const third = await runWindow(pipeline, { from: '2024-07-22T20', to: '2024-07-22T21' }, 'e2e-same-id');
      expect(third.report?.hours).toEqual([{ hour: '2024-07-22T20', requests: 2, bytes: 2000 }]);
      expect(third.report?.athena.queries).toBe(1);
      expect(third.report?.files.total).toBe(1);
    }, 180_000);

    it('keeps files of the same name in different folders apart', async () => {
      const directory = join(work, 'same-names');
      for (const [folder, count] of [
        ['site-a', 2],
        ['site-b', 6],
      ] as const) {
        mkdirSync(join(directory, folder), { recursive: true });
        writeFileSync(
          join(directory, folder, 'access.log.gz'),
          cloudFrontFile(cloudFrontRows('2024-07-21', '08', count, `${folder}.example.com`)),
        );
      }
      await seedSource(store, sourceOf(pipeline.environment), directory);
      const outcome = await runWindow(
        pipeline,
        { from: '2024-07-21T08', to: '2024-07-21T09' },
        'e2e-same-names',
      );
      expect(outcome.status).toBe('SUCCEEDED');
      expect(outcome.report?.files).toEqual({ total: 2, transformed: 2, quarantined: 0 });
      expect(outcome.report?.hours).toEqual([{ hour: '2024-07-21T08', requests: 8, bytes: 8000 }]);
    }, 180_000);
  },
);
