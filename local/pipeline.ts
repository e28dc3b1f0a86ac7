import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ObjectStore, S3ObjectStore } from '#shared/adapters/object-store';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';
import { readEndpointsFile } from '#shared/aws/endpoints';
import { parseConfig } from '#shared/config';
import { renderReportHtml } from '#shared/core/report-html';
import { roundCost, withCountedInvocations } from '#shared/core/run-cost';
import { keys, type Timing } from '#shared/core/run-files';
import { runHistory } from '#shared/core/run-model';
import type { Window } from '#shared/core/window';
import { lambdaUsageFromTimings, type RunReport, stageDurations } from '#shared/steps/report';
import { runShapeFromTimings, timingsFromMetricLines } from '#shared/steps/run-timings';
import { provisionFromServerless } from './provision';
import { functionEnvironment, loadServerlessConfig, type ServerlessConfig } from './serverless-config';
import {
  DEFAULT_MYSQL_SECRET,
  ensureMysqlSecret,
  type LocalStack,
  startStack,
  writeEndpointsFile,
} from './stack';
import {
  type ExecutionEvent,
  type ExecutionResult,
  type LambdaHandler,
  LocalStepFunctions,
  lambdaFunctionArn,
  maxHistoryEvents,
  resolveIntrinsics,
} from './stepfunctions/index';
import { LambdaFaults } from './stepfunctions/lambda-faults';
import { defaultWorkerCount, LambdaWorkerPool } from './workers/pool';

/**
 * Functions whose invocations run in worker threads: the transform, the CPU-bound step the batch
 * Map fans out (gunzip, parse, Parquet). The others wait on the stand-ins and stay in-process.
 */
const WORKER_FUNCTIONS: ReadonlySet<string> = new Set(['transform']);
/** Per-function variables that set up a Lambda's Node process, not the handler's configuration. */
const PROCESS_OPTIONS: ReadonlySet<string> = new Set(['NODE_OPTIONS']);

/** The local stage's name in serverless.yml. */
export const LOCAL_STAGE = 'local';

export interface LocalPipeline<Stack extends LocalStack | undefined = LocalStack> {
  /** The stack this pipeline started; undefined when it runs against a stack already running. */
  stack: Stack;
  /** Clients pointed at the stack the handlers use (the one client factory). */
  clients: AwsClients;
  config: ServerlessConfig;
  environment: Record<string, string>;
  stepFunctions: LocalStepFunctions;
  /** The parent (per-run) state machine's name. */
  runMachine: string;
  /** The backfill state machine's name (its runs are executions of `runMachine`). */
  backfillMachine: string;
  /** One timing per handler invocation of a run, from the EMF lines the handlers wrote. */
  timings(runId: string): Timing[];
  /** Lambda throttling the runner answers with (fault tests, `npm run faults`). */
  lambdaFaults: LambdaFaults;
  /** The most worker threads per worker function (0: every handler runs in this process). */
  workers: number;
  stop(): Promise<void>;
}

export interface PipelineOptions {
  /** Root for the stack's data; persistent between runs so re-runs see earlier data. */
  directory: string;
  /** Multiplies Wait and Retry times (1 = as deployed; tests use less). */
  waitTimeScale?: number;
  onEvent?: (event: ExecutionEvent) => void;
  /** Athena stand-in knobs (tests). */
  athena?: { maxConcurrentQueries?: number; minQueryMs?: number };
  /** Variables to set on top of the functions' environment (e.g. LOG_LEVEL). */
  environment?: Record<string, string>;
  /** Appended to the stage's SOURCE_PREFIX: a run's own folder in a shared source bucket. */
  sourceSubPrefix?: string;
  /** Also print the handlers' EMF lines (`npm run local -- --verbose`); they are collected either way. */
  printMetricLines?: boolean;
  /**
   * The most worker threads the transform's invocations run in (default: the machine's cores,
   * `os.availableParallelism()`); 0 runs every handler in this process (debugging, profiling).
   */
  workers?: number;
}

