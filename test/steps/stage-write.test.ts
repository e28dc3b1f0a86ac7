import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { type LocalDynamoDb, startDynamoDb } from '#local/services/dynamodb';
import { type LocalMariaDb, startMariaDb } from '#local/services/mariadb';
import { startSecretsManager } from '#local/services/secrets-manager';
import type { RunningService } from '#local/services/service';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { DynamoStagingStore, stagingTableInput } from '#shared/adapters/staging-store';
import { MysqlWarehouse } from '#shared/adapters/warehouse';
import type { AwsClients } from '#shared/aws/clients';
import { type AggregateRow, EMPTY_HOST, rowKey } from '#shared/core/aggregate-row';
import { StageInputError, StageInputSchema, stageRows } from '#shared/steps/stage';
import { WriteInputSchema, writeRun } from '#shared/steps/write';
import { aggregateRows, byKey, STORED_COLUMNS, storedRow } from '../support/aggregate-rows';
import { localClients } from '../support/clients';
import { rootConnection } from '../support/mariadb';
import { localS3, silentLog } from '../support/s3';

const BUCKET = 'data';
const TABLE = 'etl-test-staging';
const noWait = async () => undefined;

/** One hour's `count` distinct rows. */
const hourRows = (hour: string, count: number, seed: number) => aggregateRows(count, seed, [hour]);

