import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { type BackfillOutcome, runBackfill } from '#local/backfill';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { writeSampleDirectory } from '#local/sample/index';
import type { ExecutionEvent } from '#local/stepfunctions/index';
import { S3ObjectStore } from '#shared/adapters/object-store';
import type { BackfillReport } from '#shared/core/backfill-report';
import { keys } from '#shared/core/run-files';
import { backfillExecution, historyEvents } from '#shared/core/run-model';
import { addHours, type Window } from '#shared/core/window';

/**
 * The backfill state machine end to end on the local stack: its runs are executions of the run
 * machine (with their batch and hour-group children) in the same local runner, against the real
 * stand-ins. Tests share the stack, never a day: each seeds and backfills three days of its own
 * (a month apart, so no late-delivered row reaches another test's hours).
 */
describe('the backfill state machine (three daily runs of a seeded sample)', () => {
  let pipeline: LocalPipeline;
  let work: string;
  let store: S3ObjectStore;
  /** What a test listens to, for the runner's events (the fault test arms Athena from here). */
  let listener: ((event: ExecutionEvent) => void) | undefined;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'etl-e2e-backfill-'));
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error' },
      onEvent: (event) => listener?.(event),
    });
    store = new S3ObjectStore(pipeline.stack.clients.s3);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  afterEach(() => {
    listener = undefined;
    pipeline.stack.athena.clearFaults();
  });

  /** Three sample days from `firstDay` in the source bucket (every hour, small files): the window. */
  async function seedDays(firstDay: string): Promise<Window> {
    const from = `${firstDay}T00`;
    const sample = join(work, `sample-${firstDay}`);
    for (let index = 0; index < 3; index++) {
      const day = addHours(from, 24 * index).slice(0, 10);
      writeSampleDirectory(join(sample, day), { seed: 7, day, filesPerHour: 1, rowsPerFile: 20 });
    }
    await seedSource(store, sourceOf(pipeline.environment), sample);
    return { from, to: addHours(from, 72) };
  }

  /** MySQL's rows of the window's hours and the hour each side of it (late-delivered rows land there). */
  async function warehouseRows(window: Window, bookkeeping = false): Promise<Record<string, unknown>[]> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, host, status, requests, bytes_sent,
                client_errors, server_errors, mean_time_taken, p95_time_taken, distinct_client_ips
                ${bookkeeping ? ', updated_at, loaded_by_run' : ''}
           FROM cloudfront_hourly WHERE hour_start >= ? AND hour_start < ? ORDER BY hour_start, host, status`,
        [sqlHour(addHours(window.from, -1)), sqlHour(addHours(window.to, 1))],
      );
      return rows.map((row) => ({ ...row }));
    } finally {
      await connection.end();
    }
  }

  async function deleteWarehouseRows(window: Window): Promise<void> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database });
    try {
      await connection.query('DELETE FROM cloudfront_hourly WHERE hour_start >= ? AND hour_start < ?', [
        sqlHour(addHours(window.from, -1)),
        sqlHour(addHours(window.to, 1)),
      ]);
    } finally {
      await connection.end();
    }
  }

  /** The load ledger's rows of these runs: one per batch a write loaded, with its digest and time. */
  async function ledger(runIds: readonly string[]): Promise<Record<string, unknown>[]> {
    const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
    const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        'SELECT run_id, batch_no, row_count, digest, loaded_at FROM etl_load_ledger WHERE run_id IN (?) ORDER BY run_id, batch_no',
        [runIds],
      );
      return rows.map((row) => ({ ...row }));
    } finally {
      await connection.end();
    }
  }

  async function storedSummary(backfillId: string): Promise<BackfillReport> {
    return (await store.getJson(
      pipeline.environment.DATA_BUCKET ?? '',
      keys.backfillReport(backfillId),
    )) as BackfillReport;
  }

  const runIdsOf = (outcome: BackfillOutcome) => outcome.runs.map((run) => run.runId);

  it('runs three windows to SUCCEEDED, one run each, and leaves MySQL as one run over the same window does', async () => {
    const window = await seedDays('2024-07-13');
    const outcome = await runBackfill(pipeline, window, 'e2e-bf-three');

    expect({ status: outcome.status, error: outcome.error }).toEqual({
      status: 'SUCCEEDED',
      error: undefined,
    });
    expect(runIdsOf(outcome)).toEqual([
      'e2e-bf-three-2024071300',
      'e2e-bf-three-2024071400',
      'e2e-bf-three-2024071500',
    ]);
    for (const run of outcome.runs) {
      expect({
        runId: run.runId,
        status: run.status,
        reconciliation: run.report?.reconciliation.status,
      }).toEqual({
        runId: run.runId,
        status: 'SUCCEEDED',
        reconciliation: 'MATCHED',
      });
    }
    expect(outcome.runs.map((run) => run.report?.window)).toEqual([
      { from: '2024-07-13T00', to: '2024-07-14T00' },
      { from: '2024-07-14T00', to: '2024-07-15T00' },
      { from: '2024-07-15T00', to: '2024-07-16T00' },
    ]);
    // The backfill, its three runs, and each run's batch and hour-group children.
    expect(outcome.executionsByMachine).toMatchObject({ 'cf-etl-local-backfill': 1, 'cf-etl-local-run': 3 });
    // The run model's count of the backfill's history is what the runner recorded: 20 + 8 × 3.
    expect(outcome.historyEvents).toBe(historyEvents(backfillExecution({ windows: 3 })));
    expect(outcome.historyEvents).toBe(44);

    // The summary in S3 (what Summarize wrote) names every run and sums their reports.
    const summary = await storedSummary('e2e-bf-three');
    expect(outcome.summary).toEqual(summary);
    expect(summary).toMatchObject({ status: 'SUCCEEDED', windows: 3, failed: [], hoursPerRun: 24 });
    expect(summary.succeeded.map((run) => run.runId)).toEqual(runIdsOf(outcome));
    expect(summary.totals.rowsAccepted).toBe(
      outcome.runs.reduce((sum, run) => sum + (run.report?.rows.accepted ?? 0), 0),
    );

    // The same window as one run, into an emptied table: it must write every row itself.
    const backfilled = await warehouseRows(window);
    expect(backfilled.length).toBeGreaterThan(72);
    await deleteWarehouseRows(window);
    const single = await runWindow(pipeline, window, 'e2e-bf-three-as-one-run');
    expect(single.status).toBe('SUCCEEDED');
    expect(await warehouseRows(window)).toEqual(backfilled);
  }, 240_000);

  it('ends BackfillWindowsFailed when one window fails, after running and reporting the others', async () => {
    const window = await seedDays('2024-08-13');
    // The second run's first Athena query ends FAILED (the fault matrix's injected failure).
    let runsStarted = 0;
    listener = (event) => {
      if (event.type !== 'ExecutionStarted' || event.stateMachineName !== pipeline.runMachine) return;
      runsStarted++;
      if (runsStarted === 2) {
        pipeline.stack.athena.injectFault({ kind: 'fail', times: 1, reason: 'HIVE_CURSOR_ERROR: injected' });
      }
    };
    const outcome = await runBackfill(pipeline, window, 'e2e-bf-fault');

    expect({ status: outcome.status, error: outcome.error }).toEqual({
      status: 'FAILED',
      error: 'BackfillWindowsFailed',
    });
    expect(outcome.runs.map((run) => [run.runId, run.status])).toEqual([
      ['e2e-bf-fault-2024081300', 'SUCCEEDED'],
      ['e2e-bf-fault-2024081400', 'FAILED'],
      ['e2e-bf-fault-2024081500', 'SUCCEEDED'],
    ]);
    const summary = await storedSummary('e2e-bf-fault');
    expect(summary.status).toBe('FAILED');
    expect(summary.succeeded.map((run) => run.runId)).toEqual([
      'e2e-bf-fault-2024081300',
      'e2e-bf-fault-2024081500',
    ]);
    expect(summary.failed).toEqual([
      {
        runId: 'e2e-bf-fault-2024081400',
        window: { from: '2024-08-14T00', to: '2024-08-15T00' },
        error: expect.objectContaining({
          error: 'AthenaQueryFailedError',
          cause: expect.stringContaining('HIVE_CURSOR_ERROR: injected'),
        }),
        report: 'reports/e2e-bf-fault-2024081400.json',
      },
    ]);
    // The failed window's WindowFailed state, and the Fail state instead of Done: 20 + 8 × 3 + 2 - 1.
    expect(outcome.historyEvents).toBe(historyEvents(backfillExecution({ windows: 3, failedWindows: 1 })));
    expect(outcome.historyEvents).toBe(45);

    // Run again under the same backfill id, without the fault: the same runs, all SUCCEEDED.
    const again = await runBackfill(pipeline, window, 'e2e-bf-fault');
    expect(again.status).toBe('SUCCEEDED');
    expect(runIdsOf(again)).toEqual(runIdsOf(outcome));
    expect((await storedSummary('e2e-bf-fault')).failed).toEqual([]);
  }, 240_000);

  it('starts the same run ids when the same backfill id runs again, and writes no row twice', async () => {
    const window = await seedDays('2024-09-13');
    const first = await runBackfill(pipeline, window, 'e2e-bf-rerun');
    expect(first.status).toBe('SUCCEEDED');
    const rows = await warehouseRows(window, true);
    const loads = await ledger(runIdsOf(first));
    expect(loads.length).toBeGreaterThanOrEqual(3);

    const again = await runBackfill(pipeline, window, 'e2e-bf-rerun');

    expect(again.status).toBe('SUCCEEDED');
    // Another execution (Step Functions never reuses a name), the same runs.
    expect(again.executionName).not.toBe(first.executionName);
    expect(runIdsOf(again)).toEqual(runIdsOf(first));
    expect(again.summary?.succeeded.map((run) => run.runId)).toEqual(runIdsOf(first));
    // Every batch of every run was already in the ledger with the same rows: none loaded again,
    // and no row of MySQL changed (updated_at and loaded_by_run included).
    expect(await ledger(runIdsOf(again))).toEqual(loads);
    expect(await warehouseRows(window, true)).toEqual(rows);
  }, 240_000);
});

/** `2024-07-13T05` → `2024-07-13 05:00:00`, as MySQL compares DATETIME. */
function sqlHour(hour: string): string {
  return `${hour.slice(0, 10)} ${hour.slice(11, 13)}:00:00`;
}
