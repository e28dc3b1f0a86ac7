import { runWindow } from '#local/pipeline';
import {
  emptyWarehouse,
  FAULT_WINDOW,
  type FaultPipeline,
  invocations,
  ledgerRows,
  loadedByRuns,
  startFaultPipeline,
  warehouseRows,
} from '../support/fault-pipeline';

/**
 * StartQueryExecution requests one `start` invocation makes before it gives up: the SDK's
 * standard retry mode sends each request up to 3 times on TooManyRequestsException (a throttling
 * code), and the adapter tries 6 times (DEFAULT_START_BACKOFF.maxAttempts) before it throws
 * AthenaThrottledError for the state machine's Retry.
 */
const SDK_ATTEMPTS = 3;
const ADAPTER_ATTEMPTS = 6;
const REQUESTS_PER_START = SDK_ATTEMPTS * ADAPTER_ATTEMPTS;

describe('Athena failing, cancelling and throttling queries during a run', () => {
  let setup: FaultPipeline;
  /** Queries per run: one per hour that received rows. */
  let hours: number;

  beforeAll(async () => {
    setup = await startFaultPipeline('faults-athena');
    hours = setup.baseline.outcome.report?.athena.queries ?? 0;
    expect(hours).toBeGreaterThan(1);
  }, 120_000);

  afterAll(async () => {
    await setup?.stop();
  });

  beforeEach(async () => {
    await emptyWarehouse(setup.pipeline);
  });

  // Whatever a test did, the faults it armed end with it.
  afterEach(() => setup?.pipeline.stack.athena.clearFaults());

  const expectFaultFreeTable = async (runId: string) => {
    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect((await ledgerRows(setup.pipeline, runId)).reduce((sum, batch) => sum + batch.rowCount, 0)).toBe(
      setup.baseline.rows.length,
    );
  };

  it('outlasts throttling through the adapter retries and then the state machine Retry, and the table equals the fault-free run', async () => {
    const runId = 'faults-athena-throttled';
    // Hours start their queries concurrently and share the throttle budget. With
    // REQUESTS_PER_START per hour, at least one hour's first `start` invocation must see all its
    // requests throttled: otherwise each hour got through within REQUESTS_PER_START - 1 throttles
    // and the budget could not have been used up, which every successful start requires.
    setup.pipeline.stack.athena.injectFault({ kind: 'throttle', times: hours * REQUESTS_PER_START });
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome).toMatchObject({ status: 'SUCCEEDED' });
    // A `start` invocation ends in AthenaThrottledError only after all its adapter attempts; the
    // state machine then invoked `start` again: more invocations than hours shows both happened.
    // Every hour's query did start, and the stand-in accepts a start only once no throttle is
    // left: the injected fault was used up.
    expect(await invocations(setup.pipeline, runId, 'aggregate', 'start')).toBeGreaterThan(hours);
    expect(outcome.report?.athena.queries).toBe(hours);
    await expectFaultFreeTable(runId);
  }, 90_000);

  it('ends FAILED naming AthenaQueryFailedError and the reason, loads nothing, and a re-run of the window succeeds with the fault-free table', async () => {
    const reason = 'HIVE_CURSOR_ERROR: injected for the fault test';
    setup.pipeline.stack.athena.injectFault({ kind: 'fail', times: 1, reason });
    const failed = await runWindow(setup.pipeline, FAULT_WINDOW, 'faults-athena-failed');

    expect(failed.status).toBe('FAILED');
    expect(failed.report?.status).toBe('FAILED');
    expect(failed.report?.error?.error).toBe('AthenaQueryFailedError');
    expect(failed.report?.error?.cause).toContain(reason);
    // The write step never ran: nothing of the failed run reached MySQL.
    expect(await warehouseRows(setup.pipeline)).toEqual([]);
    expect(await ledgerRows(setup.pipeline, 'faults-athena-failed')).toEqual([]);

    const rerun = await runWindow(setup.pipeline, FAULT_WINDOW, 'faults-athena-failed-rerun');
    expect(rerun.status).toBe('SUCCEEDED');
    await expectFaultFreeTable('faults-athena-failed-rerun');
  }, 60_000);

  it('ends FAILED naming AthenaQueryCancelledError and the reason, loads nothing, and a re-run of the window succeeds with the fault-free table', async () => {
    const reason = 'Query cancelled: injected for the fault test';
    setup.pipeline.stack.athena.injectFault({ kind: 'cancel', times: 1, reason });
    const cancelled = await runWindow(setup.pipeline, FAULT_WINDOW, 'faults-athena-cancelled');

    expect(cancelled.status).toBe('FAILED');
    expect(cancelled.report?.status).toBe('FAILED');
    expect(cancelled.report?.error?.error).toBe('AthenaQueryCancelledError');
    expect(cancelled.report?.error?.cause).toContain(reason);
    expect(await warehouseRows(setup.pipeline)).toEqual([]);
    expect(await ledgerRows(setup.pipeline, 'faults-athena-cancelled')).toEqual([]);

    const rerun = await runWindow(setup.pipeline, FAULT_WINDOW, 'faults-athena-cancelled-rerun');
    expect(rerun.status).toBe('SUCCEEDED');
    await expectFaultFreeTable('faults-athena-cancelled-rerun');
  }, 60_000);
});
