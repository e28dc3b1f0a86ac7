import { S3ObjectStore } from '#shared/adapters/object-store';
import { DynamoStagingStore } from '#shared/adapters/staging-store';
import { containerDocumentClient } from '#shared/aws/dynamodb';
import { containerS3Client } from '#shared/aws/s3';
import { defineHandler } from '#shared/handler';
import { StageInputSchema, stageRows } from '#shared/steps/stage';

/** One hour's aggregate rows (from S3) into the DynamoDB staging table. */
export const handler = defineHandler(
  'stage',
  StageInputSchema,
  (input, { config, log }) =>
    stageRows(
      input,
      config,
      new S3ObjectStore(containerS3Client(config.aws)),
      new DynamoStagingStore(containerDocumentClient(config.aws), config.stagingTable, {
        ttlDays: config.stagingTtlDays,
      }),
      log,
    ),
  { metrics: (output) => ({ rowsStaged: output.staged }) },
);
