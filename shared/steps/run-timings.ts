import { z } from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { keys, type Timing } from '#shared/core/run-files';

/**
 * Where the report's `stages` (and its history-size estimate) come from, now that no function
 * writes an object per invocation:
 * - in AWS, from the outputs the steps write anyway: their write times (S3 LastModified) bound each
 *   step's span, and their counts give the invocations (Athena status polls estimated from the
 *   query's engine time and the poll interval);
 * - locally, exactly, from the functions' EMF lines, which the local runner collects.
 */

/** An hour's aggregate the report read: when it was written and the query's engine time. */
export interface HourOutput {
  writtenAt?: Date;
  engineMs: number;
}

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
  let batches = 0;
  for await (const object of store.list(bucket, manifestPrefix)) {
    ingestedAt = latest(ingestedAt, object.lastModified);
    if (object.key.startsWith(batchPrefix)) batches++;
  }
  const timings: Timing[] = [];
  const at = (time: number) => new Date(time).toISOString();
  const add = (fn: string, action: string | undefined, start: number, end: number) =>
    timings.push({
      function: fn,
      ...(action !== undefined && { action }),
      startedAt: at(start),
      finishedAt: at(end),
    });
  if (ingestedAt === undefined) return timings;
  add('ingest', undefined, Date.parse(run.startedAt), ingestedAt);
  for (let batch = 0; batch < batches; batch++) add('transform', 'batch', ingestedAt, ingestedAt);

  let transformedAt = ingestedAt;
  for await (const object of store.list(bucket, keys.fileResultsPrefix(runId))) {
    const writtenAt = object.lastModified?.getTime() ?? ingestedAt;
    add('transform', 'file', ingestedAt, writtenAt);
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
    add('aggregate', 'start', plannedAt, plannedAt);
    const polls = Math.max(1, Math.ceil(hour.engineMs / (run.athenaPollSeconds * 1000)));
    for (let poll = 0; poll < polls; poll++) add('aggregate', 'status', writtenAt, writtenAt);
    add('aggregate', 'results', writtenAt, writtenAt);
    add('stage', undefined, writtenAt, writtenAt);
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
    const { function: fn, action, startedAt, finishedAt } = parsed.data;
    timings.push({ function: fn, ...(action !== undefined && { action }), startedAt, finishedAt });
  }
  return timings;
}
