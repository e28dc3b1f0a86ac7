import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { RunIdSchema } from '#shared/core/run-files';
import { ExtractStateSchema, SyncModeSchema } from '#shared/steps/sync-extract';
import { TableNameSchema } from '#shared/steps/sync-plan';
import { WriteStateSchema } from '#shared/steps/sync-write';

/**
 * The db-sync report (docs/db-sync.md#the-report): per table, rows extracted, staged and written,
 * the watermark before and after, and the reconciliation: row count and order-independent
 * checksum of the declared columns, computed on the source and on the target. Written to
 * `sync-reports/<runId>.json` in the data bucket whatever the outcome; a table whose two sides
 * differ fails the run with SyncReconciliationError.
 */

const ChecksumSchema = z.object({ rows: z.number().int().min(0), checksum: z.string() });

/** What one table's child execution returns. */
export const TableResultSchema = z.object({
  table: TableNameSchema,
  extract: ExtractStateSchema,
  write: WriteStateSchema,
  source: ChecksumSchema,
  target: ChecksumSchema,
});
export type TableResult = z.infer<typeof TableResultSchema>;

const PlanSchema = z.object({ runId: RunIdSchema, mode: SyncModeSchema, tables: z.array(TableNameSchema) });

export const SyncReportInputSchema = z.discriminatedUnion('status', [
  z.object({
    action: z.literal('report'),
    status: z.literal('SUCCEEDED'),
    plan: PlanSchema,
    tables: z.array(TableResultSchema),
    startedAt: z.string(),
  }),
  z.object({
    action: z.literal('report'),
    status: z.literal('FAILED'),
    /** The state when the failure was caught: `plan` and `tables` when the run got that far. */
    input: z
      .object({
        plan: PlanSchema.optional(),
        tables: z.array(TableResultSchema).optional(),
        error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
      })
      .loose(),
    executionName: RunIdSchema,
    startedAt: z.string(),
  }),
]);
export type SyncReportInput = z.infer<typeof SyncReportInputSchema>;

export interface SyncTableReport {
  table: string;
  rows: { extracted: number; staged: number; written: number };
  watermark: { from: unknown; to: unknown };
  reconciliation: {
    status: 'MATCHED' | 'DIFFERENT';
    source: { rows: number; checksum: string };
    target: { rows: number; checksum: string };
  };
}

export interface SyncReport {
  pipeline: 'db-sync';
  status: 'SUCCEEDED' | 'FAILED';
  runId: string;
  mode: 'full' | 'incremental' | undefined;
  startedAt: string;
  finishedAt: string;
  tables: SyncTableReport[];
  error?: { error: string; cause: string };
}

/** A table's row count or checksum differs between source and target after the write. */
export class SyncReconciliationError extends EtlError {}

export const syncReportKey = (runId: string) => `sync-reports/${runId}.json`;

function tableReport(result: TableResult): SyncTableReport {
  const matched =
    result.source.rows === result.target.rows && result.source.checksum === result.target.checksum;
  return {
    table: result.table,
    // Every extracted row is staged by the same invocation (a row changed twice during the run is
    // staged, and written, once).
    rows: {
      extracted: result.extract.extracted,
      staged: result.extract.extracted,
      written: result.write.written,
    },
    watermark: { from: result.extract.from, to: result.extract.cursor },
    reconciliation: {
      status: matched ? 'MATCHED' : 'DIFFERENT',
      source: result.source,
      target: result.target,
    },
  };
}

/** Writes the run's report; throws SyncReconciliationError (after writing it) when a table differs. */
export async function writeSyncReport(
  input: SyncReportInput,
  settings: { dataBucket: string },
  store: ObjectStore,
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<SyncReport> {
  const plan = input.status === 'SUCCEEDED' ? input.plan : input.input.plan;
  const results = input.status === 'SUCCEEDED' ? input.tables : (input.input.tables ?? []);
  const tables = results.map(tableReport);
  const different = tables.filter((table) => table.reconciliation.status === 'DIFFERENT');
  const error =
    input.status === 'FAILED'
      ? { error: input.input.error?.Error ?? 'Unknown', cause: input.input.error?.Cause ?? '' }
      : different.length > 0
        ? {
            error: 'SyncReconciliationError',
            cause: `source and target differ in ${different.map((table) => table.table).join(', ')}`,
          }
        : undefined;
  const runId = plan?.runId ?? (input.status === 'FAILED' ? input.executionName : 'unknown');
  const report: SyncReport = {
    pipeline: 'db-sync',
    status: error === undefined ? 'SUCCEEDED' : 'FAILED',
    runId,
    mode: plan?.mode,
    startedAt: input.startedAt,
    finishedAt: now().toISOString(),
    tables,
    ...(error !== undefined && { error }),
  };
  await store.putJson(settings.dataBucket, syncReportKey(runId), report);
  log.info('sync report written', { status: report.status, tables: tables.length });
  if (input.status === 'SUCCEEDED' && error !== undefined) throw new SyncReconciliationError(error.cause);
  return report;
}
