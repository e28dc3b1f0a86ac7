import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { getJsonIfPresent, S3ObjectStore } from '#shared/adapters/object-store';
import { type SyncReport, syncReportKey } from '#shared/steps/sync-report';
import type { LocalPipeline } from '../pipeline';
import { type LocalMariaDb, startMariaDb } from '../services/mariadb';
import { type LocalStack, storeMysqlSecret } from '../stack';

/**
 * db-sync on the local stack (docs/db-sync.md#locally): a second MariaDB stands for the source
 * database in the other account, with its own secret in the local Secrets Manager; the target is
 * the stack's MariaDB. The sync state machines run through the local runner like the run machine.
 */

/** Starts the source MariaDB under `directory` and stores its secret where the extract reads it. */
export async function startSyncSource(
  pipeline: LocalPipeline<LocalStack | undefined>,
  directory: string,
): Promise<LocalMariaDb> {
  const secretId = pipeline.environment.SYNC_SOURCE_SECRET_ID;
  if (!secretId) throw new Error('SYNC_SOURCE_SECRET_ID is not set for stage local');
  const source = await startMariaDb({ directory: join(directory, 'mysql-source'), database: 'shop' });
  try {
    await storeMysqlSecret(pipeline.clients, secretId, source.credentials);
    return source;
  } catch (error) {
    await source.stop();
    throw error;
  }
}

export interface SyncOutcome {
  status: string;
  runId: string;
  report: SyncReport | undefined;
  error?: string;
  cause?: string;
  durationMs: number;
}

/** Runs the sync machine once (`full` or `incremental`) and reads its report back. */
export async function runSync(
  pipeline: LocalPipeline<LocalStack | undefined>,
  mode: 'full' | 'incremental',
  runId: string,
): Promise<SyncOutcome> {
  const machine = pipeline.config.stepFunctions?.stateMachines?.sync;
  if (machine === undefined) throw new Error('serverless.yml defines no `sync` state machine');
  const startedAt = Date.now();
  const result = await pipeline.stepFunctions.startExecution(
    machine.name ?? 'sync',
    { runId, mode },
    { name: `${runId.slice(0, 70)}-${randomBytes(4).toString('hex')}` },
  );
  const store = new S3ObjectStore(pipeline.clients.s3);
  const bucket = pipeline.environment.DATA_BUCKET ?? '';
  const report = (await getJsonIfPresent(store, bucket, syncReportKey(runId))) as SyncReport | undefined;
  return {
    status: result.status,
    runId,
    report,
    error: result.error,
    cause: result.cause,
    durationMs: Date.now() - startedAt,
  };
}

/** The report's lines as `npm run local -- --pipeline db-sync` prints them. */
export function syncSummary(outcome: SyncOutcome): string[] {
  const lines = [
    `status           ${outcome.status} (${outcome.report?.mode ?? '?'} run ${outcome.runId}, ${outcome.durationMs} ms)`,
  ];
  for (const table of outcome.report?.tables ?? []) {
    const { source, target, status } = table.reconciliation;
    lines.push(
      `${table.table.padEnd(16)} ${table.rows.extracted} extracted, ${table.rows.staged} staged, ${table.rows.written} written`,
      `${''.padEnd(16)} reconciliation ${status}: source ${source.rows} rows checksum ${source.checksum}, target ${target.rows} rows checksum ${target.checksum}`,
    );
  }
  if (outcome.report?.error)
    lines.push(`error            ${outcome.report.error.error}: ${outcome.report.error.cause}`);
  else if (outcome.status !== 'SUCCEEDED')
    lines.push(`error            ${outcome.error ?? ''}: ${outcome.cause ?? ''}`);
  return lines;
}
