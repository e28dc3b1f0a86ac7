import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type HourAggregate, keys, type Timing, type TransformSummary } from '#shared/core/run-files';
import { runHistory } from '#shared/core/run-model';
import { transformFileSeconds } from '#shared/core/run-plan';
import {
  lambdaUsageFromTimings,
  type RunReport,
  rootFailure,
  transformPricedFromRows,
  WarehouseReconciliationError,
  writeReport,
} from '#shared/steps/report';
import { runShapeFromTimings } from '#shared/steps/run-timings';
import { localS3, silentLog } from '../support/s3';

describe('report helpers', () => {
  it("reports a child execution's own error, not the parent's States.TaskFailed", () => {
    const child = {
      ExecutionArn: 'arn:aws:states:us-east-1:1:execution:cf-etl-dev-hours:abc',
      Status: 'FAILED',
      Error: 'AthenaQueryFailedError',
      Cause: 'Athena query q1 FAILED: HIVE_BAD_DATA',
    };
    expect(rootFailure('States.TaskFailed', JSON.stringify(child))).toEqual({
      error: 'AthenaQueryFailedError',
      cause: 'Athena query q1 FAILED: HIVE_BAD_DATA',
      execution: child.ExecutionArn,
    });
    expect(rootFailure('States.TaskFailed', 'Lambda failed')).toEqual({
      error: 'States.TaskFailed',
      cause: 'Lambda failed',
    });
    expect(rootFailure('IngestError', '{"Error": "not this"}')).toEqual({
      error: 'IngestError',
      cause: '{"Error": "not this"}',
    });
  });

  it('estimates the largest history over the parent, the batch children and the hour-group children', () => {
    const timing = (fn: string, action: string): Timing => ({
      function: fn,
      action,
      startedAt: '2024-07-13T00:00:00Z',
      finishedAt: '2024-07-13T00:00:01Z',
    });
    // 720 hours (a month) with 3 polls each, in groups of 16: no execution nears the cap.
    const month = Array.from({ length: 720 }, (_, index) => {
      const hour = new Date(Date.UTC(2024, 6, 1) + index * 3_600_000).toISOString().slice(0, 13);
      return [
        { ...timing('aggregate', 'start'), hour },
        ...Array.from({ length: 3 }, () => ({ ...timing('aggregate', 'status'), hour })),
      ];
    }).flat();
    const events = runHistory(runShapeFromTimings(month, 16));
    // 16 hours of 3 polls: 8 + 16 × (17 + 9 × 3); the parent holds 45 groups: 32 + 8 × 45.
    expect(events).toMatchObject({ hours: 8 + 16 * (17 + 27), run: 32 + 8 * 45, batch: 0 });
    // The same month in one execution (the layout before hour groups) would not fit.
    expect(runHistory(runShapeFromTimings(month, 720)).max).toBeGreaterThan(25_000);
  });
});

