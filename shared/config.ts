import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as z from 'zod';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { type AwsSettings, endpointVariableSettings, localAwsSettings } from '#shared/aws/settings';
import { BATCH_MAP_MODES, type BatchMapMode } from '#shared/core/batch-map';
import { WAREHOUSE_BULK_MODES, type WarehouseBulkMode } from '#shared/core/bulk-mode';
import { ConfigError } from '#shared/core/errors';

/**
 * Every setting the functions read, from the environment that serverless.yml gives each function.
 * This is the only module that reads `process.env`; it parses once and fails fast, naming the
 * variable, instead of letting a handler run half-configured.
 */
const EnvSchema = z.object({
  AWS_REGION: z.string().min(1),
  ETL_STAGE: z.string().min(1),
  /** Set only for the `local` stage: the endpoints file `npm run local:up` writes. */
  ETL_ENDPOINTS_FILE: z.string().optional(),
  /** The standard endpoint variables (AWS CLI, SDKs): any endpoint set without the endpoints file. */
  AWS_ENDPOINT_URL: z.url().optional(),
  AWS_ENDPOINT_URL_S3: z.url().optional(),
  AWS_ENDPOINT_URL_DYNAMODB: z.url().optional(),
  AWS_ENDPOINT_URL_ATHENA: z.url().optional(),
  AWS_ENDPOINT_URL_SECRETS_MANAGER: z.url().optional(),
  ETL_DATASET: z.string().min(1).default('cloudfront'),
  DATA_BUCKET: z.string().min(3),
  SOURCE_BUCKET: z.string().min(3),
  SOURCE_PREFIX: z.string().default(''),
  LOOKBACK_HOURS: z.coerce.number().int().min(0).max(72).default(2),
  /** Hours a scheduled run covers when its input names no window. */
  WINDOW_HOURS: z.coerce.number().int().min(1).max(168).default(1),
  BATCH_MAX_FILES: z.coerce.number().int().min(1).max(1_000).default(200),
  BATCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(2 * 1024 ** 3),
  /** Largest raw file (bytes as stored, usually gzip) the transform takes; larger ones are quarantined. */
  MAX_RAW_FILE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * 1024 ** 2),
  /** The transform function's /tmp in MB (`ephemeralStorageSize`): bounds its spool. */
  TRANSFORM_TMP_MB: z.coerce.number().int().min(512).max(10_240).default(512),
  GLUE_DATABASE: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'Glue database names are lower case without -'),
  ATHENA_WORKGROUP: z.string().min(1),
  ATHENA_QUERY_TIMEOUT_SECONDS: z.coerce.number().int().min(10).default(600),
  /** The hours state machine's Wait between status checks (the report estimates polls from it). */
  ATHENA_POLL_SECONDS: z.coerce.number().int().min(1).default(5),
  /** Hours per child execution of the hours state machine (bounded by its history; shared/core/run-model.ts). */
  HOURS_PER_EXECUTION: z.coerce.number().int().min(1).max(500).default(16),
  /** How the parent runs its batches (`batchMapMode`, shared/core/run-model.ts): ingest chooses per run. */
  BATCH_MAP_MODE: z.enum(BATCH_MAP_MODES).default('inline'),
  STAGING_TABLE: z.string().min(3),
  STAGING_TTL_DAYS: z.coerce.number().int().min(1).default(7),
  DB_SECRET_ID: z.string().min(1),
  DB_TABLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('cloudfront_hourly'),
  /** How the writer sends batches (shared/adapters/warehouse.ts): auto, insert or load-data. */
  WAREHOUSE_BULK_MODE: z.enum(WAREHOUSE_BULK_MODES).default('auto'),
  /** `rds`: TLS verified against the Amazon RDS CA bundle (mysql2's profile); `off` for local MariaDB. */
  DB_TLS: z.enum(['rds', 'off']).default('rds'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** The stage's budget of one run, US dollars (`maxRunCostUsd`): ingest refuses a window over it. */
  MAX_RUN_COST_USD: z.coerce.number().positive(),
  /** `provider.architecture`: Lambda's GB-s price differs between arm64 and x86_64. */
  LAMBDA_ARCHITECTURE: z.enum(['arm64', 'x86_64']).default('x86_64'),
  /** Each function's memory in MB, a JSON object by function name (the run's cost). */
  FUNCTION_MEMORY_MB: z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: `not JSON: ${text.slice(0, 80)}` });
        return z.NEVER;
      }
    })
    .pipe(
      z.object({
        ingest: z.number().int().min(128).max(10_240),
        transform: z.number().int().min(128).max(10_240),
        aggregate: z.number().int().min(128).max(10_240),
        stage: z.number().int().min(128).max(10_240),
        write: z.number().int().min(128).max(10_240),
      }),
    ),
  /** db-sync: the source's and the target's database secrets (each read only by its side's function). */
  SYNC_SOURCE_SECRET_ID: z.string().optional(),
  SYNC_TARGET_SECRET_ID: z.string().optional(),
  /** db-sync: rows per source query and per staged Query page. */
  SYNC_PAGE_ROWS: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** db-sync: rows one extract or write invocation handles before handing over to the next. */
  SYNC_ROWS_PER_INVOCATION: z.coerce.number().int().min(1).default(50_000),
  /** db-sync: seconds one extract or write invocation works before handing over (its timeout is 900). */
  SYNC_INVOCATION_SECONDS: z.coerce.number().int().min(1).max(840).default(600),
  /** Set to `true` by `sls invoke local`: one invocation per process. */
  IS_LOCAL: z.string().optional(),
  /** Set by Lambda: where the deployment package is unpacked (the `sql/` files are there). */
  LAMBDA_TASK_ROOT: z.string().optional(),
});

