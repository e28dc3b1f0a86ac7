import * as z from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { DynamoStagingStore } from '#shared/adapters/staging-store';
import { MysqlWarehouse } from '#shared/adapters/warehouse';
import { containerDocumentClient } from '#shared/aws/dynamodb';
import { containerS3Client } from '#shared/aws/s3';
import { containerSecretsManagerClient } from '#shared/aws/secrets-manager';
import { keys } from '#shared/core/run-files';
import { defineHandler, type HandlerContext } from '#shared/handler';
import { BackfillReportInputSchema, writeBackfillReport } from '#shared/steps/backfill-report';
import { ReportInputSchema, writeReport } from '#shared/steps/report';
import { aggregatedHoursOf, WriteInputSchema, writeRun } from '#shared/steps/write';

export const EventSchema = z.union([
  WriteInputSchema.extend({ action: z.literal('write') }),
  ReportInputSchema,
  BackfillReportInputSchema,
]);

/** The pool lives as long as the container: created on first use, never per invocation. */
let warehouse: MysqlWarehouse | undefined;
function warehouseFor({ config }: HandlerContext): MysqlWarehouse {
  warehouse ??= new MysqlWarehouse(
    new DatabaseCredentialsProvider(containerSecretsManagerClient(config.aws), config.databaseSecretId),
    {
      table: config.databaseTable,
      bulkMode: config.warehouseBulkMode,
      // RDS serves TLS with certificates of its own CA; mysql2 ships that bundle as a profile.
      ...(config.databaseTls === 'rds' && { ssl: 'Amazon RDS' }),
    },
  );
  return warehouse;
}

/**
 * Upserts the run's staged rows into MySQL (`write`), writes the run report (`report`), and a
 * backfill's summary over its runs' reports (`backfillReport`).
 */
export const handler = defineHandler('write', EventSchema, writeOrReport, {
  metrics: (output) => ('rows' in output ? { rowsWritten: output.rows } : {}),
  closeWhenInvokedLocally: dispose,
});

async function writeOrReport(event: z.infer<typeof EventSchema>, context: HandlerContext) {
  const { config, log } = context;
  if (event.action === 'write') {
    const staging = new DynamoStagingStore(containerDocumentClient(config.aws), config.stagingTable, {
      ttlDays: config.stagingTtlDays,
    });
    const store = new S3ObjectStore(containerS3Client(config.aws));
    return writeRun(event, staging, warehouseFor(context), log, () =>
      aggregatedHoursOf(store, config.dataBucket, event.runId),
    );
  }
  if (event.action === 'backfillReport') {
    return writeBackfillReport(event, config, new S3ObjectStore(containerS3Client(config.aws)), log);
  }
  const report = await writeReport(
    event,
    config,
    new S3ObjectStore(containerS3Client(config.aws)),
    (hours) => warehouseFor(context).hoursSummary(hours),
    log,
  );
  return { status: report.status, runId: report.runId, reportKey: keys.report(report.runId) };
}

/** Ends the pool (the local runner calls it before stopping MariaDB; Lambda never does). */
export async function dispose(): Promise<void> {
  await warehouse?.close();
  warehouse = undefined;
}
