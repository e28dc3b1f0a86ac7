import { S3ObjectStore } from '#shared/adapters/object-store';
import { AthenaQueryRunner } from '#shared/adapters/query-runner';
import { datasetNamed } from '#shared/datasets/index';
import { defineHandler } from '#shared/handler';
import { AggregateInputSchema, aggregate } from '#shared/steps/aggregate';

/** The hourly Athena aggregate, one action per state: hours, start, status, results. */
export const handler = defineHandler('aggregate', AggregateInputSchema, (input, { config, clients, log }) =>
  aggregate(
    input,
    { ...config, table: datasetNamed(config.dataset).table.table },
    new S3ObjectStore(clients.s3),
    new AthenaQueryRunner(clients.athena),
    log.child({ hour: 'hour' in input ? input.hour : undefined }),
  ),
);