describe('report: Lambda usage', () => {
  it("sums each function's durations and takes its memory, /tmp only for the transform", () => {
    const at = (second: number) => new Date(Date.UTC(2024, 6, 13) + second * 1000).toISOString();
    const timings: Timing[] = [
      { function: 'ingest', startedAt: at(0), finishedAt: at(1.5) },
      { function: 'transform', action: 'file', startedAt: at(2), finishedAt: at(3) },
      { function: 'transform', action: 'file', startedAt: at(2), finishedAt: at(4) },
      { function: 'write', action: 'report', startedAt: at(5), finishedAt: at(5.25) },
    ];
    const usage = lambdaUsageFromTimings(timings, {
      architecture: 'arm64',
      functionMemoryMb: { ingest: 512, transform: 2048, write: 256 },
      transformEphemeralStorageMb: 4096,
    });
    expect(usage).toEqual({
      ingest: { invocations: 1, durationMs: 1500, memoryMb: 512, ephemeralStorageMb: 512 },
      transform: { invocations: 2, durationMs: 3000, memoryMb: 2048, ephemeralStorageMb: 4096 },
      write: { invocations: 1, durationMs: 250, memoryMb: 256, ephemeralStorageMb: 512 },
    });
  });

  it("prices deployed transforms from their rows, not from spans that include the batch Map's wait", () => {
    const waited = { invocations: 160, durationMs: 160 * 600_000, memoryMb: 1769, ephemeralStorageMb: 2048 };
    const ingest = { invocations: 1, durationMs: 4000, memoryMb: 512, ephemeralStorageMb: 512 };
    const priced = transformPricedFromRows({ ingest, transform: waited }, 160, 160 * 25_000);
    // Only the duration changes, and only the transform's.
    expect(priced.ingest).toBe(ingest);
    expect(priced.transform).toEqual({
      ...waited,
      durationMs: Math.round(160 * transformFileSeconds(25_000, 1769) * 1000),
    });
    // A 25,000-row file at a full vCPU takes seconds, not the ten minutes its span said.
    expect(priced.transform?.durationMs).toBeLessThan(160 * 10_000);
    // Fewer rows, less time; no files, nothing to price.
    expect(transformFileSeconds(100, 1769)).toBeLessThan(transformFileSeconds(25_000, 1769));
    expect(transformFileSeconds(25_000, 885)).toBeGreaterThan(transformFileSeconds(25_000, 1769));
    expect(transformPricedFromRows({ ingest }, 0, 0)).toEqual({ ingest });
  });

  it('names a function whose memory size it was not given', () => {
    const timing: Timing = {
      function: 'stage',
      startedAt: '2024-07-13T00:00:00Z',
      finishedAt: '2024-07-13T00:00:01Z',
    };
    expect(() =>
      lambdaUsageFromTimings([timing], {
        architecture: 'arm64',
        functionMemoryMb: {},
        transformEphemeralStorageMb: 512,
      }),
    ).toThrow(/function stage has no memory size in FUNCTION_MEMORY_MB/);
  });
});

