import { z } from 'zod';
import type { StagingStore } from '#shared/adapters/staging-store';
import type { UpsertResult, WarehouseWriter } from '#shared/adapters/warehouse';
import type { Logger } from '#shared/core/log';

/** The write step's event: the run whose staged rows go to MySQL. */
export const WriteInputSchema = z.object({ runId: z.string().min(1) });
export type WriteInput = z.infer<typeof WriteInputSchema>;

export interface WriteResult extends UpsertResult {
  runId: string;
}

/**
 * Reads the run's staged rows back (Query on the run's partition, never a Scan) and upserts them
 * into MySQL. Safe to retry: batches the load ledger shows as loaded with the same rows are
 * skipped, and ON DUPLICATE KEY UPDATE makes a re-sent row a no-op.
 */
export async function writeRun(
  input: WriteInput,
  staging: StagingStore,
  warehouse: WarehouseWriter,
  log: Logger,
): Promise<WriteResult> {
  const rows = await staging.readRun(input.runId);
  log.info('write: staged rows read', { rows: rows.length });
  await warehouse.ensureSchema();
  const result = await warehouse.upsert(input.runId, rows, { log });
  log.info('write: rows upserted', { ...result });
  return { runId: input.runId, ...result };
}
