import * as z from 'zod';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './plan';
import { athenaBilledBytes, PRICES } from './prices';
import { priceRun, type RunUsage } from './run-cost';
import {
  ATHENA_CONCURRENT_QUERY_QUOTA,
  BATCH_MAP_MODES,
  type BatchMap,
  batchExecution,
  checkLimits,
  chooseBatchMap,
  HISTORY_EVENT_BUDGET,
  HISTORY_EVENT_CAP,
  historyEvents,
  hourGroupsForWindow,
  hoursExecution,
  INGEST_COPY_CONCURRENCY,
  MAP_RUN_MAX_CONCURRENCY,
  MAX_FILES_PER_BATCH,
  mapRunChildExecution,
  maxBatchesPerRun,
  RESULT_READ_CONCURRENCY,
  runExecution,
  stateTransitions,
  worstHoursExecutionEvents,
} from './run-model';

/**
 * The planner behind `npm run plan`: how large a run a stage's settings carry, how long it takes
 * and what it costs, from the run model (history events, transitions, limits) and the prices.
 * Pure: a workload and the stage's settings in, numbers and findings out (docs/run-model.md).
 */

/**
 * What the planner assumes about the data and the functions, each from a measurement named here.
 * The bench figures are from docs/transform.md (1,000,000 CloudFront rows, 399.5 MiB of text,
 * 94.4 MiB gzip, 61.1 MiB of Parquet, 3.64-3.77 s of CPU); the latencies are typical S3 and
 * Athena round trips in-region, not measured here.
 */
export const ASSUMPTIONS = {
  /** Text bytes per stored (gzip) byte: 399.5 / 94.4 MiB. */
  textBytesPerStoredByte: 4.2,
  /** Text bytes per log line: 399.5 MiB / 1,000,000 rows. */
  textBytesPerRow: 419,
  /** Parquet bytes per row: 61.1 MiB / 1,000,000 rows; Athena scans at most this (every column). */
  parquetBytesPerRow: 64,
  /** Rows the transform parses and writes per second of one vCPU: 1,000,000 rows in 3.7 s of CPU. */
  transformRowsPerVcpuSecond: 270_000,
  /** Lambda gives a function one full vCPU at 1,769 MB, proportionally less below. */
  lambdaMbPerVcpu: 1_769,
  /** Hours a raw file's rows fall in (CloudFront delivers by hour; some lines straddle the edge). */
  hoursPerRawFile: 1.2,
  /** One S3 request's latency (HEAD, GET of a small object, server-side COPY of a log file), seconds. */
  s3RequestSeconds: 0.03,
  /** Server-side copies ingest keeps in flight (shared/steps/ingest.ts). */
  ingestCopyConcurrency: INGEST_COPY_CONCURRENCY,
  /** File results PlanHours reads at once (shared/steps/aggregate.ts). */
  resultReadConcurrency: RESULT_READ_CONCURRENCY,
  /** Invocation overhead of a short task (S3 reads and writes of small objects), seconds. */
  shortTaskSeconds: 0.3,
  /** An hour's Athena query from start to SUCCEEDED (queueing included), seconds. */
  athenaQuerySeconds: 4,
  /** GetQueryResults pages into S3 and DynamoDB staging of one hour, seconds each. */
  resultsSeconds: 0.5,
  /** Aggregate rows per hour (distinct host × status): what is staged in DynamoDB and written to MySQL. */
  aggregateRowsPerHour: 200,
  /** A staged item's size in bytes (under 1 KB: one write unit). */
  stagedItemBytes: 300,
  /** Rows the writer upserts into MySQL per second. */
  warehouseRowsPerSecond: 5_000,
  /** A child execution's start and end as seen by its parent (startExecution.sync:2 polling), seconds. */
  childExecutionOverheadSeconds: 2,
} as const;

const FunctionSettingsSchema = z.object({
  memoryMb: z.number().int().positive(),
  timeoutSeconds: z.number().int().positive(),
  /** Reserved concurrency; 0 or absent: none reserved. */
  reservedConcurrency: z.number().int().nonnegative(),
  ephemeralStorageMb: z.number().int().min(512),
});