export type EtlConfig = Readonly<{
  stage: string;
  aws: AwsSettings;
  dataset: string;
  dataBucket: string;
  sourceBucket: string;
  sourcePrefix: string;
  lookbackHours: number;
  windowHours: number;
  batchMaxFiles: number;
  batchMaxBytes: number;
  maxRawFileBytes: number;
  /** Bytes of /tmp one transform's spool may take: the function's ephemeral storage less 64 MB. */
  spoolBytes: number;
  glueDatabase: string;
  athenaWorkGroup: string;
  athenaQueryTimeoutSeconds: number;
  athenaPollSeconds: number;
  hoursPerExecution: number;
  batchMapMode: BatchMapMode;
  stagingTable: string;
  stagingTtlDays: number;
  databaseSecretId: string;
  databaseTable: string;
  warehouseBulkMode: WarehouseBulkMode;
  databaseTls: 'rds' | 'off';
  /** Folder of the SQL templates: in the package on Lambda, the project's `sql/` elsewhere. */
  sqlDirectory: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** The stage's budget of one run, US dollars. */
  maxRunCostUsd: number;
  architecture: 'arm64' | 'x86_64';
  /** Each function's memory in MB. */
  functionMemoryMb: Readonly<Record<'ingest' | 'transform' | 'aggregate' | 'stage' | 'write', number>>;
  /** The transform's /tmp in MB (billed above 512). */
  transformEphemeralStorageMb: number;
  sync: Readonly<{
    sourceSecretId: string | undefined;
    targetSecretId: string | undefined;
    pageRows: number;
    rowsPerInvocation: number;
    invocationBudgetMs: number;
  }>;
  /**
   * Under `sls invoke local` the process runs one invocation and should then exit: handlers that
   * hold pools (the writer's MySQL connections) close them after the invocation.
   */
  invokedLocally: boolean;
}>;

