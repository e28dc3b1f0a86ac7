import { S3ObjectStore } from '#shared/adapters/object-store';
import { containerS3Client } from '#shared/aws/s3';
import { defineHandler } from '#shared/handler';
import { IngestInputSchema, ingest, runCostBudget } from '#shared/steps/ingest';

/** Copies the window's source log files into `raw/` and writes the run's manifest. */
export const handler = defineHandler('ingest', IngestInputSchema, (input, { config, log }) =>
  ingest(
    input,
    { ...config, budget: runCostBudget(config) },
    new S3ObjectStore(containerS3Client(config.aws)),
    log,
  ),
);