/** A stage's settings as the planner reads them (serverless.yml `custom.limits` and `functions`). */
export const StageSettingsSchema = z.object({
  stage: z.string(),
  architecture: z.enum(['arm64', 'x86_64']),
  windowHours: z.number().int().positive(),
  lookbackHours: z.number().int().nonnegative(),
  batchConcurrency: z.number().int().positive(),
  /** Inline, distributed or auto (serverless.yml `batchMapMode`): how the parent runs its batches. */
  batchMapMode: z.enum(BATCH_MAP_MODES),
  toleratedBatchFailurePercentage: z.number().min(0).max(100),
  fileConcurrency: z.number().int().positive(),
  batchMaxFiles: z.number().int().positive(),
  batchMaxBytes: z.number().positive(),
  athenaConcurrency: z.number().int().positive(),
  athenaPollSeconds: z.number().positive(),
  athenaQueryTimeoutSeconds: z.number().positive(),
  hoursPerExecution: z.number().int().positive(),
  accountConcurrencyLimit: z.number().int().positive(),
  maxRawFileBytes: z.number().positive(),
  rawExpansion: z.number().positive(),
  projectionStartDate: z.string(),
  /** A backfill's run length and how many runs it starts at once (`planBackfill`). */
  backfillHoursPerRun: z.number().int().positive(),
  backfillConcurrency: z.number().int().positive(),
  functions: z.object({
    ingest: FunctionSettingsSchema,
    transform: FunctionSettingsSchema,
    aggregate: FunctionSettingsSchema,
    stage: FunctionSettingsSchema,
    write: FunctionSettingsSchema,
  }),
});
export type StageSettings = z.infer<typeof StageSettingsSchema>;
type FunctionName = keyof StageSettings['functions'];

/** The resolved Serverless config's parts the settings come from (`sls print`). */
const ResolvedConfigSchema = z.object({
  provider: z.object({ stage: z.string(), architecture: z.string().optional() }),
  custom: z.object({ limits: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) }),
  functions: z.record(
    z.string(),
    z.object({
      memorySize: z.number().optional(),
      timeout: z.number().optional(),
      reservedConcurrency: z.number().optional(),
      ephemeralStorageSize: z.number().optional(),
    }),
  ),
});

/** Lambda's defaults for what a function leaves unset. */
const LAMBDA_DEFAULTS = { memoryMb: 1024, timeoutSeconds: 6, ephemeralStorageMb: 512 } as const;

/**
 * The stage's settings from its resolved Serverless config, read where `sls package` reads them
 * (`custom.limits`, each function's memory, timeout, reserved concurrency and /tmp). Throws naming
 * the setting that is missing or malformed.
 */
export function stageSettingsFromConfig(resolved: unknown): StageSettings {
  const config = ResolvedConfigSchema.parse(resolved);
  const limits = config.custom.limits;
  const number = (name: string) => {
    const value = Number(limits[name]);
    if (limits[name] === undefined || !Number.isFinite(value)) {
      throw new Error(`custom.limits.${name} in serverless.yml is ${String(limits[name])}, not a number`);
    }
    return value;
  };
  const fn = (name: FunctionName) => {
    const settings = config.functions[name];
    if (settings === undefined) throw new Error(`serverless.yml defines no function ${name}`);
    return {
      memoryMb: settings.memorySize ?? LAMBDA_DEFAULTS.memoryMb,
      timeoutSeconds: settings.timeout ?? LAMBDA_DEFAULTS.timeoutSeconds,
      reservedConcurrency: settings.reservedConcurrency ?? 0,
      ephemeralStorageMb: settings.ephemeralStorageSize ?? LAMBDA_DEFAULTS.ephemeralStorageMb,
    };
  };
  return StageSettingsSchema.parse({
    stage: config.provider.stage,
    architecture: config.provider.architecture ?? 'x86_64',
    windowHours: number('windowHours'),
    lookbackHours: number('lookbackHours'),
    batchConcurrency: number('batchConcurrency'),
    batchMapMode: String(limits.batchMapMode),
    toleratedBatchFailurePercentage: number('toleratedBatchFailurePercentage'),
    fileConcurrency: number('fileConcurrency'),
    batchMaxFiles: number('batchMaxFiles'),
    batchMaxBytes: number('batchMaxBytes'),
    athenaConcurrency: number('athenaConcurrency'),
    athenaPollSeconds: number('athenaPollSeconds'),
    athenaQueryTimeoutSeconds: number('athenaQueryTimeoutSeconds'),
    hoursPerExecution: number('hoursPerExecution'),
    accountConcurrencyLimit: number('accountConcurrencyLimit'),
    maxRawFileBytes: number('maxRawFileBytes'),
    rawExpansion: number('rawExpansion'),
    projectionStartDate: String(limits.projectionStartDate),
    backfillHoursPerRun: number('backfillHoursPerRun'),
    backfillConcurrency: number('backfillConcurrency'),
    functions: {
      ingest: fn('ingest'),
      transform: fn('transform'),
      aggregate: fn('aggregate'),
      stage: fn('stage'),
      write: fn('write'),
    },
  });
}

