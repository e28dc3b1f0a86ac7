import { runWindow } from '#local/pipeline';
import { type AggregateRow, rowKey } from '#shared/core/aggregate-row';
import {
  emptyWarehouse,
  FAULT_WINDOW,
  type FaultPipeline,
  ledgerRows,
  loadedByRuns,
  stagedRows,
  startFaultPipeline,
  type WarehouseRow,
  warehouseRows,
} from '../support/fault-pipeline';

/** A staged row under the warehouse's column names, to compare with a MySQL row. */
function asWarehouseRow(row: AggregateRow): WarehouseRow {
  return {
    hour: row.hour,
    host: row.host,
    status: row.status,
    requests: row.requests,
    bytes_sent: row.bytesSent,
    client_errors: row.clientErrors,
    server_errors: row.serverErrors,
    mean_time_taken: row.meanTimeTaken,
    p95_time_taken: row.p95TimeTaken,
    distinct_client_ips: row.distinctClientIps,
  };
}

const sortedByKey = (rows: WarehouseRow[]) =>
  [...rows].sort((a, b) => {
    const key = (row: WarehouseRow) => JSON.stringify([row.hour, row.host, row.status]);
    return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  });

describe('DynamoDB answering BatchWriteItem with UnprocessedItems while a run stages its rows', () => {
  let setup: FaultPipeline;

  beforeAll(async () => {
    setup = await startFaultPipeline('faults-staging');
  }, 120_000);

  afterAll(async () => {
    await setup?.stop();
  });

  // Whatever a test did, the faults it armed end with it.
  afterEach(() => setup?.pipeline.stack.dynamodb.clearFaults());

  it('stages every row exactly once, the run succeeds, and the table equals the fault-free run', async () => {
    const runId = 'faults-staging-unprocessed';
    const { dynamodb } = setup.pipeline.stack;
    await emptyWarehouse(setup.pipeline);
    const answeredBefore = dynamodb.unprocessedResponses;
    // More than one per hour: some chunk is answered with UnprocessedItems twice in a row.
    const faults = 6;
    dynamodb.injectUnprocessedItems(faults);
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);
    dynamodb.clearFaults();

    expect(outcome.status).toBe('SUCCEEDED');
    // Every injected fault was answered during the run (the stage step is the only BatchWriteItem caller).
    expect(dynamodb.unprocessedResponses - answeredBefore).toBe(faults);

    const baseline = setup.baseline.rows;
    const staged = await stagedRows(setup.pipeline, runId);
    expect(staged).toHaveLength(baseline.length);
    expect(new Set(staged.map(rowKey)).size).toBe(staged.length);
    // Staged values are the fault-free run's values, row for row (in one order on both sides:
    // staging sorts by its row key, MySQL by its primary key).
    expect(sortedByKey(staged.map(asWarehouseRow))).toEqual(sortedByKey(baseline));

    expect(await warehouseRows(setup.pipeline)).toEqual(baseline);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect((await ledgerRows(setup.pipeline, runId)).reduce((sum, batch) => sum + batch.rowCount, 0)).toBe(
      baseline.length,
    );
  }, 60_000);
});
