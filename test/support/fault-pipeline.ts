import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import {
  type LocalPipeline,
  type RunOutcome,
  runWindow,
  seedSource,
  sourceOf,
  startLocalPipeline,
} from '#local/pipeline';
import { writeSampleDirectory } from '#local/sample/index';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { DynamoStagingStore } from '#shared/adapters/staging-store';
import { LEDGER_TABLE } from '#shared/adapters/warehouse';
import type { AggregateRow } from '#shared/core/aggregate-row';

/** Three hours of a seeded day, two small files each: a few dozen warehouse rows, a run in ~1 s. */
export const FAULT_DAY = '2024-07-13';
export const FAULT_WINDOW = { from: `${FAULT_DAY}T00`, to: `${FAULT_DAY}T03` };

/** The business columns of the target table, in key order (not updated_at / loaded_by_run). */
export type WarehouseRow = Record<string, unknown>;

export interface FaultPipeline {
  pipeline: LocalPipeline;
  /** The fault-free run of the sample: its outcome and the table it left. */
  baseline: { outcome: RunOutcome; rows: WarehouseRow[] };
  stop(): Promise<void>;
}

/**
 * Starts the local pipeline in a temp directory, seeds a small sample and runs the window once
 * without faults: that run's table is what every fault run of the same input must leave.
 * `beforeBaseline` runs before it (e.g. to route the writer through a proxy, so the baseline
 * takes the same path as the fault runs). `environment` is set on top of the functions' own
 * (e.g. WAREHOUSE_BULK_MODE).
 */
export async function startFaultPipeline(
  name: string,
  options: {
    beforeBaseline?: (pipeline: LocalPipeline) => Promise<void>;
    environment?: Record<string, string>;
  } = {},
): Promise<FaultPipeline> {
  const work = mkdtempSync(join(tmpdir(), `etl-${name}-`));
  let pipeline: LocalPipeline | undefined;
  try {
    // Waits and Step Functions retry intervals at 1/100 (the 1 s Athena poll becomes 10 ms).
    // The adapters' own backoffs (Athena start, DynamoDB batch, MySQL batch) are not scaled.
    pipeline = await startLocalPipeline({
      directory: join(work, 'stack'),
      waitTimeScale: 0.01,
      environment: { LOG_LEVEL: 'error', ...options.environment },
    });
    const sample = join(work, 'sample');
    writeSampleDirectory(sample, { seed: 11, day: FAULT_DAY, hours: 3, filesPerHour: 2, rowsPerFile: 30 });
    await seedSource(new S3ObjectStore(pipeline.stack.clients.s3), sourceOf(pipeline.environment), sample);
    await options.beforeBaseline?.(pipeline);
    const outcome = await runWindow(pipeline, FAULT_WINDOW, `${name}-baseline`);
    if (outcome.status !== 'SUCCEEDED') {
      throw new Error(`The fault-free run ended ${outcome.status}: ${outcome.error} ${outcome.cause}`);
    }
    const rows = await warehouseRows(pipeline);
    if (rows.length === 0) throw new Error('The fault-free run left the warehouse empty: nothing to compare');
    const started = pipeline;
    return {
      pipeline: started,
      baseline: { outcome, rows },
      async stop() {
        await started.stop();
        rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await pipeline?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** A direct connection to the stack's MariaDB (never through a proxy a test put in the writer's way). */
async function withDatabase<T>(
  pipeline: LocalPipeline,
  work: (connection: Awaited<ReturnType<typeof createConnection>>) => Promise<T>,
): Promise<T> {
  const { host, port, user, password, database } = pipeline.stack.mysql.credentials;
  const connection = await createConnection({ host, port, user, password, database, dateStrings: true });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

function tableName(pipeline: LocalPipeline): string {
  return pipeline.environment.DB_TABLE || 'cloudfront_hourly';
}

/** Every business column of the target table, ordered by its key. */
export function warehouseRows(pipeline: LocalPipeline): Promise<WarehouseRow[]> {
  return withDatabase(pipeline, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT DATE_FORMAT(hour_start, '%Y-%m-%dT%H') AS hour, host, status, requests, bytes_sent, client_errors,
              server_errors, mean_time_taken, p95_time_taken, distinct_client_ips
         FROM \`${tableName(pipeline)}\` ORDER BY hour_start, host, status`,
    );
    return rows.map((row) => ({ ...row }));
  });
}

/** The runs named as last writer of some row (`loaded_by_run`), sorted. */
export function loadedByRuns(pipeline: LocalPipeline): Promise<string[]> {
  return withDatabase(pipeline, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT DISTINCT loaded_by_run FROM \`${tableName(pipeline)}\` ORDER BY loaded_by_run`,
    );
    return rows.map((row) => String(row.loaded_by_run));
  });
}

/** The load ledger's rows of one run, by batch number. */
export function ledgerRows(
  pipeline: LocalPipeline,
  runId: string,
): Promise<{ batchNo: number; rowCount: number }[]> {
  return withDatabase(pipeline, async (connection) => {
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT batch_no, row_count FROM \`${LEDGER_TABLE}\` WHERE run_id = ? ORDER BY batch_no`,
      [runId],
    );
    return rows.map((row) => ({ batchNo: Number(row.batch_no), rowCount: Number(row.row_count) }));
  });
}

/**
 * Empties the target table, so the next run must write every row itself: a run that wrote
 * nothing cannot pass for one that wrote the same rows again. The ledger is kept: it is keyed by
 * run id, and each fault run has its own.
 */
export function emptyWarehouse(pipeline: LocalPipeline): Promise<void> {
  return withDatabase(pipeline, async (connection) => {
    await connection.query(`TRUNCATE TABLE \`${tableName(pipeline)}\``);
  });
}

/**
 * Points the database secret (the one the write function reads, `etl/local/mysql`) at another
 * host and port, keeping every other field: the writer then reaches MySQL through whatever listens
 * there, by the deployed code path (credentials from Secrets Manager).
 */
export async function pointDatabaseSecretAt(
  pipeline: LocalPipeline,
  target: { host: string; port: number },
): Promise<void> {
  const secretsManager = pipeline.stack.clients.secretsManager;
  const SecretId = pipeline.stack.mysqlSecretName;
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId }));
  const secret: unknown = JSON.parse(SecretString ?? 'null');
  if (typeof secret !== 'object' || secret === null || !('host' in secret) || !('port' in secret)) {
    throw new Error(`Secret ${SecretId} is not the RDS-shaped JSON the stack stores`);
  }
  await secretsManager.send(
    new PutSecretValueCommand({
      SecretId,
      SecretString: JSON.stringify({ ...secret, host: target.host, port: target.port }),
    }),
  );
}

/** The rows staged for a run (one per item), read back through the staging adapter. */
export async function stagedRows(pipeline: LocalPipeline, runId: string): Promise<AggregateRow[]> {
  const table = pipeline.environment.STAGING_TABLE;
  if (!table) throw new Error('STAGING_TABLE is not set for stage local');
  return new DynamoStagingStore(pipeline.stack.clients.documents, table).readRun(runId);
}

/**
 * Handler invocations of a run, from the EMF line the handler wrapper writes for every one: how
 * often Step Functions called a function and action.
 */
export async function invocations(
  pipeline: LocalPipeline,
  runId: string,
  fn: string,
  action?: string,
): Promise<number> {
  return pipeline
    .timings(runId)
    .filter((timing) => timing.function === fn && (action === undefined || timing.action === action)).length;
}