/** What a run carries: files a day, their mean stored size, and the window in days. */
export interface Workload {
  filesPerDay: number;
  meanFileBytes: number;
  days: number;
}

/** Something the plan refuses (the run cannot start or cannot finish) or warns about. */
export interface Finding {
  level: 'refused' | 'warning';
  /** What breaks, with the numbers. */
  reason: string;
  /** The setting to change (or the other way to run it). */
  fix: string;
}

export interface CostLine {
  service: 'Athena' | 'Lambda' | 'Step Functions' | 'S3' | 'DynamoDB';
  usd: number;
  /** The units it is computed from. */
  detail: string;
}

export interface Plan {
  stage: string;
  workload: { files: number; bytes: number; hours: number; rows: number };
  /** The stage's `batchMapMode` and the batch Map a run of this size uses (auto resolved). */
  batchMap: { mode: StageSettings['batchMapMode']; used: BatchMap };
  /** `maxPerRun`: batches the parent may hold; Infinity with the Distributed Map. */
  batches: { count: number; largestFiles: number; maxPerRun: number };
  /** `mapRun`: the Distributed Map's child workflow executions (one per batch; 0 inline). */
  childExecutions: { batch: number; hours: number; mapRun: number };
  hourGroups: { count: number; largestHours: number };
  history: {
    run: number;
    batch: number;
    /** The largest hour group with each query polled as long as the assumed query time. */
    hoursExpected: number;
    /** The same group with every query polled until its time budget. */
    hoursWorst: number;
    cap: number;
    budget: number;
  };
  athena: { queries: number; concurrency: number; quota: number; bytesScannedPerQuery: number };
  lambda: {
    transformPeak: number;
    transformReserved: number;
    reservedTotal: number;
    unreserved: number;
  };
  /** Each step's span and the run's, in seconds. */
  wallClock: {
    ingest: number;
    transform: number;
    planHours: number;
    aggregate: number;
    write: number;
    total: number;
  };
  /** Each function's longest single invocation, seconds, against its timeout. */
  longestInvocation: Record<FunctionName, { seconds: number; timeoutSeconds: number }>;
  cost: { lines: CostLine[]; totalUsd: number };
  findings: Finding[];
  /** Days per window that fit one run, when the whole window does not (0: not even one day). */
  daysPerRunThatFit?: number;
}

/** Batches a window of `files` files of `meanFileBytes` needs under the settings (planBatches' bounds). */
function batchesFor(
  files: number,
  meanFileBytes: number,
  settings: Pick<StageSettings, 'batchMaxFiles' | 'batchMaxBytes'>,
): number {
  if (files === 0) return 0;
  // A manifest entry: fileId, source key, raw key and size as JSON (CloudFront names ≈ 50 characters).
  const entryBytes = 260;
  return Math.max(
    Math.ceil(files / settings.batchMaxFiles),
    Math.ceil((files * meanFileBytes) / settings.batchMaxBytes),
    Math.ceil((files * entryBytes) / DEFAULT_MAX_PAYLOAD_BYTES),
  );
}

/**
 * Whether a window of `days` days fits one inline run: its batches within what the parent's
 * history leaves.
 */
function fitsOneRun(workload: Workload, days: number, settings: StageSettings): boolean {
  const hours = Math.round(days * 24);
  const batches = batchesFor(Math.round(workload.filesPerDay * days), workload.meanFileBytes, settings);
  const groups = hourGroupsForWindow({ ...settings, windowHours: hours });
  return batches <= maxBatchesPerRun(groups);
}

