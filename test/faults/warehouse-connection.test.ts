import { runWindow } from '#local/pipeline';
import { startTcpProxy, type TcpProxy } from '#local/services/tcp-proxy';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { DynamoStagingStore } from '#shared/adapters/staging-store';
import {
  DEFAULT_BATCH_ROWS,
  DEFAULT_WRITE_BACKOFF,
  MysqlWarehouse,
  RetryableWriteError,
} from '#shared/adapters/warehouse';
import { writeRun } from '#shared/steps/write';
import {
  emptyWarehouse,
  FAULT_WINDOW,
  type FaultPipeline,
  invocations,
  ledgerRows,
  loadedByRuns,
  pointDatabaseSecretAt,
  stagedRows,
  startFaultPipeline,
  warehouseRows,
} from '../support/fault-pipeline';
import { silentLog } from '../support/s3';

/** The statements of a batch, as the warehouse adapter sends them (mysql2 `query()`: COM_QUERY). */
const UPSERT = /^INSERT INTO `cloudfront_hourly`/;
/** In bulk mode load-data, the statement that streams the batch's rows (before its INSERT … SELECT). */
const LOAD_DATA = /^LOAD DATA LOCAL INFILE/;
const LEDGER_LOCK = /^SELECT digest FROM `etl_load_ledger`/;
const COMMIT = /^COMMIT/;
const SUMMARY = /^SELECT DATE_FORMAT\(hour_start/;
/** The statement that claims batch `batchNo`'s ledger row for `runId` (its placeholder row_count 0 and digest ''). */
const ledgerClaim = (runId: string, batchNo: number) =>
  new RegExp(`^INSERT INTO \`etl_load_ledger\`[^]*VALUES \\('${runId}', ${batchNo}, 0, ''`);

/**
 * The stall tests run the write step itself (staged rows → writeRun → MysqlWarehouse) with a short
 * query timeout: the deployed default (60 s) is what a stall costs in production, too long here.
 */
const STALL_TIMEOUT_MS = 1_000;

/** What `promise` was rejected with (undefined if it resolved), for assertions on the error itself. */
const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe.each(['insert', 'load-data'] as const)(
  'warehouse write in bulk mode %s with the MySQL connection cut mid-batch (writer → TCP proxy → MariaDB)',
  (bulkMode) => {
    /** The statement that sends a batch's rows: one per attempt of a batch that got that far. */
    const BULK = bulkMode === 'load-data' ? LOAD_DATA : UPSERT;

    let setup: FaultPipeline;
    let proxy: TcpProxy;
    /** Statements and cuts the proxy had seen when the current test started. */
    let seen = 0;
    let cutsBefore = 0;

    beforeAll(async () => {
      // Each mode's pipeline imports the handlers afresh, so the write function reads its own
      // WAREHOUSE_BULK_MODE (the configuration is read once per module instance, as per container).
      jest.resetModules();
      setup = await startFaultPipeline('faults-mysql', {
        environment: { WAREHOUSE_BULK_MODE: bulkMode },
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
      expect(proxy.queries.filter((query) => BULK.test(query.sql))).toHaveLength(batches());
      expect(proxy.queries.filter((query) => UPSERT.test(query.sql))).toHaveLength(batches());
      expect(proxy.queries.some((query) => LOAD_DATA.test(query.sql))).toBe(bulkMode === 'load-data');
      expect(proxy.cuts).toBe(0);
    });

    it('rolls back a batch cut half-way through its INSERT, loads it again on a fresh connection, and the table equals the fault-free run', async () => {
      const runId = 'faults-mysql-mid-insert';
      proxy.cutOnQuery({ match: BULK, at: 'mid-packet' });
      const outcome = await runWindow(setup.pipeline, FAULT_WINDOW, runId);

      expect(outcome.status).toBe('SUCCEEDED');
      expect(proxy.cuts - cutsBefore).toBe(1);
      const upserts = sentSinceStart().filter((query) => BULK.test(query.sql));
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
      expect(sent.slice(0, cutAt).filter((query) => BULK.test(query.sql))).toHaveLength(1);
      expect(sent.slice(cutAt + 1).filter((query) => BULK.test(query.sql))).toHaveLength(batches());

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
      // (In bulk mode load-data the retry streams the rows into its session's staging table again
      // before it reads the ledger; only the INSERT into the target is what must not repeat.)
      expect(sent.filter((query) => UPSERT.test(query.sql))).toHaveLength(batches());

      expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
      expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
      expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger());
    }, 60_000);

    it('hands the write back to the state machine after every attempt on the batch was cut, and the Retry on RetryableWriteError loads it', async () => {
      const runId = 'faults-mysql-retryable';
      // DEFAULT_WRITE_BACKOFF.maxAttempts cuts: the first write invocation ends in RetryableWriteError.
      proxy.cutOnQuery({ match: BULK, at: 'mid-packet', times: DEFAULT_WRITE_BACKOFF.maxAttempts });
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

    describe('a connection that stops answering (the proxy swallows a statement and keeps both sockets open)', () => {
      const writers: MysqlWarehouse[] = [];
      afterAll(async () => {
        await Promise.all(writers.map((writer) => writer.close()));
      });

      /** Six batches, so two are in flight most of the time and a failure can stop the rest. */
      const stallBatchRows = () => Math.ceil(setup.baseline.rows.length / 6);
      const stallBatches = () => Math.ceil(setup.baseline.rows.length / stallBatchRows());

      /** A writer as the write function builds one (credentials from the secret, i.e. through the proxy). */
      function writer() {
        const created = new MysqlWarehouse(
          new DatabaseCredentialsProvider(
            setup.pipeline.stack.clients.secretsManager,
            setup.pipeline.stack.mysqlSecretName,
          ),
          {
            batchRows: stallBatchRows(),
            bulkMode,
            queryTimeoutMs: STALL_TIMEOUT_MS,
            backoff: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: DEFAULT_WRITE_BACKOFF.maxAttempts },
          },
        );
        writers.push(created);
        return created;
      }

      function staging() {
        const table = setup.pipeline.environment.STAGING_TABLE;
        if (!table) throw new Error('STAGING_TABLE is not set for stage local');
        return new DynamoStagingStore(setup.pipeline.stack.clients.documents, table);
      }

      /** Stages the fault-free run's rows again under `runId`, as the stage step would have. */
      async function stageBaselineAs(runId: string) {
        const rows = await stagedRows(setup.pipeline, setup.baseline.outcome.runId);
        expect(rows.length).toBe(setup.baseline.rows.length);
        await staging().putRows(runId, rows);
      }

      async function expectTableOfFaultFreeRun(runId: string) {
        expect(await warehouseRows(setup.pipeline)).toEqual(setup.baseline.rows);
        expect(await loadedByRuns(setup.pipeline)).toEqual([runId]);
        expect(await ledgerRows(setup.pipeline, runId)).toEqual(expectedLedger(stallBatchRows()));
      }

      it('has enough rows for several batches', () => {
        expect(stallBatches()).toBe(6);
      });

      it('destroys a connection whose INSERT is never answered, loads the batch on a fresh one, and the table equals the fault-free run', async () => {
        const runId = 'faults-mysql-stalled-insert';
        await stageBaselineAs(runId);
        const target = writer();
        await target.ensureSchema();
        const openBefore = proxy.openConnections;
        proxy.cutOnQuery({ match: BULK, at: 'stall' });
        const started = Date.now();
        const written = await writeRun({ runId }, staging(), target, silentLog);

        expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS);
        expect(written).toEqual({
          runId,
          rows: setup.baseline.rows.length,
          batches: 6,
          skippedBatches: 0,
          deletedRows: 0,
        });
        expect(proxy.cuts - cutsBefore).toBe(1);
        const sent = sentSinceStart();
        const stalled = sent.find((query) => query.cut === 'stall');
        expect(stalled?.sql).toMatch(BULK);
        // Nothing more went over the stalled connection, and it is gone: the writer's pool holds at
        // most its 2 live connections (the stalled one would be a third).
        expect(sent.filter((query) => query.connection === stalled?.connection).at(-1)).toBe(stalled);
        expect(proxy.openConnections - openBefore).toBeLessThanOrEqual(2);
        expect(sent.filter((query) => BULK.test(query.sql))).toHaveLength(stallBatches() + 1);
        await expectTableOfFaultFreeRun(runId);
      }, 60_000);

      it('rolls back a batch whose COMMIT is never answered (the server never saw it) and loads it again', async () => {
        const runId = 'faults-mysql-stalled-commit';
        await stageBaselineAs(runId);
        proxy.cutOnQuery({ match: COMMIT, at: 'stall' });
        const written = await writeRun({ runId }, staging(), writer(), silentLog);

        expect(written).toEqual({
          runId,
          rows: setup.baseline.rows.length,
          batches: 6,
          skippedBatches: 0,
          deletedRows: 0,
        });
        expect(proxy.cuts - cutsBefore).toBe(1);
        // The stalled batch's upsert and ledger row were rolled back when its session ended: the
        // retry found no ledger row and upserted the batch again.
        expect(sentSinceStart().filter((query) => BULK.test(query.sql))).toHaveLength(stallBatches() + 1);
        await expectTableOfFaultFreeRun(runId);
      }, 60_000);

      it("retries the report's hour sums when their SELECT is never answered", async () => {
        const runId = 'faults-mysql-stalled-summary';
        await stageBaselineAs(runId);
        const target = writer();
        await writeRun({ runId }, staging(), target, silentLog);
        const hours = setup.baseline.outcome.report?.hours ?? [];
        expect(hours.length).toBeGreaterThan(0);

        proxy.cutOnQuery({ match: SUMMARY, at: 'stall' });
        const started = Date.now();
        expect(await target.hoursSummary(hours.map((entry) => entry.hour))).toEqual(hours);
        expect(Date.now() - started).toBeGreaterThanOrEqual(STALL_TIMEOUT_MS);
        expect(proxy.cuts - cutsBefore).toBe(1);
        await expectTableOfFaultFreeRun(runId);
      }, 60_000);

      it('after a batch fails for good starts no new batch, keeps only whole batches, and the retried write completes the table', async () => {
        const runId = 'faults-mysql-partial';
        await stageBaselineAs(runId);
        // Batch 2 is cut on every attempt (fast); batch 3, in flight beside it, stalls once, so it
        // is still loading when batch 2 gives up.
        proxy.cutOnQuery({
          match: ledgerClaim(runId, 2),
          at: 'mid-packet',
          times: DEFAULT_WRITE_BACKOFF.maxAttempts,
        });
        proxy.cutOnQuery({ match: ledgerClaim(runId, 3), at: 'stall' });
        const failed = await rejectionOf(writeRun({ runId }, staging(), writer(), silentLog));

        expect(failed).toBeInstanceOf(RetryableWriteError);
        expect((failed as Error).message).toMatch(
          new RegExp(`^batch 2 of run ${runId} failed ${DEFAULT_WRITE_BACKOFF.maxAttempts} time\\(s\\)`),
        );
        const loaded = (await ledgerRows(setup.pipeline, runId)).map((row) => row.batchNo);
        expect(loaded).toEqual(loaded.includes(3) ? [0, 1, 3] : [0, 1]);
        expect(sentSinceStart().some((query) => ledgerClaim(runId, 4).test(query.sql))).toBe(false);

        proxy.clearFaults();
        const retried = await writeRun({ runId }, staging(), writer(), silentLog);
        expect(retried).toEqual({
          runId,
          rows: setup.baseline.rows.length,
          batches: 6,
          skippedBatches: loaded.length,
          deletedRows: 0,
        });
        await expectTableOfFaultFreeRun(runId);
      }, 60_000);

      it('gives up with RetryableWriteError, naming the timeout, when every attempt stalls', async () => {
        const runId = 'faults-mysql-always-stalled';
        await stageBaselineAs(runId);
        proxy.cutOnQuery({
          match: ledgerClaim(runId, 0),
          at: 'stall',
          times: DEFAULT_WRITE_BACKOFF.maxAttempts,
        });
        const started = Date.now();
        const failed = await rejectionOf(writeRun({ runId }, staging(), writer(), silentLog));
        const elapsed = Date.now() - started;

        expect(failed).toBeInstanceOf(RetryableWriteError);
        expect((failed as Error).message).toMatch(
          new RegExp(
            `failed ${DEFAULT_WRITE_BACKOFF.maxAttempts} time\\(s\\); last: PROTOCOL_SEQUENCE_TIMEOUT`,
          ),
        );
        expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_WRITE_BACKOFF.maxAttempts * STALL_TIMEOUT_MS);
        expect(elapsed).toBeLessThan((DEFAULT_WRITE_BACKOFF.maxAttempts + 2) * STALL_TIMEOUT_MS);
        expect(await ledgerRows(setup.pipeline, runId)).not.toContainEqual(
          expect.objectContaining({ batchNo: 0 }),
        );

        // The state machine's Retry: the write again, the connection answering by now.
        const retried = await writeRun({ runId }, staging(), writer(), silentLog);
        expect(retried.skippedBatches).toBe(stallBatches() - 1);
        await expectTableOfFaultFreeRun(runId);
      }, 60_000);
    });

    /** One ledger row per batch of at most `batchRows` rows, together covering every row. */
    function expectedLedger(batchRows = DEFAULT_BATCH_ROWS) {
      const total = setup.baseline.rows.length;
      return Array.from({ length: Math.ceil(total / batchRows) }, (_, batchNo) => ({
        batchNo,
        rowCount: Math.min(batchRows, total - batchNo * batchRows),
      }));
    }
  },
);
