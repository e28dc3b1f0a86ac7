import * as z from 'zod';
import { MysqlSyncSource } from '#shared/adapters/mysql-source';
import { DatabaseCredentialsProvider } from '#shared/adapters/secrets';
import { DynamoSyncState } from '#shared/adapters/sync-state';
import { DynamoTableStaging } from '#shared/adapters/table-staging';
import { containerDocumentClient } from '#shared/aws/dynamodb';
import { containerSecretsManagerClient } from '#shared/aws/secrets-manager';
import { required } from '#shared/config';
import { RunIdSchema } from '#shared/core/run-files';
import { syncTableNamed } from '#shared/core/sync-config';
import { defineHandler, type HandlerContext } from '#shared/handler';
import { checksumSource, ExtractInputSchema, extractTable } from '#shared/steps/sync-extract';
import { PlanInputSchema, planSync, TableNameSchema } from '#shared/steps/sync-plan';
import { syncTables } from '#shared/tables/db-sync';

/** The db-sync source side (in the source's VPC): plan the run, extract a table, checksum it. */
export const EventSchema = z.discriminatedUnion('action', [
  PlanInputSchema,
  ExtractInputSchema,
  z.object({ action: z.literal('checksum'), runId: RunIdSchema, table: TableNameSchema }),
]);

/** The pool lives as long as the container: created on first use, never per invocation. */
let source: MysqlSyncSource | undefined;
function sourceFor({ config }: HandlerContext): MysqlSyncSource {
  source ??= new MysqlSyncSource(
    new DatabaseCredentialsProvider(
      containerSecretsManagerClient(config.aws),
      required(config.sync.sourceSecretId, 'SYNC_SOURCE_SECRET_ID'),
    ),
    config.databaseTls === 'rds' ? { ssl: 'Amazon RDS' } : {},
  );
  return source;
}

export const handler = defineHandler('sync-extract', EventSchema, step, {
  metrics: (output) => ('extracted' in output ? { rowsStaged: output.extracted } : {}),
  closeWhenInvokedLocally: dispose,
});

/** One invocation: the action the event names. */
async function step(event: z.infer<typeof EventSchema>, context: HandlerContext) {
  const { config, log } = context;
  if (event.action === 'plan') return planSync(event, syncTables);
  const table = syncTableNamed(syncTables, event.table);
  if (event.action === 'checksum') return checksumSource(table, sourceFor(context), config.sync.pageRows);
  const documents = containerDocumentClient(config.aws);
  return extractTable(
    event,
    table,
    { ...config.sync },
    {
      source: sourceFor(context),
      staging: new DynamoTableStaging(documents, config.stagingTable, table.declaration, {
        ttlDays: config.stagingTtlDays,
      }),
      state: new DynamoSyncState(documents, config.stagingTable),
    },
    log,
  );
}

/** Ends the pool (the local runner calls it before stopping MariaDB; Lambda never does). */
export async function dispose(): Promise<void> {
  await source?.close();
  source = undefined;
}
