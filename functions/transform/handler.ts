import { z } from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { BatchIdSchema, keys, RunIdSchema } from '#shared/core/run-files';
import { datasetNamed } from '#shared/datasets/index';
import { defineHandler } from '#shared/handler';
import { BatchSchema } from '#shared/steps/ingest';
import { TransformInputSchema, transformFile } from '#shared/steps/transform';

export const EventSchema = z.discriminatedUnion('action', [
  /** The child state machine's first step: the batch's file list, for its Map. */
  z.object({ action: z.literal('batch'), runId: RunIdSchema, batchId: BatchIdSchema }),
  TransformInputSchema.extend({ action: z.literal('file') }),
]);

/** One raw log file → curated Parquet per hour; or, first in a batch, the batch's file list. */
export const handler = defineHandler('transform', EventSchema, async (event, { config, clients, log }) => {
  const store = new S3ObjectStore(clients.s3);
  if (event.action === 'batch') {
    const batch = BatchSchema.parse(
      await store.getJson(config.dataBucket, keys.batch(event.runId, event.batchId)),
    );
    return { files: batch.files };
  }
  const fileLog = log.child({ batchId: event.batchId, fileKey: event.file.key });
  return transformFile(event, config, datasetNamed(config.dataset), store, fileLog);
});
