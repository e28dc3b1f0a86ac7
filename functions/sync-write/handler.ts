import * as z from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { DynamoSyncState } from '#shared/adapters/sync-state';
import { DynamoTableStaging } from '#shared/adapters/table-staging';
import { MysqlWarehouse } from '#shared/adapters/warehouse';
import { containerDocumentClient } from '#shared/aws/dynamodb';
import { containerS3Client } from '#shared/aws/s3';
import { containerSecretsManagerClient } from '#shared/aws/secrets-manager';
import { required } from '#shared/config';
import { RunIdSchema } from '#shared/core/run-files';
import { type SyncTable, syncTableNamed } from '#shared/core/sync-config';
import { defineHandler, type HandlerContext } from '#shared/handler';
import { TableNameSchema } from '#shared/steps/sync-plan';
import { SyncReportInputSchema, syncReportKey, writeSyncReport } from '#shared/steps/sync-report';
import { checksumTarget, SyncWriteInputSchema, writeTable } from '#shared/steps/sync-write';
import { syncTables } from '#shared/tables/db-sync';

/** The db-sync target side (in the target's VPC): write a table, checksum it, write the run report. */
export const EventSchema = z.union([
  SyncWriteInputSchema,
  z.object({ action: z.literal('checksum'), runId: RunIdSchema, table: TableNameSchema }),
  SyncReportInputSchema,
]);

/** One writer (pool) per target table, for the container's life. */
const warehouses = new Map<string, MysqlWarehouse>();
let credentials: DatabaseCredentialsProvider | undefined;
function warehouseFor({ config }: HandlerContext, table: SyncTable): MysqlWarehouse {
  credentials ??= new DatabaseCredentialsProvider(
    containerSecretsManagerClient(config.aws),
    required(config.sync.targetSecretId, 'SYNC_TARGET_SECRET_ID'),
  );
  let warehouse = warehouses.get(table.name);
  if (warehouse === undefined) {
    warehouse = new MysqlWarehouse(credentials, {
      table: table.name,
      declaration: table.declaration,
      bookkeeping: false,
      // One connection per table: the sync machine bounds how many tables are written at once.
      connectionLimit: 1,
      bulkMode: config.warehouseBulkMode,
      ...(config.databaseTls === 'rds' && { ssl: 'Amazon RDS' }),
    });
    warehouses.set(table.name, warehouse);
  }
  return warehouse;
}

export const handler = defineHandler('sync-write', EventSchema, step, {
  metrics: (output) => ('written' in output ? { rowsWritten: output.written } : {}),
  closeWhenInvokedLocally: dispose,
});

/** One invocation: the action the event names. */
async function step(event: z.infer<typeof EventSchema>, context: HandlerContext) {
  const { config, log } = context;
  if (event.action === 'report') {
    const report = await writeSyncReport(
      event,
      config,
      new S3ObjectStore(containerS3Client(config.aws)),
      log,
    );
    return { status: report.status, runId: report.runId, reportKey: syncReportKey(report.runId) };
  }
  const table = syncTableNamed(syncTables, event.table);
  const warehouse = warehouseFor(context, table);
  if (event.action === 'checksum') {
    await warehouse.ensureSchema();
    return checksumTarget(table, warehouse, config.sync.pageRows);
  }
  const documents = containerDocumentClient(config.aws);
  return writeTable(
    event,
    table,
    { ...config.sync, chunkRows: 5_000, chunkBytes: 4 * 1024 * 1024 },
    {
      staging: new DynamoTableStaging(documents, config.stagingTable, table.declaration, {
        ttlDays: config.stagingTtlDays,
      }),
      warehouse,
      state: new DynamoSyncState(documents, config.stagingTable),
    },
    log,
  );
}

/** Ends the pools (the local runner calls it before stopping MariaDB; Lambda never does). */
export async function dispose(): Promise<void> {
  for (const warehouse of warehouses.values()) await warehouse.close();
  warehouses.clear();
}