/** The batch Map a run of `batches` batches over `hours` window hours uses (auto resolved as ingest does). */
export function batchMapFor(
  batches: number,
  hours: number,
  settings: Pick<StageSettings, 'lookbackHours' | 'hoursPerExecution'> & {
    batchMapMode?: StageSettings['batchMapMode'];
  },
): BatchMap {
  const groups = hourGroupsForWindow({ ...settings, windowHours: hours });
  return chooseBatchMap(settings.batchMapMode ?? 'inline', batches, maxBatchesPerRun(groups));
}

/**
 * Sizes, times and prices one run of `workload` under `settings`, and says what it refuses or
 * warns about, each with the setting to change.
 */
export function planRun(workload: Workload, settings: StageSettings): Plan {
  const a = ASSUMPTIONS;
  const fns = settings.functions;
  const hours = Math.max(1, Math.round(workload.days * 24));
  const files = Math.round(workload.filesPerDay * workload.days);
  const bytes = files * workload.meanFileBytes;
  const rows = Math.round((bytes * a.textBytesPerStoredByte) / a.textBytesPerRow);
  const findings: Finding[] = checkLimits({
    ...settings,
    reservedConcurrency: Object.fromEntries(
      Object.entries(fns).map(([name, fn]) => [name, fn.reservedConcurrency]),
    ),
    ephemeralStorageTransform: fns.transform.ephemeralStorageMb,
  }).map((reason) => ({
    level: 'refused',
    reason,
    fix: 'change the setting it names (serverless.yml params)',
  }));

  // Batches and hour groups, as ingest and PlanHours cut them.
  const batchCount = batchesFor(files, workload.meanFileBytes, settings);
  const largestBatchFiles = batchCount === 0 ? 0 : Math.ceil(files / batchCount);
  const aggregatedHours = hours + settings.lookbackHours;
  const groupCount = hourGroupsForWindow({ ...settings, windowHours: hours });
  const largestGroupHours = Math.min(aggregatedHours, settings.hoursPerExecution);
  const batchMap = batchMapFor(batchCount, hours, settings);
  const maxPerRun = maxBatchesPerRun(groupCount, batchMap);

  const pollsPerQuery = Math.max(1, Math.ceil(a.athenaQuerySeconds / settings.athenaPollSeconds));
  const runStates = runExecution({ batches: batchCount, hourGroups: groupCount, batchMap });
  const history = {
    run: historyEvents(runStates),
    // A map run's child (8 events) is always below a batch child.
    batch: Math.max(
      historyEvents(batchExecution({ files: largestBatchFiles })),
      batchMap === 'distributed' ? historyEvents(mapRunChildExecution()) : 0,
    ),
    hoursExpected: historyEvents(
      hoursExecution({ hours: largestGroupHours, polls: largestGroupHours * pollsPerQuery }),
    ),
    hoursWorst: worstHoursExecutionEvents({ ...settings, hoursPerExecution: largestGroupHours }),
    cap: HISTORY_EVENT_CAP,
    budget: HISTORY_EVENT_BUDGET,
  };
  let daysPerRunThatFit: number | undefined;
  if (batchCount > maxPerRun) {
    const distributedRun = historyEvents(
      runExecution({ batches: batchCount, hourGroups: groupCount, batchMap: 'distributed' }),
    );
    daysPerRunThatFit = 0;
    for (let days = 1; days < workload.days && fitsOneRun(workload, days, settings); days++) {
      daysPerRunThatFit = days;
    }
    const runs = daysPerRunThatFit > 0 ? Math.ceil(workload.days / daysPerRunThatFit) : undefined;
    const thousandFiles = { ...settings, batchMaxFiles: MAX_FILES_PER_BATCH };
    let daysAtThousand = 0;
    while (daysAtThousand < workload.days && fitsOneRun(workload, daysAtThousand + 1, thousandFiles))
      daysAtThousand++;
    findings.push({
      level: 'refused',
      reason: `${batchCount.toLocaleString('en-US')} batches of ≤ ${settings.batchMaxFiles} files; one inline run holds at most ${maxPerRun.toLocaleString('en-US')} beside its ${groupCount} hour groups (the parent's history: 32 + 8 per batch and per group, within ${HISTORY_EVENT_BUDGET.toLocaleString('en-US')} of ${HISTORY_EVENT_CAP.toLocaleString('en-US')} events); ingest refuses it with IngestError`,
      fix: [
        runs === undefined
          ? 'even one day does not fit one run'
          : `run the backfill as ${runs} windows of ≤ ${daysPerRunThatFit} day${daysPerRunThatFit === 1 ? '' : 's'} (npm run plan -- --days ${daysPerRunThatFit} checks one)`,
        settings.batchMaxFiles < MAX_FILES_PER_BATCH
          ? `or raise batchMaxFiles to ${MAX_FILES_PER_BATCH.toLocaleString('en-US')} (${daysAtThousand >= workload.days ? 'the whole window then fits' : `windows of ≤ ${daysAtThousand} days`})`
          : undefined,
        `or batchMapMode distributed or auto (a Distributed Map: a child execution per batch, the parent at ${distributedRun.toLocaleString('en-US')} events; npm run plan -- --batch-map distributed sizes it)`,
      ]
        .filter((part) => part !== undefined)
        .join(', '),
    });
  }

  // Concurrency: transforms at once, Athena queries at once, what reservations leave the account.
  if (batchMap === 'distributed' && settings.batchConcurrency > MAP_RUN_MAX_CONCURRENCY) {
    findings.push({
      level: 'refused',
      reason: `batchConcurrency ${settings.batchConcurrency}: a Distributed Map runs at most ${MAP_RUN_MAX_CONCURRENCY.toLocaleString('en-US')} child executions at once`,
      fix: `lower batchConcurrency to ≤ ${MAP_RUN_MAX_CONCURRENCY.toLocaleString('en-US')}`,
    });
  }
  const transformPeak = settings.batchConcurrency * settings.fileConcurrency;
  const transformReserved = fns.transform.reservedConcurrency;
  const reservedTotal = Object.values(fns).reduce((sum, fn) => sum + fn.reservedConcurrency, 0);
  const athenaConcurrency = Math.min(settings.athenaConcurrency, largestGroupHours);
  if (transformReserved > 0 && transformPeak > transformReserved) {
    findings.push({
      level: 'warning',
      reason: `up to ${transformPeak} transforms at once (batchConcurrency ${settings.batchConcurrency} × fileConcurrency ${settings.fileConcurrency}) against reservedTransform ${transformReserved}: the rest are throttled (Lambda.TooManyRequestsException) and retried, each retry 3 more history events`,
      fix: `lower batchConcurrency or fileConcurrency to a product ≤ ${transformReserved}, or raise reservedTransform`,
    });
  }

  // Durations: each invocation, each step's span, the run.
  const { transformFileSeconds, ingestSeconds, planHoursSeconds, writeSeconds } = invocationSeconds(
    { files, rows, batches: batchCount, aggregatedHours },
    fns.transform.memoryMb,
  );
  const transformParallel =
    transformReserved > 0 ? Math.min(transformPeak, transformReserved) : transformPeak;
  // Distributed, each batch's map-run child starts and waits on the batch child: one more child's overhead.
  const childrenPerBatch = batchMap === 'distributed' ? 2 : 1;
  const transformSpan =
    (files * transformFileSeconds +
      batchCount * (a.shortTaskSeconds + childrenPerBatch * a.childExecutionOverheadSeconds)) /
    transformParallel;
  const pollSeconds = settings.athenaPollSeconds + a.shortTaskSeconds;
  const hourSeconds = a.shortTaskSeconds + pollsPerQuery * pollSeconds + 2 * a.resultsSeconds;
  const aggregateSpan =
    groupCount * a.childExecutionOverheadSeconds +
    Math.ceil(aggregatedHours / Math.min(settings.athenaConcurrency, settings.hoursPerExecution)) *
      hourSeconds;
  const wallClock = {
    ingest: ingestSeconds,
    transform: transformSpan,
    planHours: planHoursSeconds,
    aggregate: aggregateSpan,
    write: writeSeconds,
    total: ingestSeconds + transformSpan + planHoursSeconds + aggregateSpan + writeSeconds,
  };
  const longestInvocation: Plan['longestInvocation'] = {
    ingest: { seconds: ingestSeconds, timeoutSeconds: fns.ingest.timeoutSeconds },
    transform: { seconds: transformFileSeconds, timeoutSeconds: fns.transform.timeoutSeconds },
    aggregate: {
      seconds: Math.max(planHoursSeconds, a.resultsSeconds),
      timeoutSeconds: fns.aggregate.timeoutSeconds,
    },
    stage: { seconds: a.resultsSeconds, timeoutSeconds: fns.stage.timeoutSeconds },
    write: { seconds: writeSeconds, timeoutSeconds: fns.write.timeoutSeconds },
  };
  const timeoutFix: Record<FunctionName, string> = {
    ingest:
      'raise functions.ingest.timeout (at most 900 s) or run shorter windows (ingest lists, copies and plans the whole window in one invocation, whichever batch Map runs the batches)',
    transform: 'raise memoryTransform (more CPU) or timeoutTransform, or lower maxRawFileBytes',
    aggregate:
      'PlanHours reads every file result of the window in one invocation (whichever batch Map ran them): raise functions.aggregate.timeout or run shorter windows',
    stage: 'raise functions.stage.timeout',
    write: 'raise functions.write.timeout (at most 900 s) or run shorter windows',
  };
  for (const [name, invocation] of Object.entries(longestInvocation) as [
    FunctionName,
    { seconds: number; timeoutSeconds: number },
  ][]) {
    if (invocation.seconds > invocation.timeoutSeconds) {
      findings.push({
        level: 'refused',
        reason: `${name} would run ≈ ${Math.round(invocation.seconds).toLocaleString('en-US')} s in one invocation (at ${a.s3RequestSeconds * 1000} ms per S3 request), over its ${invocation.timeoutSeconds} s timeout`,
        fix: timeoutFix[name],
      });
    }
  }

  // Cost by service.
  const usage = estimateRunUsage({ files, bytes, hours }, { ...settings, batchMapMode: batchMap });
  const cost = priceRun(usage);
  const queries = usage.athenaBytesScanned.length;
  const bytesScannedPerQuery = usage.athenaBytesScanned[0] ?? 0;
  const athenaUsd = cost.athena.usd;
  const gbSeconds = cost.lambda.gbSeconds;
  const requests = cost.lambda.requests;
  const lambdaUsd = cost.lambda.usd;
  const transitions = usage.stateTransitions;
  const stepFunctionsUsd = cost.stepFunctions.usd;
  const puts = usage.s3.putCopyListRequests;
  const gets = usage.s3.getRequests;
  const s3Usd = cost.s3.usd;
  const { writeUnits, readUnits } = usage.dynamodb;
  const dynamodbUsd = cost.dynamodb.usd;

  const lines: CostLine[] = [
    {
      service: 'Athena',
      usd: athenaUsd,
      detail: `${queries.toLocaleString('en-US')} queries × ${mb(athenaBilledBytes(bytesScannedPerQuery))} MB billed (${mb(bytesScannedPerQuery)} MB scanned, ≥ 10 MB each), $${PRICES.athena.usdPerTbScanned}/TB`,
    },
    {
      service: 'Lambda',
      usd: lambdaUsd,
      detail: `${Math.round(gbSeconds).toLocaleString('en-US')} GB-s (${settings.architecture}), ${requests.toLocaleString('en-US')} requests`,
    },
    {
      service: 'Step Functions',
      usd: stepFunctionsUsd,
      detail: `${Math.round(transitions).toLocaleString('en-US')} state transitions (standard), $0.025/1,000`,
    },
    {
      service: 'S3',
      usd: s3Usd,
      detail: `${Math.round(puts).toLocaleString('en-US')} PUT/COPY/LIST, ${Math.round(gets).toLocaleString('en-US')} GET/HEAD`,
    },
    {
      service: 'DynamoDB',
      usd: dynamodbUsd,
      detail: `${writeUnits.toLocaleString('en-US')} write units, ${readUnits.toLocaleString('en-US')} read units (on demand)`,
    },
  ];

  return {
    stage: settings.stage,
    workload: { files, bytes, hours, rows },
    batchMap: { mode: settings.batchMapMode, used: batchMap },
    batches: { count: batchCount, largestFiles: largestBatchFiles, maxPerRun },
    childExecutions: {
      batch: batchCount,
      hours: groupCount,
      mapRun: batchMap === 'distributed' ? batchCount : 0,
    },
    hourGroups: { count: groupCount, largestHours: largestGroupHours },
    history,
    athena: {
      queries,
      concurrency: athenaConcurrency,
      quota: ATHENA_CONCURRENT_QUERY_QUOTA,
      bytesScannedPerQuery,
    },
    lambda: {
      transformPeak,
      transformReserved,
      reservedTotal,
      unreserved: settings.accountConcurrencyLimit - reservedTotal,
    },
    wallClock,
    longestInvocation,
    cost: { lines, totalUsd: lines.reduce((sum, line) => sum + line.usd, 0) },
    findings,
    ...(daysPerRunThatFit !== undefined && { daysPerRunThatFit }),
  };
}