/**
 * Starts the local stack, provisions what stage `local` of serverless.yml describes, gives every
 * handler the environment `sls deploy` would give it (pointing at the stack), and builds the local
 * Step Functions runner over the definitions in statemachines/ as serverless resolves them.
 */
export async function startLocalPipeline(options: PipelineOptions): Promise<LocalPipeline> {
  const directory = resolve(options.directory);
  const config = await loadServerlessConfig(LOCAL_STAGE);
  const stack = await startStack({ directory, region: config.provider.region, athena: options.athena });
  try {
    const endpointsFile = join(directory, 'endpoints.json');
    writeEndpointsFile(endpointsFile, stack.endpoints);
    return await buildPipeline(config, stack, stack.clients, endpointsFile, stack.mysqlSecretName, options);
  } catch (error) {
    await stack.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * The same pipeline against a stack already running (`npm run local:up`'s endpoints file, or one
 * written for another stack): provisions what is missing, stores the MySQL secret if it is absent,
 * and on `stop` releases only its own clients; the stack keeps running.
 */
export async function connectLocalPipeline(
  endpointsFile: string,
  options: Omit<PipelineOptions, 'directory' | 'athena'>,
): Promise<LocalPipeline<undefined>> {
  const file = resolve(endpointsFile);
  const endpoints = readEndpointsFile(file);
  const config = await loadServerlessConfig(LOCAL_STAGE);
  const clients = new AwsClients(localAwsSettings(endpoints));
  try {
    await ensureMysqlSecret(clients, DEFAULT_MYSQL_SECRET, endpoints.mysql);
    return await buildPipeline(config, undefined, clients, file, DEFAULT_MYSQL_SECRET, options);
  } catch (error) {
    clients.destroy();
    throw error;
  }
}

async function buildPipeline<Stack extends LocalStack | undefined>(
  config: ServerlessConfig,
  stack: Stack,
  clients: AwsClients,
  endpointsFile: string,
  mysqlSecretName: string,
  options: Omit<PipelineOptions, 'directory' | 'athena'>,
): Promise<LocalPipeline<Stack>> {
  // Imported with the handlers, not before them: a test that resets the module registry to load
  // fresh handlers gets fresh instances of these too, the ones those handlers use.
  const { collectMetricLines } = await import('#shared/observability/metrics');
  const { disposeHandlerClients } = await import('#shared/handler');
  // The handlers' EMF lines (CloudWatch metrics in AWS) are read here for the report, not printed.
  const metricLines: string[] = [];
  const metricLine = (line: string) => {
    metricLines.push(line);
    if (options.printMetricLines) process.stdout.write(`${line}\n`);
  };
  const restoreMetricOutput = collectMetricLines(metricLine);
  try {
    return await assemblePipeline(config, stack, clients, endpointsFile, mysqlSecretName, options, {
      metricLine,
      timings: (runId) => timingsFromMetricLines(metricLines, runId),
      release: () => {
        disposeHandlerClients();
        restoreMetricOutput();
      },
    });
  } catch (error) {
    restoreMetricOutput();
    throw error;
  }
}

async function assemblePipeline<Stack extends LocalStack | undefined>(
  config: ServerlessConfig,
  stack: Stack,
  clients: AwsClients,
  endpointsFile: string,
  mysqlSecretName: string,
  options: Omit<PipelineOptions, 'directory' | 'athena'>,
  handlers: { metricLine(line: string): void; timings(runId: string): Timing[]; release(): void },
): Promise<LocalPipeline<Stack>> {
  await provisionFromServerless(config, clients);

  // Every function gets the provider-level environment, so one process.env serves all handlers of
  // this in-process run. A function's own variables may only be Node's process options (the
  // transform's NODE_OPTIONS sizes a Lambda process's V8 heap), which mean nothing to a handler
  // run here or in a worker thread.
  const firstFunction = Object.keys(config.functions)[0];
  if (firstFunction === undefined) throw new Error('serverless.yml defines no functions');
  for (const [key, fn] of Object.entries(config.functions)) {
    const own = Object.keys(fn.environment ?? {}).filter((name) => !PROCESS_OPTIONS.has(name));
    if (own.length > 0)
      throw new Error(
        `serverless.yml: function ${key} sets ${own.join(', ')}; the local runner gives every function the provider's environment`,
      );
  }
  const stageEnvironment = functionEnvironment(config, firstFunction);
  const environment: Record<string, string> = {
    ...stageEnvironment,
    ETL_ENDPOINTS_FILE: endpointsFile,
    DB_SECRET_ID: mysqlSecretName,
    AWS_REGION: config.provider.region,
    // As Lambda sets it: each handler's first invocation is logged as its cold start.
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    ...options.environment,
  };
  if (options.sourceSubPrefix)
    environment.SOURCE_PREFIX = `${stageEnvironment.SOURCE_PREFIX ?? ''}${options.sourceSubPrefix}`;
  Object.assign(process.env, environment);

  const lambdas: Record<string, LambdaHandler> = {};
  const lambdaFaults = new LambdaFaults();
  const disposers: (() => Promise<void>)[] = [];
  const workers = options.workers ?? defaultWorkerCount();
  if (!Number.isInteger(workers) || workers < 0)
    throw new RangeError(`workers must be a whole number >= 0, got ${workers}`);
  for (const [key, fn] of Object.entries(config.functions)) {
    const [file, exported] = splitHandler(fn.handler);
    if (workers > 0 && WORKER_FUNCTIONS.has(key)) {
      // Same module, same event, a Lambda-like context; each worker is one container of it.
      const pool = new LambdaWorkerPool({
        module: resolve(file),
        exported,
        size: workers,
        environment: { ...process.env },
        onMetricLine: handlers.metricLine,
        memoryLimitMb: fn.memorySize,
      });
      disposers.push(() => pool.close());
      lambdas[fn.name] = lambdaFaults.wrap(fn.name, withMemory(pool.handler, fn.memorySize));
      continue;
    }
    const module: Record<string, unknown> = await import(resolve(file));
    const dispose = module.dispose;
    if (typeof dispose === 'function') disposers.push(async () => dispose());
    const handler = module[exported];
    if (typeof handler !== 'function')
      throw new Error(`${fn.handler} does not export a function '${exported}' (function ${key})`);
    lambdas[fn.name] = lambdaFaults.wrap(fn.name, withMemory(handler as LambdaHandler, fn.memorySize));
  }

  const machines = config.stepFunctions?.stateMachines ?? {};
  const byLogicalId = new Map(
    Object.entries(machines).map(([key, machine]) => [machine.id ?? key, machine.name ?? key]),
  );
  const region = config.provider.region;
  const stateMachines: Record<string, object> = {};
  let runMachine: string | undefined;
  let backfillMachine: string | undefined;
  for (const [key, machine] of Object.entries(machines)) {
    const name = machine.name ?? key;
    stateMachines[name] = resolveIntrinsics(machine.definition, {
      functionArn: (functionKey) => {
        const fn = config.functions[functionKey];
        if (fn === undefined)
          throw new Error(`State machine ${name} references unknown function ${functionKey}`);
        return lambdaFunctionArn(region, fn.name);
      },
      ref: (logicalId) => {
        const target = byLogicalId.get(logicalId);
        if (target === undefined)
          throw new Error(`State machine ${name} references unknown resource ${logicalId}`);
        return `arn:aws:states:${region}:000000000000:stateMachine:${target}`;
      },
    });
    if (key === 'run') runMachine = name;
    if (key === 'backfill') backfillMachine = name;
  }
  if (runMachine === undefined) throw new Error('serverless.yml defines no `run` state machine');
  if (backfillMachine === undefined) throw new Error('serverless.yml defines no `backfill` state machine');

  // A Distributed Map reads its items from and writes its results to the stack's S3, as in AWS.
  const objects = new S3ObjectStore(clients.s3);
  const stepFunctions = new LocalStepFunctions({
    region,
    stateMachines,
    lambdas,
    waitTimeScale: options.waitTimeScale ?? 1,
    onEvent: options.onEvent,
    objectStorage: {
      getText: async (bucket, key) =>
        Buffer.concat(await (await objects.getStream(bucket, key)).toArray()).toString('utf8'),
      putText: (bucket, key, body) => objects.put(bucket, key, body, 'application/json'),
    },
  });
  const stop = async () => {
    // Handler-held pools and clients first, then the servers they talk to.
    for (const dispose of disposers) await dispose().catch(() => undefined);
    handlers.release();
    if (stack === undefined) clients.destroy();
    else await stack.stop();
  };
  return {
    stack,
    clients,
    config,
    environment,
    stepFunctions,
    runMachine,
    backfillMachine,
    timings: handlers.timings,
    lambdaFaults,
    workers,
    stop,
  };
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return [`${handler.slice(0, dot)}.ts`, handler.slice(dot + 1)];
}

/**
 * Files a log folder may hold besides logs (READMEs, the sample's expected.json) are not uploaded.
 * Logs: legacy CloudFront names and text, and standard logging v2 JSON lines and Parquet.
 */
const LOG_FILE = /\.(gz|log|txt|tsv|jsonl|parquet)$|^[^.]+$|\.\d{4}-\d{2}-\d{2}-\d{2}\.[^.]+$/i;

/**
 * Uploads the log files of `directory` (recursively) into the source bucket under its prefix:
 * names ending in .gz, .log, .txt, .tsv, .jsonl or .parquet, names without an extension, and
 * CloudFront names. First it empties what a previous seed left: the whole bucket of a stack this
 * run started (`clear: 'bucket'`), or only the prefix given (`clear: 'prefix'`, a stack someone else
 * started, whose other data is not ours to delete).
 */
export async function seedSource(
  store: ObjectStore,
  target: { bucket: string; prefix: string },
  directory: string,
  clear: 'bucket' | 'prefix' = 'bucket',
): Promise<number> {
  const existing: string[] = [];
  for await (const object of store.list(target.bucket, clear === 'bucket' ? '' : target.prefix))
    existing.push(object.key);
  await store.delete(target.bucket, existing);
  let count = 0;
  const walk = async (folder: string, relative: string) => {
    for (const name of readdirSync(folder).sort()) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) await walk(path, `${relative}${name}/`);
      else if (!name.startsWith('.') && LOG_FILE.test(name)) {
        await store.put(target.bucket, `${target.prefix}${relative}${name}`, readFileSync(path));
        count++;
      }
    }
  };
  await walk(resolve(directory), '');
  return count;
}

