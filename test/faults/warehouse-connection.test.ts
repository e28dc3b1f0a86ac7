import { runWindow } from '#local/pipeline';
import { startTcpProxy, type TcpProxy } from '#local/services/tcp-proxy';
import { DEFAULT_BATCH_ROWS, DEFAULT_WRITE_BACKOFF } from '#shared/adapters/warehouse';
import {
  emptyWarehouse,
  FAULT_WINDOW,
  type FaultPipeline,
  invocations,
  ledgerRows,
  loadedByRuns,
  pointDatabaseSecretAt,
  startFaultPipeline,
  warehouseRows,
} from '../support/fault-pipeline';

/** The statements of a batch, as the warehouse adapter sends them (mysql2 `query()`: COM_QUERY). */
const UPSERT = /^INSERT INTO `cloudfront_hourly`/;
const LEDGER_LOCK = /^SELECT digest FROM `etl_load_ledger`/;
const COMMIT = /^COMMIT/;

describe('warehouse write with the MySQL connection cut mid-batch (writer → TCP proxy → MariaDB)', () => {
  let setup: FaultPipeline;
  let proxy: TcpProxy;
  /** Statements and cuts the proxy had seen when the current test started. */
  let seen = 0;
  let cutsBefore = 0;

  beforeAll(async () => {
    setup = await startFaultPipeline('faults-mysql', {
      beforeBaseline: async (pipeline) => {
        const { host, port } = pipeline.stack.mysql.credentials;
        proxy = await startTcpProxy({ target: { host, port } });
        // The write function reads host and port from the secret on its first invocation.
        await pointDatabaseSecretAt(pipeline, { host, port: proxy.port });
      },
    });
  }, 120_000);

  afterAll(async () => {
    // Pipeline first: its stop ends the writer's pool, whose sockets go through the proxy.
    await setup?.stop();
    await proxy?.stop();
  });

  beforeEach(async () => {
    proxy.clearFaults();
    seen = proxy.queries.length;
    cutsBefore = proxy.cuts;
    await emptyWarehouse(setup.pipeline);
  });

  const sentSinceStart = () => proxy.queries.slice(seen);
  const batches = () => Math.ceil(setup.baseline.rows.length / DEFAULT_BATCH_ROWS);

  it('the fault-free run wrote through the proxy, i.e. by the secret the write function reads', () => {
    expect(proxy.connections).toBeGreaterThan(0);
    expect(proxy.queries.filter((query) => UPSERT.test(query.sql))).toHaveLength(batches());
    expect(proxy.cuts).toBe(0);
  });

  it('rolls back a batch cut half-way through its INSERT, loads it again on a fresh connection, and the table equals the fault-free run', async () => {
    const runId = 'faults-mysql-mid-insert';
    proxy.cutOnQuery({ match: UPSERT, at: 'mid-packet' });
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(proxy.cuts - cutsBefore).toBe(1);
    const upserts = sentSinceStart().filter((query) => UPSERT.test(query.sql));
    expect(upserts).toHaveLength(batches() + 1);
    expect(upserts[0]?.cut).toBe('mid-packet');
    expect(upserts[1]?.cut).toBeUndefined();
    expect(upserts[1]?.connection).not.toBe(upserts[0]?.connection);

    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
    expect(outcome.report?.hours).toEqual(setup.baseline.outcome.report?.hours);
  }, 60_000);

  it('rolls back a batch whose COMMIT was cut before the server read it, and loads it again', async () => {
    const runId = 'faults-mysql-mid-commit';
    proxy.cutOnQuery({ match: COMMIT, at: 'mid-packet' });
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(proxy.cuts - cutsBefore).toBe(1);
    const sent = sentSinceStart();
    const cutAt = sent.findIndex((query) => query.cut !== undefined);
    expect(sent[cutAt]?.sql).toMatch(COMMIT);
    // The upsert and the ledger row had run in the cut transaction. That the retry found no
    // ledger row and upserted again shows the server rolled both back.
    expect(sent.slice(0, cutAt).filter((query) => UPSERT.test(query.sql))).toHaveLength(1);
    expect(sent.slice(cutAt + 1).filter((query) => UPSERT.test(query.sql))).toHaveLength(batches());

    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
  }, 60_000);

  it('changes nothing when a COMMIT went through but the connection dropped before its OK', async () => {
    const runId = 'faults-mysql-lost-ok';
    proxy.cutOnQuery({ match: COMMIT, at: 'before-reply' });
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(proxy.cuts - cutsBefore).toBe(1);
    const sent = sentSinceStart();
    const cutAt = sent.findIndex((query) => query.cut !== undefined);
    expect(sent[cutAt]?.sql).toMatch(COMMIT);
    // The retry read the ledger on a fresh connection, found the committed digest, and sent no
    // second upsert: the batch is in exactly once.
    const retried = sent.slice(cutAt + 1);
    expect(retried.some((query) => LEDGER_LOCK.test(query.sql))).toBe(true);
    expect(retried.find((query) => LEDGER_LOCK.test(query.sql))?.connection).not.toBe(
      sent[cutAt]?.connection,
    );
    expect(sent.filter((query) => UPSERT.test(query.sql))).toHaveLength(batches());

    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
  }, 60_000);

  it('hands the write back to the state machine after every attempt on the batch was cut, and the Retry on RetryableWriteError loads it', async () => {
    const runId = 'faults-mysql-retryable';
    // DEFAULT_WRITE_BACKOFF.maxAttempts cuts: the first write invocation ends in RetryableWriteError.
    proxy.cutOnQuery({ match: UPSERT, at: 'mid-packet', times: DEFAULT_WRITE_BACKOFF.maxAttempts });
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(proxy.cuts - cutsBefore).toBe(DEFAULT_WRITE_BACKOFF.maxAttempts);
    expect(await invocations(setup.pipeline, runId, 'write', 'write')).toBe(2);
    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
  }, 60_000);

  it('writes the next run after every pooled connection was dropped while idle (a failover between runs)', async () => {
    const runId = 'faults-mysql-idle-drop';
    // The write function's pool outlives an invocation, as in a warm Lambda container.
    expect(proxy.openConnections).toBeGreaterThan(0);
    expect(proxy.cutAll()).toBeGreaterThan(0);
    const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

    expect(outcome.status).toBe('SUCCEEDED');
    expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
    expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
    expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
  }, 60_000);

  /** One ledger row per batch of at most DEFAULT_BATCH_ROWS rows, together covering every row. */
  function expectedLedger() {
    const total = setup.baseline.rows.length;
    return Array.from({ length: batches() }, (_, batchNo) => ({
      batchNo,
      rowCount: Math.min(DEFAULT_BATCH_ROWS, total - batchNo * DEFAULT_BATCH_ROWS),
    }));
  }
});