/**
 * Seconds one transform invocation takes for a file of `rowsPerFile` rows, at the bench's
 * throughput and the vCPU share Lambda gives `memoryMb` (the planner's model; the report prices
 * deployed transforms with it, as their own durations are not in S3).
 */
export function transformFileSeconds(rowsPerFile: number, memoryMb: number): number {
  const a = ASSUMPTIONS;
  const vcpu = Math.min(1, memoryMb / a.lambdaMbPerVcpu);
  return a.shortTaskSeconds + rowsPerFile / (a.transformRowsPerVcpuSecond * vcpu);
}

/** How long each function's invocations take (the ASSUMPTIONS' rates), seconds. */
function invocationSeconds(
  run: { files: number; rows: number; batches: number; aggregatedHours: number },
  transformMemoryMb: number,
) {
  const a = ASSUMPTIONS;
  const rowsPerFile = run.files === 0 ? 0 : run.rows / run.files;
  const listSeconds = Math.ceil(run.files / 1_000) * a.s3RequestSeconds;
  return {
    listSeconds,
    transformFileSeconds: transformFileSeconds(rowsPerFile, transformMemoryMb),
    // HEAD + COPY per file, a PUT per batch.
    ingestSeconds:
      a.shortTaskSeconds +
      listSeconds +
      ((run.files * 2 + run.batches) * a.s3RequestSeconds) / a.ingestCopyConcurrency,
    // PlanHours reads every file result (shared/steps/aggregate.ts summarizeTransforms), many at once.
    planHoursSeconds:
      a.shortTaskSeconds + listSeconds + (run.files * a.s3RequestSeconds) / a.resultReadConcurrency,
    writeSeconds:
      a.shortTaskSeconds + (run.aggregatedHours * a.aggregateRowsPerHour) / a.warehouseRowsPerSecond,
  };
}