/** The source bucket and prefix of stage `local`, as the functions see them. */
export function sourceOf(environment: Record<string, string>): { bucket: string; prefix: string } {
  const bucket = environment.SOURCE_BUCKET;
  if (!bucket) throw new Error('SOURCE_BUCKET is not set for stage local');
  return { bucket, prefix: environment.SOURCE_PREFIX ?? '' };
}

export interface RunOutcome {
  status: string;
  runId: string;
  report: RunReport | undefined;
  /** The report as a page (`reports/<runId>.html`), rendered from `report`. */
  reportHtml: string | undefined;
  maxHistoryEvents: number;
  /** The parent's own history events (its children record their own). */
  parentHistoryEvents: number;
  /** Executions the run took: the parent and every child, map-run children included. */
  executions: number;
  /** The same by state machine (`<machine>/<state>` for a Distributed Map's children). */
  executionsByMachine: Record<string, number>;
  error?: string;
  cause?: string;
}

/**
 * Runs the parent state machine for a window and returns its report, with `stages` and
 * `maxHistoryEvents` from the handlers' own invocations (their EMF lines: exact spans, exact
 * counts per batch and per hour, where the report in AWS estimates Athena polls from engine
 * time), and `measuredHistoryEvents`, the count the runner recorded over the parent and every
 * child execution, beside the estimate rather than over it: the e2e tests hold one to the other.
 */
