import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  InvalidRequestException,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  CreateTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { BucketAlreadyOwnedByYou, CreateBucketCommand } from '@aws-sdk/client-s3';
import type { AwsClients } from '#shared/aws/clients';
import type { ServerlessConfig } from './serverless-config';

type Properties = Record<string, unknown>;

/** Bucket the local stack creates for query results of its own DDL (Athena needs an output location). */
export const LOCAL_ATHENA_RESULTS_BUCKET = 'local-athena-results';

/**
 * Creates in the local stack what the stage's CloudFormation resources describe (S3 buckets,
 * DynamoDB tables with their TTL, Athena workgroups, Glue databases and tables as Athena DDL), plus
 * the buckets the functions' environment names. One definition in serverless.yml serves both.
 */
export async function provisionFromServerless(
  config: ServerlessConfig,
  clients: AwsClients,
): Promise<string[]> {
  const created: string[] = [];
  const resources = Object.values(config.resources?.Resources ?? {});
  const environment = config.provider.environment;

  const buckets = new Set<string>();
  for (const name of [environment.DATA_BUCKET, environment.SOURCE_BUCKET])
    if (typeof name === 'string') buckets.add(name);
  for (const resource of resources) {
    if (resource.Type === 'AWS::S3::Bucket' && typeof resource.Properties?.BucketName === 'string') {
      buckets.add(resource.Properties.BucketName);
    }
  }
  for (const bucket of buckets) {
    try {
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      if (
        !(error instanceof BucketAlreadyOwnedByYou) &&
        (error as { name?: string }).name !== 'BucketAlreadyExists'
      )
        throw error;
    }
    created.push(`s3://${bucket}`);
  }

  for (const resource of resources) {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        created.push(await createTable(clients, properties));
        break;
      case 'AWS::Athena::WorkGroup':
        created.push(await createWorkGroup(clients, properties));
        break;
      case 'AWS::Glue::Database': {
        const input = properties.DatabaseInput as Properties | undefined;
        const name = String(input?.Name);
        await runDdl(clients, `CREATE DATABASE IF NOT EXISTS \`${name}\``);
        created.push(`glue database ${name}`);
        break;
      }
      default:
        break;
    }
  }
  // Tables after databases, whatever their order in the template.
  for (const resource of resources) {
    if (resource.Type !== 'AWS::Glue::Table') continue;
    const properties = resource.Properties ?? {};
    const database = String(properties.DatabaseName);
    const table = properties.TableInput as GlueTableInput;
    // A CloudFormation update replaces the table's definition; dropping an external table keeps
    // its data, so drop-and-create gives the local catalog the template's current definition.
    await runDdl(clients, `DROP TABLE IF EXISTS \`${database}\`.\`${table.Name}\``);
    await runDdl(clients, glueTableToDdl(database, table));
    created.push(
      `glue table ${String(properties.DatabaseName)}.${(properties.TableInput as GlueTableInput).Name}`,
    );
  }
  return created;
}

async function createTable(clients: AwsClients, properties: Properties): Promise<string> {
  const name = String(properties.TableName);
  try {
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: properties.KeySchema as CreateTableCommand['input']['KeySchema'],
        AttributeDefinitions:
          properties.AttributeDefinitions as CreateTableCommand['input']['AttributeDefinitions'],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName) {
    await clients.dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true },
      }),
    );
  }
  return `dynamodb table ${name}${ttl?.AttributeName ? ` (TTL ${ttl.AttributeName})` : ''}`;
}

async function createWorkGroup(clients: AwsClients, properties: Properties): Promise<string> {
  const name = String(properties.Name);
  const configuration = properties.WorkGroupConfiguration as CreateWorkGroupCommand['input']['Configuration'];
  try {
    await clients.athena.send(new CreateWorkGroupCommand({ Name: name, Configuration: configuration }));
  } catch (error) {
    if (!(error instanceof InvalidRequestException && /already (exists|created)/i.test(error.message)))
      throw error;
  }
  return `athena workgroup ${name}`;
}

interface GlueColumn {
  Name: string;
  Type: string;
  Comment?: string;
}
export interface GlueTableInput {
  Name: string;
  TableType?: string;
  Parameters?: Record<string, string>;
  PartitionKeys?: GlueColumn[];
  StorageDescriptor: {
    Columns: GlueColumn[];
    Location: string;
    InputFormat?: string;
    OutputFormat?: string;
    SerdeInfo?: { SerializationLibrary?: string; Parameters?: Record<string, string> };
  };
}

/** Renders a CloudFormation Glue TableInput as the Athena DDL that defines the same table. */
export function glueTableToDdl(database: string, table: GlueTableInput): string {
  const columns = (list: GlueColumn[]) =>
    list.map((column) => `\`${column.Name}\` ${column.Type}`).join(',\n  ');
  const storage = table.StorageDescriptor;
  const serde = storage.SerdeInfo?.SerializationLibrary ?? '';
  const lines = [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${database}\`.\`${table.Name}\` (\n  ${columns(storage.Columns)}\n)`,
  ];
  if (table.PartitionKeys?.length) lines.push(`PARTITIONED BY (\n  ${columns(table.PartitionKeys)}\n)`);
  if (/parquet/i.test(serde) || /parquet/i.test(storage.InputFormat ?? '')) {
    lines.push('STORED AS PARQUET');
  } else {
    const delimiter = storage.SerdeInfo?.Parameters?.['field.delim'] ?? '\t';
    lines.push(`ROW FORMAT DELIMITED FIELDS TERMINATED BY '${delimiter === '\t' ? '\\t' : delimiter}'`);
    lines.push('STORED AS TEXTFILE');
  }
  lines.push(`LOCATION '${storage.Location}'`);
  const parameters = Object.entries(table.Parameters ?? {});
  if (parameters.length > 0) {
    lines.push(
      `TBLPROPERTIES (\n  ${parameters.map(([key, value]) => `'${key}'='${value.replaceAll("'", "''")}'`).join(',\n  ')}\n)`,
    );
  }
  return lines.join('\n');
}

async function runDdl(clients: AwsClients, sql: string): Promise<void> {
  const { QueryExecutionId } = await clients.athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      ResultConfiguration: { OutputLocation: `s3://${LOCAL_ATHENA_RESULTS_BUCKET}/ddl/` },
    }),
  );
  for (;;) {
    const { QueryExecution } = await clients.athena.send(new GetQueryExecutionCommand({ QueryExecutionId }));
    const state = QueryExecution?.Status?.State;
    if (state === 'SUCCEEDED') return;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new Error(`Local DDL ${state}: ${QueryExecution?.Status?.StateChangeReason ?? ''}\n${sql}`);
    }
    await sleep(20);
  }
}