export function parseConfig(env: Record<string, string | undefined>): EtlConfig {
  // Empty strings come from `${param:…}` values left blank in serverless.yml: treat them as unset.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new ConfigError(`Invalid or missing environment: ${problems}`);
  }
  const values = parsed.data;
  const aws: AwsSettings =
    values.ETL_ENDPOINTS_FILE === undefined
      ? endpointVariableSettings(values.AWS_REGION, {
          AWS_ENDPOINT_URL: values.AWS_ENDPOINT_URL,
          AWS_ENDPOINT_URL_S3: values.AWS_ENDPOINT_URL_S3,
          AWS_ENDPOINT_URL_DYNAMODB: values.AWS_ENDPOINT_URL_DYNAMODB,
          AWS_ENDPOINT_URL_ATHENA: values.AWS_ENDPOINT_URL_ATHENA,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: values.AWS_ENDPOINT_URL_SECRETS_MANAGER,
        })
      : localAwsSettings(readEndpointsFile(values.ETL_ENDPOINTS_FILE));
  return {
    stage: values.ETL_STAGE,
    aws,
    dataset: values.ETL_DATASET,
    dataBucket: values.DATA_BUCKET,
    sourceBucket: values.SOURCE_BUCKET,
    sourcePrefix: values.SOURCE_PREFIX,
    lookbackHours: values.LOOKBACK_HOURS,
    windowHours: values.WINDOW_HOURS,
    batchMaxFiles: values.BATCH_MAX_FILES,
    batchMaxBytes: values.BATCH_MAX_BYTES,
    maxRawFileBytes: values.MAX_RAW_FILE_BYTES,
    spoolBytes: (values.TRANSFORM_TMP_MB - 64) * 1024 ** 2,
    glueDatabase: values.GLUE_DATABASE,
    athenaWorkGroup: values.ATHENA_WORKGROUP,
    athenaQueryTimeoutSeconds: values.ATHENA_QUERY_TIMEOUT_SECONDS,
    athenaPollSeconds: values.ATHENA_POLL_SECONDS,
    hoursPerExecution: values.HOURS_PER_EXECUTION,
    batchMapMode: values.BATCH_MAP_MODE,
    stagingTable: values.STAGING_TABLE,
    stagingTtlDays: values.STAGING_TTL_DAYS,
    databaseSecretId: values.DB_SECRET_ID,
    databaseTable: values.DB_TABLE,
    warehouseBulkMode: values.WAREHOUSE_BULK_MODE,
    databaseTls: values.DB_TLS,
    sqlDirectory: findFolderUp([values.LAMBDA_TASK_ROOT, process.cwd()], 'sql'),
    logLevel: values.LOG_LEVEL,
    maxRunCostUsd: values.MAX_RUN_COST_USD,
    architecture: values.LAMBDA_ARCHITECTURE,
    functionMemoryMb: values.FUNCTION_MEMORY_MB,
    transformEphemeralStorageMb: values.TRANSFORM_TMP_MB,
    sync: {
      sourceSecretId: values.SYNC_SOURCE_SECRET_ID,
      targetSecretId: values.SYNC_TARGET_SECRET_ID,
      pageRows: values.SYNC_PAGE_ROWS,
      rowsPerInvocation: values.SYNC_ROWS_PER_INVOCATION,
      invocationBudgetMs: values.SYNC_INVOCATION_SECONDS * 1000,
    },
    invokedLocally: values.IS_LOCAL === 'true',
  };
}

/**
 * The nearest `<start>/…/<name>` folder from the first start that has one: `sql/` sits at the
 * package root in Lambda (LAMBDA_TASK_ROOT), at the project root locally, and above the bundle's
 * working directory under `sls invoke local` (which sets LAMBDA_TASK_ROOT to a /var/task that
 * does not exist here).
 */
function findFolderUp(starts: (string | undefined)[], name: string): string {
  for (const start of starts) {
    if (start === undefined) continue;
    for (let folder = resolve(start); ; folder = dirname(folder)) {
      if (existsSync(join(folder, name))) return join(folder, name);
      if (dirname(folder) === folder) break;
    }
  }
  return join(process.cwd(), name);
}

/** A setting only some functions need (db-sync's secrets): ConfigError naming the variable when unset. */
export function required<T>(value: T | undefined, variable: string): T {
  if (value === undefined) throw new ConfigError(`Invalid or missing environment: ${variable} is not set`);
  return value;
}

let cached: EtlConfig | undefined;

/** The configuration of this container, read from `process.env` on first use. */
export function config(): EtlConfig {
  cached ??= parseConfig(process.env);
  return cached;
}