export async function runWindow(
  pipeline: LocalPipeline<LocalStack | undefined>,
  window: Window,
  runId: string,
): Promise<RunOutcome> {
  // Like a run started in the console or by the schedule: the execution's name is unique (Step
  // Functions refuses a name reused within 90 days), the runId travels in the input.
  const executionName = `${runId.slice(0, 70)}-${randomBytes(4).toString('hex')}`;
  const result = await pipeline.stepFunctions.startExecution(
    pipeline.runMachine,
    { runId, window },
    { name: executionName },
  );
  return runOutcome(pipeline, result, runId);
}

/**
 * The outcome of a run execution (`runWindow`'s, or one a backfill started): its report completed
 * with the handlers' invocations and the history the runner recorded, written back to S3.
 */
export async function runOutcome(
  pipeline: LocalPipeline<LocalStack | undefined>,
  result: ExecutionResult,
  runId: string,
): Promise<RunOutcome> {
  const measured = maxHistoryEvents(result);
  const store = new S3ObjectStore(pipeline.clients.s3);
  const bucket = pipeline.environment.DATA_BUCKET ?? '';
  let report: RunReport | undefined;
  let reportHtml: string | undefined;
  if ((await store.head(bucket, keys.report(runId))) !== undefined) {
    report = (await store.getJson(bucket, keys.report(runId))) as RunReport;
    const timings = pipeline.timings(runId);
    if (timings.length > 0) {
      report.stages = stageDurations(timings);
      // The waits run scaled locally (waitTimeScale), so polls are counted, not estimated.
      const hoursPerExecution = Number(pipeline.environment.HOURS_PER_EXECUTION);
      const history = runHistory({
        ...runShapeFromTimings(timings, hoursPerExecution),
        batchMap: report.batchMap ?? 'inline',
      });
      report.maxHistoryEvents = history.max;
      report.historyEventsSource = "counted from the handlers' invocations";
      // Lambda GB-s from each invocation's own duration, transitions from the exact counts.
      const settings = parseConfig(pipeline.environment);
      const lambda = lambdaUsageFromTimings(timings, settings);
      report.cost = {
        ...roundCost(withCountedInvocations(report.cost, { lambda, stateTransitions: history.transitions })),
        sources: {
          ...report.cost.sources,
          lambda: "the handlers' own invocations",
          stepFunctions: "the run model over the handlers' invocations per batch and per hour",
        },
      };
    }
    report.measuredHistoryEvents = measured;
    await store.putJson(bucket, keys.report(runId), report);
    // The page shows the report as the JSON now holds it, its timeline from the same invocations.
    reportHtml = renderReportHtml(report, {
      timings,
      hoursPerExecution: Number(pipeline.environment.HOURS_PER_EXECUTION),
    });
    await store.put(bucket, keys.reportHtml(runId), reportHtml, 'text/html; charset=utf-8');
  }
  return {
    status: result.status,
    runId,
    report,
    reportHtml,
    maxHistoryEvents: measured,
    parentHistoryEvents: result.historyEventCount,
    executions: countExecutions(result),
    executionsByMachine: executionsByMachine(result),
    error: result.error,
    cause: result.cause,
  };
}

export function countExecutions(result: ExecutionResult): number {
  return 1 + result.children.reduce((sum, child) => sum + countExecutions(child), 0);
}

export function executionsByMachine(result: ExecutionResult, counts: Record<string, number> = {}) {
  counts[result.stateMachineName] = (counts[result.stateMachineName] ?? 0) + 1;
  for (const child of result.children) executionsByMachine(child, counts);
  return counts;
}

/** The handler with the context Lambda gives it: `memoryLimitInMB` is the function's `memorySize`. */
function withMemory(handler: LambdaHandler, memorySize: number | undefined): LambdaHandler {
  if (memorySize === undefined) return handler;
  return (event, context) => handler(event, { ...context, memoryLimitInMB: String(memorySize) });
}