describe('report: MySQL reconciled against the aggregate, hour by hour', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;
  const runId = 'reconcile-1';
  const input = {
    action: 'report' as const,
    status: 'SUCCEEDED' as const,
    runId,
    window: { from: '2024-07-13T10', to: '2024-07-13T12' },
    startedAt: '2024-07-13T12:00:00.000Z',
  };
  const row = (hour: string, host: string, requests: number, bytesSent: number) => ({
    hour,
    host,
    status: 200,
    requests,
    bytesSent,
    clientErrors: 0,
    serverErrors: 0,
    meanTimeTaken: null,
    p95TimeTaken: null,
    distinctClientIps: 1,
  });

  beforeAll(async () => {
    s3 = await localS3(['data']);
    const summary: TransformSummary = {
      runId,
      hours: ['2024-07-13T10', '2024-07-13T11'],
      files: { total: 1, transformed: 1, quarantined: 0 },
      rows: { read: 7, accepted: 7, quarantined: 0, inQuarantinedFiles: 0 },
      quarantinedFiles: [],
    };
    await s3.store.putJson('data', keys.transformSummary(runId), summary);
    const aggregates: HourAggregate[] = [
      {
        runId,
        hour: '2024-07-13T10',
        queryExecutionId: 'q1',
        bytesScanned: 1,
        engineMs: 1,
        rows: [row('2024-07-13T10', 'a', 3, 30), row('2024-07-13T10', 'b', 2, 20)],
      },
      {
        runId,
        hour: '2024-07-13T11',
        queryExecutionId: 'q2',
        bytesScanned: 1,
        engineMs: 1,
        rows: [row('2024-07-13T11', 'a', 2, 5)],
      },
    ];
    for (const aggregate of aggregates) {
      await s3.store.putJson('data', keys.hourAggregate(runId, aggregate.hour), aggregate);
    }
  });
  afterAll(() => s3.stop());

  const settings = {
    dataBucket: 'data',
    hoursPerExecution: 16,
    athenaPollSeconds: 5,
    architecture: 'arm64' as const,
    functionMemoryMb: { ingest: 512, transform: 1024, aggregate: 512, stage: 512, write: 512 },
    transformEphemeralStorageMb: 512,
  };

  it('prices the run by service: Athena per query at 10 MB minimum, DynamoDB units of the staged items', async () => {
    const report = await writeReport(
      input,
      settings,
      s3.store,
      async () => [
        { hour: '2024-07-13T10', requests: 5, bytes: 50 },
        { hour: '2024-07-13T11', requests: 2, bytes: 5 },
      ],
      silentLog,
    );
    // Two queries of 1 byte each bill the 10 MB minimum: 20 MB of a TB at $5.
    expect(report.cost.athena).toEqual({
      usd: 0.000095,
      queries: 2,
      bytesScanned: 2,
      billedBytes: 20 * 1024 ** 2,
    });
    // Three staged items under 1 KB: 3 write units; the two hours' queries and the run's: 3 read units.
    expect(report.cost.dynamodb).toEqual({ usd: 0.000002, writeUnits: 3, readUnits: 3 });
    // No manifest: no invocation is known, the parent alone (7 transitions with no batch or group).
    expect(report.cost.lambda.requests).toBe(0);
    expect(report.cost.stepFunctions.stateTransitions).toBe(7);
    expect(report.cost.s3.putCopyListRequests).toBeGreaterThan(0);
    expect(report.cost.sources.s3).toMatch(/^estimated/);
    const services = ['athena', 'lambda', 'stepFunctions', 's3', 'dynamodb'] as const;
    const sum = services.reduce((total, service) => total + report.cost[service].usd, 0);
    // Each service is rounded to a millionth of a dollar, the total before rounding.
    expect(Math.abs(report.cost.totalUsd - sum)).toBeLessThanOrEqual(0.000003);
  });

  it('writes the same report as a page, reports/<runId>.html, beside the JSON', async () => {
    const report = await writeReport(
      input,
      settings,
      s3.store,
      async () => [
        { hour: '2024-07-13T10', requests: 5, bytes: 50 },
        { hour: '2024-07-13T11', requests: 2, bytes: 5 },
      ],
      silentLog,
    );
    expect(keys.reportHtml(runId)).toBe(`reports/${runId}.html`);
    // The JSON is the report itself, nothing added for the page.
    expect(await s3.store.getJson('data', keys.report(runId))).toEqual(JSON.parse(JSON.stringify(report)));
    const page = await s3.clients.s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: keys.reportHtml(runId) }),
    );
    expect(page.ContentType).toBe('text/html; charset=utf-8');
    const text = await page.Body?.transformToString();
    expect(text).toMatch(/^<!doctype html>/);
    expect(text).toContain(`<code>${runId}</code>`);
    // The two hours MySQL holds, as the chart's bars.
    expect(text).toContain('data-hour="2024-07-13T10" data-requests="5" data-bytes="50"');
    expect(text).toContain('data-hour="2024-07-13T11" data-requests="2" data-bytes="5"');
  });

  it('says MATCHED when MySQL holds exactly the aggregate of every hour', async () => {
    const report = await writeReport(
      input,
      settings,
      s3.store,
      async () => [
        { hour: '2024-07-13T10', requests: 5, bytes: 50 },
        { hour: '2024-07-13T11', requests: 2, bytes: 5 },
      ],
      silentLog,
    );
    expect(report.status).toBe('SUCCEEDED');
    expect(report.reconciliation).toEqual({ status: 'MATCHED', hours: 2, differences: [] });
  });

  it('fails the run with WarehouseReconciliationError, and writes the report first, when an hour differs', async () => {
    const leftOver = async () => [
      { hour: '2024-07-13T10', requests: 105, bytes: 150 },
      { hour: '2024-07-13T11', requests: 2, bytes: 5 },
    ];
    await expect(writeReport(input, settings, s3.store, leftOver, silentLog)).rejects.toThrow(
      WarehouseReconciliationError,
    );
    const written = (await s3.store.getJson('data', keys.report(runId))) as RunReport;
    expect(written.status).toBe('FAILED');
    expect(written.error?.error).toBe('WarehouseReconciliationError');
    expect(written.reconciliation.differences).toEqual([
      {
        hour: '2024-07-13T10',
        warehouse: { requests: 105, bytes: 150 },
        aggregate: { requests: 5, bytes: 50 },
      },
    ]);
    // This run's own rows stay apart from the hour totals.
    expect(written.rows.accepted).toBe(7);
  });
});

