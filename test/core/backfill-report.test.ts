import { BackfillResultsError, type RunReportDigest, summarizeBackfill } from '#shared/core/backfill-report';

const backfill = {
  backfillId: 'bf',
  window: { from: '2024-07-13T00', to: '2024-07-16T00' },
  hoursPerRun: 24,
  startedAt: '2024-08-01T10:00:00.000Z',
};
const RUNS = ['bf-2024071300', 'bf-2024071400', 'bf-2024071500'] as const;
const FINISHED = '2024-08-01T10:05:00.000Z';

const succeededReport = (rowsAccepted: number, startedAt = '2024-08-01T10:00:01.000Z'): RunReportDigest => ({
  status: 'SUCCEEDED',
  startedAt,
  files: { total: 4, transformed: 4, quarantined: 0 },
  rows: { read: rowsAccepted + 1, accepted: rowsAccepted, quarantined: 1 },
});

describe('backfill summary', () => {
  it('lists every window as succeeded with its run id and report, and totals their rows', () => {
    const summary = summarizeBackfill(
      { ...backfill, results: RUNS.map((runId) => ({ runId, status: 'SUCCEEDED' as const })) },
      new Map(RUNS.map((runId, index) => [runId, succeededReport(100 * (index + 1))])),
      FINISHED,
    );
    expect(summary).toMatchObject({
      status: 'SUCCEEDED',
      backfillId: 'bf',
      windows: 3,
      failed: [],
      totals: { files: 12, rowsRead: 603, rowsAccepted: 600, rowsQuarantined: 3 },
      startedAt: backfill.startedAt,
      finishedAt: FINISHED,
    });
    expect(summary.succeeded).toEqual([
      {
        runId: 'bf-2024071300',
        window: { from: '2024-07-13T00', to: '2024-07-14T00' },
        report: 'reports/bf-2024071300.json',
        files: 4,
        rowsAccepted: 100,
      },
      expect.objectContaining({ runId: 'bf-2024071400', rowsAccepted: 200 }),
      expect.objectContaining({ runId: 'bf-2024071500', rowsAccepted: 300 }),
    ]);
  });

  it("reports a failed window with its run's own error from its report, and the others as succeeded", () => {
    const failedReport: RunReportDigest = {
      ...succeededReport(0),
      status: 'FAILED',
      error: { error: 'AthenaQueryFailedError', cause: 'HIVE_CURSOR_ERROR: injected', execution: 'arn:x' },
    };
    const summary = summarizeBackfill(
      {
        ...backfill,
        results: [
          { runId: RUNS[0], status: 'SUCCEEDED' },
          { runId: RUNS[1], status: 'FAILED', error: 'States.TaskFailed' },
          { runId: RUNS[2], status: 'SUCCEEDED' },
        ],
      },
      new Map([
        [RUNS[0], succeededReport(10)],
        [RUNS[1], failedReport],
        [RUNS[2], succeededReport(30)],
      ]),
      FINISHED,
    );
    expect(summary.status).toBe('FAILED');
    expect(summary.succeeded.map((window) => window.runId)).toEqual([RUNS[0], RUNS[2]]);
    expect(summary.failed).toEqual([
      {
        runId: RUNS[1],
        window: { from: '2024-07-14T00', to: '2024-07-15T00' },
        error: { error: 'AthenaQueryFailedError', cause: 'HIVE_CURSOR_ERROR: injected', execution: 'arn:x' },
        report: 'reports/bf-2024071400.json',
      },
    ]);
    // The failed run's rows are not the backfill's.
    expect(summary.totals.rowsAccepted).toBe(40);
  });

  it("keeps the Catch's error name when the run wrote no report (a start that never ran)", () => {
    const summary = summarizeBackfill(
      {
        ...backfill,
        results: [
          { runId: RUNS[0], status: 'FAILED', error: 'StepFunctions.ExecutionLimitExceededException' },
          { runId: RUNS[1], status: 'SUCCEEDED' },
          { runId: RUNS[2], status: 'SUCCEEDED' },
        ],
      },
      new Map(),
      FINISHED,
    );
    expect(summary.failed).toEqual([
      {
        runId: RUNS[0],
        window: { from: '2024-07-13T00', to: '2024-07-14T00' },
        error: {
          error: 'StepFunctions.ExecutionLimitExceededException',
          cause: 'the run wrote no report of this backfill (reports/bf-2024071300.json)',
        },
      },
    ]);
    // Succeeded runs whose reports are missing count nothing, and name no report.
    expect(summary.succeeded[0]).toEqual({
      runId: RUNS[1],
      window: { from: '2024-07-14T00', to: '2024-07-15T00' },
      files: 0,
      rowsAccepted: 0,
    });
  });

  it("does not take an earlier attempt's report under the same run id for this backfill's", () => {
    const earlier = { ...succeededReport(999, '2024-07-31T23:00:00.000Z') };
    const summary = summarizeBackfill(
      {
        ...backfill,
        results: [
          { runId: RUNS[0], status: 'FAILED', error: 'States.TaskFailed' },
          { runId: RUNS[1], status: 'SUCCEEDED' },
          { runId: RUNS[2], status: 'SUCCEEDED' },
        ],
      },
      new Map([
        [RUNS[0], earlier],
        [RUNS[1], succeededReport(5)],
        [RUNS[2], earlier],
      ]),
      FINISHED,
    );
    expect(summary.failed[0]?.error.error).toBe('States.TaskFailed');
    expect(summary.failed[0]?.report).toBeUndefined();
    expect(summary.totals.rowsAccepted).toBe(5);
  });

  it('reports a window the Map returned no result for as failed, and refuses results for runs it does not have', () => {
    const missing = summarizeBackfill(
      { ...backfill, results: [RUNS[0], RUNS[2]].map((runId) => ({ runId, status: 'SUCCEEDED' as const })) },
      new Map(),
      FINISHED,
    );
    expect(missing.status).toBe('FAILED');
    expect(missing.failed.map((window) => [window.runId, window.error.error])).toEqual([
      [RUNS[1], 'States.Runtime'],
    ]);
    expect(() =>
      summarizeBackfill(
        { ...backfill, results: [{ runId: 'other-2024071300', status: 'SUCCEEDED' }] },
        new Map(),
        FINISHED,
      ),
    ).toThrow(BackfillResultsError);
    expect(() =>
      summarizeBackfill(
        {
          ...backfill,
          results: [
            { runId: RUNS[0], status: 'SUCCEEDED' },
            { runId: RUNS[0], status: 'FAILED' },
          ],
        },
        new Map(),
        FINISHED,
      ),
    ).toThrow(/name one twice/);
  });
});