/** The settings a cost estimate needs: the batch and hour-group cuts, polls, and each function's memory. */
export type CostEstimateSettings = Pick<
  StageSettings,
  | 'architecture'
  | 'lookbackHours'
  | 'hoursPerExecution'
  | 'batchMaxFiles'
  | 'batchMaxBytes'
  | 'athenaPollSeconds'
> & {
  functions: Record<FunctionName, { memoryMb: number; ephemeralStorageMb: number }>;
  /** The stage's batch Map mode (default inline); auto is resolved for the run's batches. */
  batchMapMode?: StageSettings['batchMapMode'];
};

/**
 * What a run of `files` files (`bytes` stored) over `hours` window hours is expected to use of
 * each service, by the ASSUMPTIONS: `priceRun` (shared/core/run-cost.ts) turns it into dollars.
 * `npm run plan` prints it; ingest holds it to the stage's `maxRunCostUsd` before a run goes on.
 */
export function estimateRunUsage(
  run: { files: number; bytes: number; hours: number },
  settings: CostEstimateSettings,
): RunUsage {
  const a = ASSUMPTIONS;
  const fns = settings.functions;
  const { files } = run;
  const hours = Math.max(1, run.hours);
  const rows = Math.round((run.bytes * a.textBytesPerStoredByte) / a.textBytesPerRow);
  const batchCount = batchesFor(files, files === 0 ? 0 : run.bytes / files, settings);
  // One query per hour that has rows: every hour of the window and lookback, or fewer when the
  // files are too few to fill them (a long backfill of a sparse source).
  const queries = Math.min(hours + settings.lookbackHours, Math.max(1, Math.ceil(files * a.hoursPerRawFile)));
  const groupCount = Math.ceil(queries / settings.hoursPerExecution);
  const pollsPerQuery = Math.max(1, Math.ceil(a.athenaQuerySeconds / settings.athenaPollSeconds));
  const polls = queries * pollsPerQuery;
  const seconds = invocationSeconds(
    { files, rows, batches: batchCount, aggregatedHours: queries },
    fns.transform.memoryMb,
  );

  const bytesScannedPerQuery = Math.ceil((rows / hours) * a.parquetBytesPerRow);
  const invocations: Record<FunctionName, { count: number; seconds: number }> = {
    ingest: { count: 1, seconds: seconds.ingestSeconds },
    transform: {
      count: batchCount + files,
      seconds: batchCount * a.shortTaskSeconds + files * seconds.transformFileSeconds,
    },
    aggregate: {
      count: 1 + queries * 2 + polls,
      seconds:
        seconds.planHoursSeconds +
        queries * (a.shortTaskSeconds + a.resultsSeconds) +
        polls * a.shortTaskSeconds,
    },
    stage: { count: queries, seconds: queries * a.resultsSeconds },
    write: { count: 2, seconds: seconds.writeSeconds + a.shortTaskSeconds },
  };
  const lambda = Object.fromEntries(
    (Object.entries(invocations) as [FunctionName, { count: number; seconds: number }][]).map(
      ([name, use]) => [
        name,
        {
          invocations: use.count,
          durationMs: use.seconds * 1000,
          memoryMb: fns[name].memoryMb,
          ephemeralStorageMb: fns[name].ephemeralStorageMb,
        },
      ],
    ),
  );

  const batchMap = batchMapFor(batchCount, hours, settings);
  const transitions =
    stateTransitions(runExecution({ batches: batchCount, hourGroups: groupCount, batchMap })) +
    batchCount * stateTransitions(batchExecution({ files: files / Math.max(1, batchCount) })) +
    (batchMap === 'distributed' ? batchCount * stateTransitions(mapRunChildExecution()) : 0) +
    stateTransitions(hoursExecution({ hours: queries, polls })) +
    (groupCount - 1) * stateTransitions(hoursExecution({ hours: 0, polls: 0 }));

  const s3 = s3RequestEstimate({ files, batches: batchCount, queries, batchMap });

  const aggregateRows = queries * a.aggregateRowsPerHour;
  return {
    architecture: settings.architecture,
    athenaBytesScanned: Array.from({ length: queries }, () => bytesScannedPerQuery),
    lambda,
    stateTransitions: transitions,
    s3,
    dynamodb: {
      writeUnits: aggregateRows * Math.ceil(a.stagedItemBytes / 1024),
      readUnits: queries * Math.ceil((a.aggregateRowsPerHour * a.stagedItemBytes) / 4096),
    },
  };
}

