import * as z from 'zod';
import { getJsonIfPresent, type ObjectStore } from '#shared/adapters/object-store';
import type { StagingStore } from '#shared/adapters/staging-store';
import type { UpsertResult, WarehouseWriter } from '#shared/adapters/warehouse';
import type { Logger } from '#shared/core/log';
import { keys, RunIdSchema, TransformSummarySchema } from '#shared/core/run-files';

/** The write step's event: the run whose staged rows go to MySQL. */
export const WriteInputSchema = z.object({ runId: RunIdSchema });
export type WriteInput = z.infer<typeof WriteInputSchema>;

export interface WriteResult extends UpsertResult {
  runId: string;
}

/**
 * Reads the run's staged rows back (Query on the run's partition, never a Scan) and upserts them
 * into MySQL. Each hour the run aggregated (`aggregatedHours`, from the run's transform summary;
 * the staged rows' hours when there is none, as for a hand invocation) is replaced: afterwards
 * MySQL holds exactly that hour's aggregate, groups it no longer has deleted in the same
 * transaction. Staged rows of other hours (left by an earlier attempt of the run id with another
 * window) are not written. Safe to retry: batches the load ledger shows as loaded with the same
 * rows are skipped, and ON DUPLICATE KEY UPDATE makes a re-sent row a no-op.
 */
export async function writeRun(
  input: WriteInput,
  staging: StagingStore,
  warehouse: WarehouseWriter,
  log: Logger,
  aggregatedHours: () => Promise<readonly string[] | undefined> = async () => undefined,
): Promise<WriteResult> {
  const staged = await staging.readRun(input.runId);
  const hours = await aggregatedHours();
  const wanted = hours === undefined ? undefined : new Set(hours);
  const rows = wanted === undefined ? staged : staged.filter((row) => wanted.has(row.hour));
  if (rows.length < staged.length) {
    log.warn('write: staged rows of hours this run did not aggregate left out', {
      rows: staged.length - rows.length,
    });
  }
  log.info('write: staged rows read', { rows: rows.length, hours: hours?.length });
  await warehouse.ensureSchema();
  const replaceHours = hours ?? [...new Set(rows.map((row) => row.hour))];
  const result = await warehouse.upsert(input.runId, rows, { log, replaceHours });
  log.info('write: rows upserted', { ...result });
  return { runId: input.runId, ...result };
}

/** The hours a run aggregated, from its transform summary; undefined when it has none. */
export async function aggregatedHoursOf(
  store: ObjectStore,
  bucket: string,
  runId: string,
): Promise<string[] | undefined> {
  const key = keys.transformSummary(runId);
  const stored = await getJsonIfPresent(store, bucket, key);
  return stored === undefined ? undefined : TransformSummarySchema.parse(stored).hours;
}
