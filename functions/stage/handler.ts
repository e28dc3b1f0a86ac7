import { S3ObjectStore } from '#shared/adapters/object-store';
import { DynamoStagingStore } from '#shared/adapters/staging-store';
import { defineHandler } from '#shared/handler';
import { StageInputSchema, stageRows } from '#shared/steps/stage';

/** One hour's aggregate rows (from S3) into the DynamoDB staging table. */
export const handler = defineHandler('stage', StageInputSchema, (input, { config, clients, log }) =>
  stageRows(
    input,
    config,
    new S3ObjectStore(clients.s3),
    new DynamoStagingStore(clients.documents, config.stagingTable, { ttlDays: config.stagingTtlDays }),
    log,
  ),
);