describe.each(['insert', 'load-data'] as const)(
  'stage → write in bulk mode %s (real S3, DynamoDB, Secrets Manager and MariaDB stand-ins)',
  (bulkMode) => {
    let directory: string;
    let s3: Awaited<ReturnType<typeof localS3>>;
    let dynamodb: LocalDynamoDb;
    let secretsService: RunningService;
    let mariadb: LocalMariaDb;
    let clients: AwsClients;
    let staging: DynamoStagingStore;
    let warehouse: MysqlWarehouse;
    let root: Connection;

    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), 'etl-stage-write-'));
      [s3, dynamodb, secretsService, mariadb] = await Promise.all([
        localS3([BUCKET]),
        startDynamoDb(),
        startSecretsManager({ region: 'us-east-1' }),
        startMariaDb({ directory }),
      ]);
      clients = localClients({
        s3: s3.service.endpoint,
        dynamodb: dynamodb.endpoint,
        athena: dynamodb.endpoint,
        secretsmanager: secretsService.endpoint,
      });
      await clients.dynamodb.send(new CreateTableCommand(stagingTableInput(TABLE)));
      const { host, port, user, password, database } = mariadb.credentials;
      await clients.secretsManager.send(
        new CreateSecretCommand({
          Name: 'etl/test/mysql',
          SecretString: JSON.stringify({
            engine: 'mysql',
            host,
            port,
            username: user,
            password,
            dbname: database,
          }),
        }),
      );
      staging = new DynamoStagingStore(clients.documents, TABLE, { sleep: noWait });
      // Batches of 500, so the run's 1,350 rows take several (the default, 5,000, would be one).
      warehouse = new MysqlWarehouse(
        new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/mysql'),
        { sleep: noWait, batchRows: 500, bulkMode },
      );
      root = await rootConnection(mariadb, database);
    });

    afterAll(async () => {
      await warehouse?.close();
      await root?.end();
      clients?.destroy();
      await Promise.all([s3?.stop(), dynamodb?.stop(), secretsService?.stop(), mariadb?.stop()]);
      rmSync(directory, { recursive: true, force: true });
    });

    /** Writes an hour's aggregate result file the way the aggregate step does, and returns its key. */
    async function aggregateResult(runId: string, hour: string, rows: AggregateRow[]): Promise<string> {
      const key = `runs/${runId}/aggregates/${hour}.json`;
      await s3.store.putJson(BUCKET, key, {
        runId,
        hour,
        queryExecutionId: `q-${runId}-${hour}`,
        bytesScanned: 123_456,
        engineMs: 42,
        rows,
      });
      return key;
    }

    async function stageAndWrite(runId: string, hours: Record<string, AggregateRow[]>) {
      const staged = [];
      for (const [hour, rows] of Object.entries(hours)) {
        const event = StageInputSchema.parse({ runId, resultKey: await aggregateResult(runId, hour, rows) });
        staged.push(await stageRows(event, { dataBucket: BUCKET }, s3.store, staging, silentLog));
      }
      const written = await writeRun(
        WriteInputSchema.parse({ action: 'write', runId }),
        staging,
        warehouse,
        silentLog,
      );
      return { staged, written };
    }

    /** The whole target table, values and bookkeeping; `execute` returns DOUBLEs bit for bit. */
    async function table() {
      const [rows] = await root.execute<RowDataPacket[]>(`SELECT ${STORED_COLUMNS} FROM cloudfront_hourly`);
      const all = rows.map((stored) => {
        const { updatedAt, loadedByRun, ...row } = storedRow(stored);
        return { row, updatedAt, loadedByRun };
      });
      const [ledger] = await root.query<RowDataPacket[]>(
        'SELECT * FROM etl_load_ledger ORDER BY run_id, batch_no',
      );
      return {
        rows: byKey(all.map((entry) => entry.row)),
        bookkeeping: all
          .map((entry) => `${rowKey(entry.row)} ${entry.updatedAt} ${entry.loadedByRun}`)
          .sort(),
        ledger,
      };
    }

    const firstRun = {
      '2024-07-13T05': hourRows('2024-07-13T05', 700, 21),
      '2024-07-13T06': hourRows('2024-07-13T06', 650, 22),
    };
    const allFirst = Object.values(firstRun).flat();

    it('stages every hour (UnprocessedItems retried) and writes a MySQL table equal to the staged rows', async () => {
      expect(allFirst.some((row) => row.host === EMPTY_HOST && row.meanTimeTaken === null)).toBe(true);
      const before = dynamodb.unprocessedResponses;
      dynamodb.injectUnprocessedItems(5);

      const { staged, written } = await stageAndWrite('run-1', firstRun);
      expect(dynamodb.unprocessedResponses - before).toBe(5);
      expect(staged).toEqual([
        { runId: 'run-1', hour: '2024-07-13T05', staged: 700 },
        { runId: 'run-1', hour: '2024-07-13T06', staged: 650 },
      ]);
      expect(await staging.readRun('run-1')).toEqual(byKey(allFirst));
      expect(written).toEqual({ runId: 'run-1', rows: 1_350, batches: 3, skippedBatches: 0, deletedRows: 0 });
      expect((await table()).rows).toEqual(byKey(allFirst));
    });

    it('changes nothing when the write of the same run runs again', async () => {
      const before = await table();
      const written = await writeRun({ runId: 'run-1' }, staging, warehouse, silentLog);
      expect(written).toEqual({ runId: 'run-1', rows: 1_350, batches: 3, skippedBatches: 3, deletedRows: 0 });
      expect(await table()).toEqual(before);
    });

    it('updates the same keys when a later run brings changed values', async () => {
      const changed = (rows: AggregateRow[]) =>
        rows.map((row, index) =>
          index % 4 === 0 ? { ...row, requests: row.requests + 10, meanTimeTaken: 1.5 } : row,
        );
      const secondRun = {
        '2024-07-13T05': changed(firstRun['2024-07-13T05']),
        '2024-07-13T06': firstRun['2024-07-13T06'],
      };
      const { written } = await stageAndWrite('run-2', secondRun);
      expect(written).toEqual({ runId: 'run-2', rows: 1_350, batches: 3, skippedBatches: 0, deletedRows: 0 });
      const after = await table();
      expect(after.rows).toEqual(byKey(Object.values(secondRun).flat()));
      expect(after.rows).not.toEqual(byKey(allFirst));

      const sum = (hour: string, pick: (row: AggregateRow) => number) =>
        after.rows.filter((row) => row.hour === hour).reduce((total, row) => total + pick(row), 0);
      expect(await warehouse.hoursSummary(['2024-07-13T05', '2024-07-13T06'])).toEqual(
        ['2024-07-13T05', '2024-07-13T06'].map((hour) => ({
          hour,
          requests: sum(hour, (row) => row.requests),
          bytes: sum(hour, (row) => row.bytesSent),
        })),
      );
    });

    it("refuses a result file of another run, or one that is not the aggregate step's", async () => {
      const key = await aggregateResult('run-other', '2024-07-13T05', hourRows('2024-07-13T05', 3, 23));
      await expect(
        stageRows({ runId: 'run-3', resultKey: key }, { dataBucket: BUCKET }, s3.store, staging, silentLog),
      ).rejects.toThrow(StageInputError);

      await s3.store.putJson(BUCKET, 'runs/run-3/aggregates/bad.json', {
        runId: 'run-3',
        hour: '2024-07-13T05',
        rows: [{ hour: '2024-07-13T05', host: '' }],
      });
      const attempt = stageRows(
        { runId: 'run-3', resultKey: 'runs/run-3/aggregates/bad.json' },
        { dataBucket: BUCKET },
        s3.store,
        staging,
        silentLog,
      );
      await expect(attempt).rejects.toThrow(StageInputError);
      await expect(attempt).rejects.toThrow(/is not an aggregate result: .*rows\.0\.host/);
      expect(await staging.readRun('run-3')).toEqual([]);
    });
  },
);
