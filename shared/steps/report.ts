import * as z from 'zod';
import { getJsonIfPresent, type ObjectStore } from '#shared/adapters/object-store';
import { itemSizeUpperBound, toStagedItem } from '#shared/adapters/staging-store';
import { EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { athenaBilledBytes, athenaCostUsd } from '#shared/core/prices';
import { renderReportHtml } from '#shared/core/report-html';
import {
  dynamodbReadUnits,
  dynamodbWriteUnits,
  type FunctionUsage,
  priceRun,
  type RunUsage,
  roundCost,
} from '#shared/core/run-cost';
import {
  type HourAggregate,
  HourAggregateSchema,
  keys,
  RunIdSchema,
  type Timing,
  TransformSummarySchema,
} from '#shared/core/run-files';
import { type BatchMap, runHistory } from '#shared/core/run-model';
import { s3RequestEstimate, transformFileSeconds } from '#shared/core/run-plan';
import {
  type HourTotals,
  LAMBDA_FROM_OUTPUTS,
  type Reconciliation,
  type RunReport,
} from '#shared/core/run-report';
import { WindowSchema } from '#shared/core/window';
import { type HourOutput, runShapeFromTimings, timingsFromOutputs } from './run-timings';

export type { CostSources, HourTotals, Reconciliation, RunReport } from '#shared/core/run-report';

export const ReportInputSchema = z.discriminatedUnion('status', [
  z.object({
    action: z.literal('report'),
    status: z.literal('SUCCEEDED'),
    runId: RunIdSchema,
    window: WindowSchema,
    /** Which batch Map the parent ran (ingest's choice; absent from reports of older definitions). */
    batchMap: z.enum(['inline', 'distributed']).optional(),
    startedAt: z.string(),
  }),
  z.object({
    action: z.literal('report'),
    status: z.literal('FAILED'),
    /** The state when the failure was caught: `run` (if ingest got that far) and `error`. */
    input: z
      .object({
        run: z
          .object({ runId: RunIdSchema, window: WindowSchema, batchMap: z.enum(['inline', 'distributed']) })
          .partial()
          .optional(),
        runId: RunIdSchema.optional(),
        window: WindowSchema.optional(),
        error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
      })
      .passthrough(),
    executionName: RunIdSchema,
    startedAt: z.string(),
  }),
]);
export type ReportInput = z.infer<typeof ReportInputSchema>;

/** What pricing a run needs besides its counts: the architecture and each function's memory and /tmp. */
export interface CostSettings {
  architecture: RunUsage['architecture'];
  functionMemoryMb: Readonly<Record<string, number>>;
  transformEphemeralStorageMb: number;
}

/**
 * Each function's invocations and summed durations, from one timing per invocation (`report`
 * invocations of the write function count as the write function's), with its memory and /tmp.
 */
export function lambdaUsageFromTimings(
  timings: readonly Timing[],
  settings: CostSettings,
): Record<string, FunctionUsage> {
  const usage: Record<string, FunctionUsage> = {};
  for (const timing of timings) {
    const memoryMb = settings.functionMemoryMb[timing.function];
    if (memoryMb === undefined) {
      throw new Error(
        `function ${timing.function} has no memory size in FUNCTION_MEMORY_MB (serverless.yml provider.environment)`,
      );
    }
    const use = usage[timing.function] ?? {
      invocations: 0,
      durationMs: 0,
      memoryMb,
      ephemeralStorageMb: timing.function === 'transform' ? settings.transformEphemeralStorageMb : 512,
    };
    usage[timing.function] = use;
    use.invocations++;
    use.durationMs += Math.max(0, Date.parse(timing.finishedAt) - Date.parse(timing.startedAt));
  }
  return usage;
}

/**
 * A file's span in the outputs runs from ingest to its result, its wait in the batch Map included
 * (with 160 transforms at once, most of a busy day): the transform is priced from its files and
 * rows instead, with the planner's model.
 */
export function transformPricedFromRows(
  usage: Record<string, FunctionUsage>,
  files: number,
  rowsRead: number,
): Record<string, FunctionUsage> {
  const transform = usage.transform;
  if (transform === undefined || files === 0) return usage;
  const seconds = files * transformFileSeconds(rowsRead / files, transform.memoryMb);
  return { ...usage, transform: { ...transform, durationMs: Math.round(seconds * 1000) } };
}

/** MySQL does not hold what the run aggregated for some hour: a row lost, doubled or left over. */
export class WarehouseReconciliationError extends EtlError {}

/**
 * Writes `reports/<runId>.json` (and the same as a page, `reports/<runId>.html`) for every run, succeeded or failed: files, rows, the hours read
 * back from MySQL, Athena bytes and cost, stage timings and the history size. Anything missing
 * because the run failed early is reported as zero or empty, never invented.
 */
export async function writeReport(
  input: ReportInput,
  settings: { dataBucket: string; hoursPerExecution: number; athenaPollSeconds: number } & CostSettings,
  store: ObjectStore,
  warehouseHours: (hours: string[]) => Promise<HourTotals[]>,
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<RunReport> {
  const runId =
    input.status === 'SUCCEEDED'
      ? input.runId
      : (input.input.run?.runId ?? input.input.runId ?? input.executionName);
  const window =
    input.status === 'SUCCEEDED' ? input.window : (input.input.run?.window ?? input.input.window ?? null);
  const batchMap: BatchMap =
    (input.status === 'SUCCEEDED' ? input.batchMap : input.input.run?.batchMap) ?? 'inline';
  const bucket = settings.dataBucket;

  const stored = await getJsonIfPresent(store, bucket, keys.transformSummary(runId));
  const summary = stored === undefined ? undefined : TransformSummarySchema.parse(stored);
  const files = summary?.files ?? { total: 0, transformed: 0, quarantined: 0 };
  const rows = summary?.rows ?? { read: 0, accepted: 0, quarantined: 0, inQuarantinedFiles: 0 };

  let queries = 0;
  let bytesScanned = 0;
  let billedBytes = 0;
  const aggregatedHours: string[] = [];
  const aggregateTotals = new Map<string, Omit<HourTotals, 'hour'>>();
  const hourOutputs: HourOutput[] = [];
  const athenaBytesScanned: number[] = [];
  const stagedItemBytes: number[] = [];
  const stagedBytesPerHour: number[] = [];
  // Only this run's hours: an earlier run under the same runId may have left other hours' results.
  const runHours = summary === undefined ? undefined : new Set(summary.hours);
  for await (const object of store.list(bucket, keys.hourAggregatesPrefix(runId))) {
    const hourAggregate = HourAggregateSchema.parse(await store.getJson(bucket, object.key));
    if (runHours !== undefined && !runHours.has(hourAggregate.hour)) continue;
    queries++;
    bytesScanned += hourAggregate.bytesScanned;
    billedBytes += athenaBilledBytes(hourAggregate.bytesScanned);
    athenaBytesScanned.push(hourAggregate.bytesScanned);
    const itemBytes = stagedItemSizes(runId, hourAggregate.rows);
    stagedItemBytes.push(...itemBytes);
    stagedBytesPerHour.push(itemBytes.reduce((sum, bytes) => sum + bytes, 0));
    aggregatedHours.push(hourAggregate.hour);
    aggregateTotals.set(hourAggregate.hour, {
      requests: hourAggregate.rows.reduce((sum, row) => sum + row.requests, 0),
      bytes: hourAggregate.rows.reduce((sum, row) => sum + row.bytesSent, 0),
    });
    hourOutputs.push({
      hour: hourAggregate.hour,
      writtenAt: object.lastModified,
      engineMs: hourAggregate.engineMs,
    });
  }

  let hours: HourTotals[] = [];
  let warehouseError: string | undefined;
  if (aggregatedHours.length > 0) {
    try {
      hours = await warehouseHours(aggregatedHours.sort());
    } catch (error) {
      // A failed run may have failed in MySQL itself; the report must still be written.
      warehouseError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }

  const reconciliation: Reconciliation = { status: 'NOT_CHECKED', hours: 0, differences: [] };
  if (aggregatedHours.length > 0 && warehouseError === undefined) {
    reconciliation.hours = hours.length;
    for (const { hour, requests, bytes } of hours) {
      const aggregate = aggregateTotals.get(hour) ?? { requests: 0, bytes: 0 };
      if (aggregate.requests !== requests || aggregate.bytes !== bytes) {
        reconciliation.differences.push({ hour, warehouse: { requests, bytes }, aggregate });
      }
    }
    reconciliation.status = reconciliation.differences.length === 0 ? 'MATCHED' : 'DIFFERENT';
  }

  const finishedAt = now();
  const timings = await timingsFromOutputs(
    store,
    bucket,
    runId,
    { startedAt: input.startedAt, finishedAt, athenaPollSeconds: settings.athenaPollSeconds },
    hourOutputs,
  );

  const shape = { ...runShapeFromTimings(timings, settings.hoursPerExecution), batchMap };
  const history = runHistory(shape);
  const report: RunReport = {
    status: input.status,
    runId,
    window,
    batchMap,
    startedAt: input.startedAt,
    finishedAt: finishedAt.toISOString(),
    files,
    quarantinedFiles: summary?.quarantinedFiles ?? [],
    rows,
    hours,
    reconciliation,
    athena: {
      queries,
      bytesScanned,
      estimatedCostUsd: Number(athenaCostUsd(billedBytes).toFixed(6)),
    },
    maxHistoryEvents: history.max,
    historyEventsSource: "estimated from the steps' outputs",
    stages: stageDurations(timings),
    cost: {
      ...roundCost(
        priceRun({
          architecture: settings.architecture,
          athenaBytesScanned,
          lambda: transformPricedFromRows(lambdaUsageFromTimings(timings, settings), files.total, rows.read),
          stateTransitions: history.transitions,
          s3: s3RequestEstimate({ files: files.total, batches: shape.batchFiles.length, queries, batchMap }),
          dynamodb: {
            writeUnits: dynamodbWriteUnits(stagedItemBytes),
            // Each hour's stage step queries its hour; the write step queries the run.
            readUnits:
              stagedItemBytes.length === 0
                ? 0
                : dynamodbReadUnits([...stagedBytesPerHour, stagedBytesPerHour.reduce((a, b) => a + b, 0)]),
          },
        }),
      ),
      sources: {
        lambda: LAMBDA_FROM_OUTPUTS,
        stepFunctions: "the run model over the run's batches, files, hours and polls",
        s3: 'estimated from the files, batches and queries (shared/core/run-plan.ts s3RequestEstimate)',
        dynamodb:
          "the staged items' sizes: a write unit per started KB of each, a read unit per 4 KB queried",
      },
    },
  };
  if (input.status === 'FAILED') {
    report.error = rootFailure(input.input.error?.Error ?? 'Unknown', input.input.error?.Cause ?? '');
  } else if (warehouseError !== undefined) {
    report.error = { error: 'ReportWarehouseReadError', cause: warehouseError };
  } else if (reconciliation.status === 'DIFFERENT') {
    const first = reconciliation.differences[0]!;
    report.status = 'FAILED';
    report.error = {
      error: 'WarehouseReconciliationError',
      cause: `MySQL differs from the aggregate in ${reconciliation.differences.length} hour(s); first ${first.hour}: ${first.warehouse.requests} requests and ${first.warehouse.bytes} bytes in MySQL, ${first.aggregate.requests} and ${first.aggregate.bytes} aggregated`,
    };
  }
  await store.putJson(bucket, keys.report(runId), report);
  await store.put(
    bucket,
    keys.reportHtml(runId),
    renderReportHtml(report, { timings, hoursPerExecution: settings.hoursPerExecution }),
    'text/html; charset=utf-8',
  );
  log.info('report written', {
    status: report.status,
    key: keys.report(runId),
    page: keys.reportHtml(runId),
  });
  // The run must not end SUCCEEDED over a warehouse that disagrees with its aggregate.
  if (input.status === 'SUCCEEDED' && reconciliation.status === 'DIFFERENT') {
    throw new WarehouseReconciliationError(report.error!.cause);
  }
  return report;
}

/**
 * A failure inside a child execution reaches the parent as `States.TaskFailed` whose cause is the
 * child's DescribeExecution output (JSON with Error, Cause, ExecutionArn): report the child's own
 * error, which names what went wrong, and which execution to open.
 */
export function rootFailure(error: string, cause: string): NonNullable<RunReport['error']> {
  if (error === 'States.TaskFailed' && cause.startsWith('{')) {
    try {
      const child = JSON.parse(cause) as { Error?: unknown; Cause?: unknown; ExecutionArn?: unknown };
      if (typeof child.Error === 'string') {
        const inner = rootFailure(child.Error, typeof child.Cause === 'string' ? child.Cause : '');
        return typeof child.ExecutionArn === 'string' && inner.execution === undefined
          ? { ...inner, execution: child.ExecutionArn }
          : inner;
      }
    } catch {
      // not a child execution's description: reported as it came
    }
  }
  return { error, cause };
}

/** Each staged item's size (the items the stage step writes for these rows), bytes. */
function stagedItemSizes(runId: string, rows: HourAggregate['rows']): number[] {
  const stagedAt = new Date(0).toISOString();
  return rows.map((row) => {
    try {
      return itemSizeUpperBound(toStagedItem(runId, row, stagedAt, 0));
    } catch {
      // A row the stage step refuses is never written: the run failed there, and it bills nothing.
      return 0;
    }
  });
}

const STAGE_ORDER = ['ingest', 'transform', 'aggregate', 'stage', 'write'];

/** Wall-clock span of each stage: first start to last finish over its invocations. */
export function stageDurations(timings: readonly Timing[]): RunReport['stages'] {
  const spans = new Map<string, { start: number; end: number; invocations: number }>();
  for (const timing of timings) {
    const name = timing.function === 'write' && timing.action === 'report' ? 'report' : timing.function;
    const span = spans.get(name) ?? { start: Number.POSITIVE_INFINITY, end: 0, invocations: 0 };
    span.start = Math.min(span.start, Date.parse(timing.startedAt));
    span.end = Math.max(span.end, Date.parse(timing.finishedAt));
    span.invocations++;
    spans.set(name, span);
  }
  return [...spans.entries()]
    .filter(([name]) => name !== 'report')
    .sort(([a], [b]) => STAGE_ORDER.indexOf(a) - STAGE_ORDER.indexOf(b))
    .map(([name, span]) => ({ name, durationMs: span.end - span.start, invocations: span.invocations }));
}
