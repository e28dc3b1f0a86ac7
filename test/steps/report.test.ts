import { type HourAggregate, keys, type Timing, type TransformSummary } from '#shared/core/run-files';
import { runHistory } from '#shared/core/run-model';
import { type RunReport, rootFailure, WarehouseReconciliationError, writeReport } from '#shared/steps/report';
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
    // 16 hours of 3 polls: 8 + 16 × (17 + 9 × 3); the parent holds 45 groups: 30 + 8 × 45.
    expect(events).toMatchObject({ hours: 8 + 16 * (17 + 27), run: 30 + 8 * 45, batch: 0 });
    // The same month in one execution (the layout before hour groups) would not fit.
    expect(runHistory(runShapeFromTimings(month, 720)).max).toBeGreaterThan(25_000);
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

  const settings = { dataBucket: 'data', hoursPerExecution: 16, athenaPollSeconds: 5 };

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