describe('report: a run whose batches ran in a Distributed Map', () => {
  let s3: Awaited<ReturnType<typeof localS3>>;
  const runId = 'distributed-1';
  const settings = {
    dataBucket: 'data',
    hoursPerExecution: 16,
    athenaPollSeconds: 5,
    architecture: 'arm64' as const,
    functionMemoryMb: { ingest: 512, transform: 1024, aggregate: 512, stage: 512, write: 512 },
    transformEphemeralStorageMb: 512,
  };
  const succeeded = (batchMap?: 'inline' | 'distributed') => ({
    action: 'report' as const,
    status: 'SUCCEEDED' as const,
    runId,
    window: { from: '2024-07-13T10', to: '2024-07-13T12' },
    ...(batchMap !== undefined && { batchMap }),
    startedAt: '2024-07-13T12:00:00.000Z',
  });

  beforeAll(async () => {
    s3 = await localS3(['data']);
    // What ingest leaves in distributed mode: the manifest, the batch objects and the ItemReader's
    // list beside them (not among them); then the transforms' file results.
    await s3.store.putJson('data', keys.manifest(runId), { runId, files: [] });
    const batches = { '0001': ['f1', 'f2'], '0002': ['f3'] };
    for (const [batchId, files] of Object.entries(batches)) {
      await s3.store.putJson('data', keys.batch(runId, batchId), {
        runId,
        batchId,
        files: files.map((fileId) => ({ fileId })),
      });
    }
    await s3.store.putJson('data', keys.batchItems(runId), [{ batchId: '0001' }, { batchId: '0002' }]);
    for (const fileId of ['f1', 'f2', 'f3']) {
      await s3.store.putJson('data', keys.fileResult(runId, fileId), { fileId });
    }
  });
  afterAll(() => s3.stop());

  it('maps the files to their batches as inline, and counts the parent and the transitions of the mode', async () => {
    const warehouse = async () => [];
    const inline = await writeReport(succeeded('inline'), settings, s3.store, warehouse, silentLog);
    const distributed = await writeReport(succeeded('distributed'), settings, s3.store, warehouse, silentLog);
    expect(inline.batchMap).toBe('inline');
    expect(distributed.batchMap).toBe('distributed');
    // Inline, the parent holds both batches (32 + 8 × 2) and is the largest history; distributed,
    // it records the map run alone (34), still above the batch children (13 + 7 × 2).
    expect(inline.maxHistoryEvents).toBe(32 + 8 * 2);
    expect(distributed.maxHistoryEvents).toBe(34);
    // One more transition per batch: the start of its map-run child.
    expect(distributed.cost.stepFunctions.stateTransitions - inline.cost.stepFunctions.stateTransitions).toBe(
      2,
    );
    // A report from a definition that did not pass the mode counts the run as inline.
    expect((await writeReport(succeeded(), settings, s3.store, warehouse, silentLog)).batchMap).toBe(
      'inline',
    );
  });

  it("takes the mode from ingest's output when the run failed", async () => {
    const report = await writeReport(
      {
        action: 'report',
        status: 'FAILED',
        input: {
          run: { runId, batchMap: 'distributed' },
          error: { Error: 'States.ExceedToleratedFailureThreshold', Cause: '1 of 2 child executions failed' },
        },
        executionName: 'x',
        startedAt: '2024-07-13T12:00:00.000Z',
      },
      settings,
      s3.store,
      async () => [],
      silentLog,
    );
    expect(report).toMatchObject({ status: 'FAILED', batchMap: 'distributed', maxHistoryEvents: 34 });
    expect(report.error?.error).toBe('States.ExceedToleratedFailureThreshold');
  });
});
