import * as z from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { containerS3Client } from '#shared/aws/s3';
import { BatchIdSchema, keys, RunIdSchema, type TransformResult } from '#shared/core/run-files';
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
export const handler = defineHandler(
  'transform',
  EventSchema,
  async (event, { config, log }): Promise<{ files: unknown[] } | TransformResult> => {
    const store = new S3ObjectStore(containerS3Client(config.aws));
    if (event.action === 'batch') {
      const batch = BatchSchema.parse(
        await store.getJson(config.dataBucket, keys.batch(event.runId, event.batchId)),
      );
      return { files: batch.files };
    }
    const fileLog = log.child({ batchId: event.batchId, fileKey: event.file.key });
    return transformFile(event, config, datasetNamed(config.dataset), store, fileLog);
  },
  {
    metrics: (output) =>
      'rows' in output
        ? {
            rowsRead: output.rows.read,
            rowsAccepted: output.rows.accepted,
            rowsQuarantined: output.rows.quarantined,
            filesTransformed: output.status === 'transformed' ? 1 : 0,
            filesQuarantined: output.status === 'quarantined' ? 1 : 0,
          }
        : {},
  },
);
