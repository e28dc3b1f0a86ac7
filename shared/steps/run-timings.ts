import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { mapWithLimit } from '#shared/core/concurrency';
import { keys, type Timing } from '#shared/core/run-files';
import { hourGroups, type RunShape } from '#shared/core/run-model';

/**
 * Where the report's `stages` (and its history-size estimate) come from, now that no function
 * writes an object per invocation:
 * - in AWS, from the outputs the steps write anyway: their write times (S3 LastModified) bound each
 *   step's span, and their counts give the invocations (Athena status polls estimated from the
 *   query's engine time and the poll interval);
 * - locally, exactly, from the functions' EMF lines, which the local runner collects.
 */

/** An hour's aggregate the report read: its hour, when it was written and the query's engine time. */
export interface HourOutput {
  hour: string;
  writtenAt?: Date;
  engineMs: number;
}

/** The part of a batch object (`manifests/<runId>/batches/<batchId>.json`) the report reads. */
const BatchFilesSchema = z.object({ files: z.array(z.object({ fileId: z.string() })) });
/** Batch objects read at once. */
const READ_CONCURRENCY = 16;

export async function timingsFromOutputs(
  store: ObjectStore,
  bucket: string,
  runId: string,
  run: { startedAt: string; finishedAt: Date; athenaPollSeconds: number },
  hours: readonly HourOutput[],
): Promise<Timing[]> {
  const folderOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);
  const manifestPrefix = folderOf(keys.manifest(runId));
  const batchPrefix = folderOf(keys.batch(runId, 'any'));
  let ingestedAt: number | undefined;
  const batchKeys: string[] = [];
  for await (const object of store.list(bucket, manifestPrefix)) {
    ingestedAt = latest(ingestedAt, object.lastModified);
    if (object.key.startsWith(batchPrefix)) batchKeys.push(object.key);
  }
  const timings: Timing[] = [];
  const at = (time: number) => new Date(time).toISOString();
  const add = (
    fn: string,
    action: string | undefined,
    start: number,
    end: number,
    where: { batchId?: string; hour?: string } = {},
  ) =>
    timings.push({
      function: fn,
      ...(action !== undefined && { action }),
      ...where,
      startedAt: at(start),
      finishedAt: at(end),
    });
  if (ingestedAt === undefined) return timings;
  add('ingest', undefined, Date.parse(run.startedAt), ingestedAt);
  // Which batch each file ran in: the history of a batch's child grows with its files.
  const batchOfFile = new Map<string, string>();
  await mapWithLimit(batchKeys, READ_CONCURRENCY, async (key) => {
    const batchId = key.slice(batchPrefix.length).replace(/\.json$/, '');
    add('transform', 'batch', ingestedAt, ingestedAt, { batchId });
    const batch = BatchFilesSchema.parse(await store.getJson(bucket, key));
    for (const file of batch.files) batchOfFile.set(file.fileId, batchId);
  });

  let transformedAt = ingestedAt;
  const filesPrefix = keys.fileResultsPrefix(runId);
  for await (const object of store.list(bucket, filesPrefix)) {
    const writtenAt = object.lastModified?.getTime() ?? ingestedAt;
    const batchId = batchOfFile.get(object.key.slice(filesPrefix.length).replace(/\.json$/, ''));
    add('transform', 'file', ingestedAt, writtenAt, batchId === undefined ? {} : { batchId });
    transformedAt = Math.max(transformedAt, writtenAt);
  }
  let plannedAt: number | undefined;
  for await (const object of store.list(bucket, keys.transformSummary(runId))) {
    if (object.key === keys.transformSummary(runId)) plannedAt = latest(plannedAt, object.lastModified);
  }
  if (plannedAt === undefined) return timings;
  add('aggregate', 'hours', transformedAt, plannedAt);

  let aggregatedAt = plannedAt;
  for (const hour of hours) {
    const writtenAt = hour.writtenAt?.getTime() ?? plannedAt;
    const where = { hour: hour.hour };
    add('aggregate', 'start', plannedAt, plannedAt, where);
    const polls = Math.max(1, Math.ceil(hour.engineMs / (run.athenaPollSeconds * 1000)));
    for (let poll = 0; poll < polls; poll++) add('aggregate', 'status', writtenAt, writtenAt, where);
    add('aggregate', 'results', writtenAt, writtenAt, where);
    add('stage', undefined, writtenAt, writtenAt, where);
    aggregatedAt = Math.max(aggregatedAt, writtenAt);
  }
  if (hours.length > 0) add('write', 'write', aggregatedAt, run.finishedAt.getTime());
  return timings;
}

function latest(current: number | undefined, candidate: Date | undefined): number | undefined {
  if (candidate === undefined) return current;
  return current === undefined ? candidate.getTime() : Math.max(current, candidate.getTime());
}

/** The fields of a function's EMF line (shared/observability/metrics.ts) that make a timing. */
const MetricLineSchema = z.object({
  _aws: z.object({ CloudWatchMetrics: z.array(z.unknown()) }),
  function: z.string(),
  action: z.string().optional(),
  batchId: z.string().optional(),
  hour: z.string().optional(),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
});

/** One timing per invocation of the run, from the EMF lines the functions wrote (other lines are skipped). */
export function timingsFromMetricLines(lines: Iterable<string>, runId: string): Timing[] {
  const timings: Timing[] = [];
  for (const line of lines) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const parsed = MetricLineSchema.safeParse(value);
    if (!parsed.success || parsed.data.runId !== runId) continue;
    const { function: fn, action, batchId, hour, startedAt, finishedAt } = parsed.data;
    timings.push({
      function: fn,
      ...(action !== undefined && { action }),
      ...(batchId !== undefined && { batchId }),
      ...(hour !== undefined && { hour }),
      startedAt,
      finishedAt,
    });
  }
  return timings;
}

/**
 * The run as the run model sees it, from one timing per invocation: files per batch (transform
 * `file` invocations by batch) and, per hour group as PlanHours cuts them, each hour's status polls
 * (aggregate `status` invocations by hour). Both sources give every such invocation its batch or
 * hour; one without would count under a shared key.
 */
export function runShapeFromTimings(timings: readonly Timing[], hoursPerExecution: number): RunShape {
  const filesByBatch = new Map<string, number>();
  const pollsByHour = new Map<string, number>();
  for (const timing of timings) {
    if (timing.function === 'transform' && timing.action === 'batch') {
      filesByBatch.set(timing.batchId ?? '', filesByBatch.get(timing.batchId ?? '') ?? 0);
    } else if (timing.function === 'transform' && timing.action === 'file') {
      filesByBatch.set(timing.batchId ?? '', (filesByBatch.get(timing.batchId ?? '') ?? 0) + 1);
    } else if (timing.function === 'aggregate' && timing.action === 'start') {
      pollsByHour.set(timing.hour ?? '', pollsByHour.get(timing.hour ?? '') ?? 0);
    } else if (timing.function === 'aggregate' && timing.action === 'status') {
      pollsByHour.set(timing.hour ?? '', (pollsByHour.get(timing.hour ?? '') ?? 0) + 1);
    }
  }
  const hours = [...pollsByHour.keys()].sort();
  return {
    batchFiles: [...filesByBatch.values()],
    hourGroupPolls: hourGroups(hours, hoursPerExecution).map((group) =>
      group.map((hour) => pollsByHour.get(hour) ?? 0),
    ),
  };
}
