import { S3ObjectStore } from '#shared/adapters/object-store';
import { AthenaQueryRunner } from '#shared/adapters/query-runner';
import { containerAthenaClient } from '#shared/aws/athena';
import { containerS3Client } from '#shared/aws/s3';
import { tableNamed } from '#shared/datasets/tables';
import { defineHandler } from '#shared/handler';
import { AggregateInputSchema, aggregate } from '#shared/steps/aggregate';

/** The hourly Athena aggregate, one action per state: hours, start, status, results. */
export const handler = defineHandler(
  'aggregate',
  AggregateInputSchema,
  (input, { config, log }) =>
    aggregate(
      input,
      { ...config, table: tableNamed(config.dataset).table },
      new S3ObjectStore(containerS3Client(config.aws)),
      new AthenaQueryRunner(containerAthenaClient(config.aws)),
      log.child({ hour: 'hour' in input ? input.hour : undefined }),
    ),
  {
    metrics: (output) =>
      'bytesScanned' in output && typeof output.bytesScanned === 'number'
        ? { athenaBytesScanned: output.bytesScanned }
        : {},
  },
);