/**
 * S3 requests of a run of `files` raw files in `batches` batches and `queries` Athena queries,
 * by step. PUT-class: copies, curated Parquet per hour of a file, the bookkeeping objects,
 * Athena's results, listings; GET-class: HEADs, reads of raw files and results, Athena's reads of
 * each curated file (footer and column chunks, ≈ 3 GETs). With a Distributed Map, ingest's batch
 * list (PUT), the ItemReader's GET and the ResultWriter's result file and manifest (2 PUTs). An
 * estimate: the steps do not count them.
 */
export function s3RequestEstimate(run: {
  files: number;
  batches: number;
  queries: number;
  batchMap?: BatchMap;
}): {
  putCopyListRequests: number;
  getRequests: number;
} {
  const { files, batches, queries } = run;
  const curatedFiles = Math.ceil(files * ASSUMPTIONS.hoursPerRawFile);
  const lists = Math.ceil(files / 1_000) * 3 + queries;
  const mapRun = run.batchMap === 'distributed' ? { puts: 3, gets: 1 } : { puts: 0, gets: 0 };
  return {
    putCopyListRequests:
      files + 1 + batches + curatedFiles + 2 * files + 1 + queries * 3 + 1 + lists + mapRun.puts,
    getRequests: files + batches + 2 * files + 1 + curatedFiles * 3 + queries * 3 + queries + mapRun.gets,
  };
}

const mb = (bytes: number) => Math.ceil(bytes / 1024 ** 2).toLocaleString('en-US');
