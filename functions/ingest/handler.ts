import { S3ObjectStore } from '#shared/adapters/object-store';
import { defineHandler } from '#shared/handler';
import { IngestInputSchema, ingest } from '#shared/steps/ingest';

/** Copies the window's source log files into `raw/` and writes the run's manifest. */
export const handler = defineHandler('ingest', IngestInputSchema, (input, { config, clients, log }) =>
  ingest(input, config, new S3ObjectStore(clients.s3), log),
);
