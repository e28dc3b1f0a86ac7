import * as z from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { containerS3Client } from '#shared/aws/s3';
import { defineHandler } from '#shared/handler';
import {
  BackfillWindowsInputSchema,
  type BackfillWindowsOutput,
  backfillWindows,
} from '#shared/steps/backfill-windows';
import { IngestInputSchema, type IngestOutput, ingest, runCostBudget } from '#shared/steps/ingest';

/**
 * Copies the window's source log files into `raw/` and writes the run's manifest; with action
 * `backfillWindows` (the backfill machine), splits a long window into runs instead.
 */
export const handler = defineHandler(
  'ingest',
  z.union([BackfillWindowsInputSchema, IngestInputSchema]),
  (input, { config, log }): Promise<IngestOutput | BackfillWindowsOutput> =>
    'action' in input && input.action === 'backfillWindows'
      ? backfillWindows(input)
      : ingest(
          input,
          { ...config, budget: runCostBudget(config) },
          new S3ObjectStore(containerS3Client(config.aws)),
          log,
        ),
);
