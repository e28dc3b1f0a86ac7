import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import {
  AthenaQueryCancelledError,
  AthenaQueryFailedError,
  AthenaQueryTimeoutError,
  type QueryRunner,
} from '#shared/adapters/query-runner';
import { type AggregateRow, AggregateRowSchema } from '#shared/core/aggregate-row';
import { sleep } from '#shared/core/backoff';
import { mapWithLimit } from '#shared/core/concurrency';
import { EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import {
  type HourAggregate,
  keys,
  RunIdSchema,
  TransformResultSchema,
  type TransformSummary,
} from '#shared/core/run-files';
import { hourGroups, RESULT_READ_CONCURRENCY } from '#shared/core/run-model';
import { renderSql } from '#shared/core/sql';
import { fromResultRecord } from '#shared/core/table-values';
import { HourSchema } from '#shared/core/window';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';
import { ManifestSchema } from './ingest';

export interface AggregateSettings {
  dataBucket: string;
  glueDatabase: string;
  athenaWorkGroup: string;
  athenaQueryTimeoutSeconds: number;
  /** Hours per child execution of the hours state machine. */
  hoursPerExecution: number;
  sqlDirectory: string;
  table: string;
}

/** Athena query execution ids are UUIDs. */
const QueryExecutionIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,128}$/, 'not a query execution id');

export const AggregateInputSchema = z.discriminatedUnion('action', [
  /** After the transforms: which hours got rows, and the run's file and row totals. */
  z.object({
    action: z.literal('hours'),
    runId: RunIdSchema,
    /**
     * For hand runs (`sls invoke local`) that transformed only some files of the manifest: count
     * the files that have results and warn about the rest instead of failing. Never set by the
     * state machine.
     */
    partial: z.boolean().optional(),
  }),
  z.object({
    action: z.literal('start'),
    runId: RunIdSchema,
    hour: HourSchema,
    /**
     * The Step Functions execution starting the query. Part of the idempotency token: a retried
     * start in the same execution gets the query already running, a re-run of the same runId (say,
     * after a late file) gets a fresh query instead of the earlier one's stale result.
     */
    executionName: RunIdSchema.optional(),
  }),
  z.object({
    action: z.literal('status'),
    runId: RunIdSchema,
    hour: HourSchema,
    queryExecutionId: QueryExecutionIdSchema,
    startedAt: z.iso.datetime(),
  }),
  z.object({
    action: z.literal('results'),
    runId: RunIdSchema,
    hour: HourSchema,
    queryExecutionId: QueryExecutionIdSchema,
  }),
  /**
   * start + status + results in one invocation, for `sls invoke local` and hand backfills. The
   * state machine never uses it: waiting inside a Lambda pays for idle time.
   */
  z.object({ action: z.literal('query'), runId: RunIdSchema, hour: HourSchema }),
]);
export type AggregateInput = z.infer<typeof AggregateInputSchema>;

/** The query returned a row that does not fit the aggregate row's shape. */
export class AggregateResultError extends EtlError {}

/** A file of the run's manifest has no transform result: the batches did not all finish. */
export class TransformIncompleteError extends EtlError {}

const sqlCache = new Map<string, string>();
function sqlTemplate(directory: string, name: string): string {
  const path = join(directory, name);
  let text = sqlCache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    sqlCache.set(path, text);
  }
  return text;
}

/** The hourly aggregate SQL for one hour of the curated table. */
export function hourlyAggregateSql(settings: AggregateSettings, hour: string): string {
  return renderSql(sqlTemplate(settings.sqlDirectory, 'hourly_aggregate.sql'), {
    database: settings.glueDatabase,
    table: settings.table,
    dt: hour.slice(0, 10),
    hour: hour.slice(11, 13),
  });
}

/**
 * The aggregate step's actions. The state machine drives the query: `start`, then Wait and
 * `status` until SUCCEEDED (FAILED and CANCELLED raise named errors, a query past its time budget
 * is stopped), then `results` pages the result set into S3 for the stage step. No Lambda sleeps.
 */
export async function aggregate(
  input: AggregateInput,
  settings: AggregateSettings,
  store: ObjectStore,
  queries: QueryRunner,
  log: Logger,
  now: () => Date = () => new Date(),
) {
  switch (input.action) {
    case 'hours':
      return summarizeTransforms(input.runId, input.partial === true, settings, store, log);
    case 'start':
      return startQuery(input.runId, input.hour, input.executionName, settings, queries, log, now);
    case 'status':
      return { state: await checkQuery(input, settings, queries, now), runId: input.runId, hour: input.hour };
    case 'results':
      return storeResults(input.runId, input.hour, input.queryExecutionId, settings, store, queries, log);
    case 'query': {
      const started = await startQuery(
        input.runId,
        input.hour,
        `invoke-${now().toISOString()}`,
        settings,
        queries,
        log,
        now,
      );
      while ((await checkQuery(started, settings, queries, now)) !== 'SUCCEEDED') await sleep(500);
      return storeResults(input.runId, input.hour, started.queryExecutionId, settings, store, queries, log);
    }
  }
}

async function startQuery(
  runId: string,
  hour: string,
  executionName: string | undefined,
  settings: AggregateSettings,
  queries: QueryRunner,
  log: Logger,
  now: () => Date,
) {
  const sql = hourlyAggregateSql(settings, hour);
  // Same execution + run + hour + SQL → same token: a retried start returns the query already
  // running instead of starting a second one.
  const clientRequestToken = createHash('sha256')
    .update(`${executionName ?? ''}\n${runId}\n${hour}\n${sql}`)
    .digest('hex')
    .slice(0, 64);
  const queryExecutionId = await queries.start(sql, {
    database: settings.glueDatabase,
    workGroup: settings.athenaWorkGroup,
    clientRequestToken,
  });
  log.info('aggregate: query started', { hour, queryExecutionId });
  return { runId, hour, queryExecutionId, startedAt: now().toISOString() };
}

/** The query's state while it runs; FAILED, CANCELLED and a blown time budget raise named errors. */
async function checkQuery(
  query: { queryExecutionId: string; hour: string; startedAt: string },
  settings: AggregateSettings,
  queries: QueryRunner,
  now: () => Date,
): Promise<'QUEUED' | 'RUNNING' | 'SUCCEEDED'> {
  const status = await queries.status(query.queryExecutionId);
  if (status.state === 'FAILED') {
    throw new AthenaQueryFailedError(query.queryExecutionId, status.reason ?? 'no reason given');
  }
  if (status.state === 'CANCELLED') {
    throw new AthenaQueryCancelledError(query.queryExecutionId, status.reason ?? 'no reason given');
  }
  if (status.state === 'SUCCEEDED') return status.state;
  const elapsedSeconds = (now().getTime() - Date.parse(query.startedAt)) / 1000;
  if (elapsedSeconds > settings.athenaQueryTimeoutSeconds) {
    await queries.stop(query.queryExecutionId);
    throw new AthenaQueryTimeoutError(
      `Athena query ${query.queryExecutionId} for ${query.hour} still ${status.state} after ${Math.round(elapsedSeconds)} s (budget ${settings.athenaQueryTimeoutSeconds} s); stopped`,
    );
  }
  return status.state;
}

async function storeResults(
  runId: string,
  hour: string,
  queryExecutionId: string,
  settings: AggregateSettings,
  store: ObjectStore,
  queries: QueryRunner,
  log: Logger,
) {
  const rows: AggregateRow[] = [];
  for await (const page of queries.results(queryExecutionId)) {
    for (const record of page) rows.push(toAggregateRow(record, queryExecutionId));
  }
  const status = await queries.status(queryExecutionId);
  const result: HourAggregate = {
    runId,
    hour,
    queryExecutionId,
    bytesScanned: status.bytesScanned,
    engineMs: status.engineMs,
    rows,
  };
  const resultKey = keys.hourAggregate(runId, hour);
  await store.putJson(settings.dataBucket, resultKey, result);
  log.info('aggregate: results stored', { hour, rows: rows.length, bytesScanned: status.bytesScanned });
  return { runId, hour, resultKey, rows: rows.length, bytesScanned: status.bytesScanned };
}

/**
 * Athena returns every value as text; numbers are parsed by the aggregate table's declaration, and
 * a row that does not fit it is an error.
 */
function toAggregateRow(record: Record<string, string | null>, queryExecutionId: string): AggregateRow {
  const parsed = AggregateRowSchema.safeParse(fromResultRecord(cloudfrontHourly, record));
  if (!parsed.success) {
    throw new AggregateResultError(
      `Query ${queryExecutionId} returned a malformed row ${JSON.stringify(record)}: ${parsed.error.message}`,
    );
  }
  return parsed.data;
}

async function summarizeTransforms(
  runId: string,
  partial: boolean,
  settings: AggregateSettings,
  store: ObjectStore,
  log: Logger,
) {
  const summary: TransformSummary = {
    runId,
    hours: [],
    files: { total: 0, transformed: 0, quarantined: 0 },
    rows: { read: 0, accepted: 0, quarantined: 0, inQuarantinedFiles: 0 },
    quarantinedFiles: [],
  };
  // The manifest says which files this run holds; results of other files (left by an earlier run
  // under the same runId) are not counted, and a file without a result is an error, not a gap.
  const manifest = ManifestSchema.parse(await store.getJson(settings.dataBucket, keys.manifest(runId)));
  const expected = new Map(manifest.files.map((file) => [keys.fileResult(runId, file.fileId), file]));
  const seen: string[] = [];
  let stale = 0;
  for await (const object of store.list(settings.dataBucket, keys.fileResultsPrefix(runId))) {
    if (expected.has(object.key)) seen.push(object.key);
    else stale++;
  }
  // Read many at once: a busy day's 100,000 results one at a time would pass the function's timeout.
  const hours = new Set<string>();
  const quarantined: { index: number; key: string; reason: string }[] = [];
  await mapWithLimit(seen, RESULT_READ_CONCURRENCY, async (key, index) => {
    const result = TransformResultSchema.parse(await store.getJson(settings.dataBucket, key));
    summary.files.total++;
    summary.rows.read += result.rows.read;
    summary.rows.accepted += result.rows.accepted;
    summary.rows.quarantined += result.rows.quarantined;
    if (result.status === 'quarantined') {
      summary.files.quarantined++;
      summary.rows.inQuarantinedFiles += result.rows.read;
      quarantined.push({ index, key: result.key, reason: result.reason ?? '' });
    } else {
      summary.files.transformed++;
    }
    for (const hour of result.hours) hours.add(hour);
    for (const hour of result.hoursRemoved ?? []) hours.add(hour);
  });
  // In listing order, as when they were read one at a time.
  summary.quarantinedFiles = quarantined
    .sort((a, b) => a.index - b.index)
    .map(({ key, reason }) => ({ key, reason }));
  const found = new Set(seen);
  const missing = [...expected].filter(([key]) => !found.has(key)).map(([, file]) => file.sourceKey);
  if (missing.length > 0 && partial) {
    log.warn('aggregate: files of the manifest without a result left out (partial)', {
      missing: missing.length,
    });
  } else if (missing.length > 0) {
    throw new TransformIncompleteError(
      `${missing.length} of ${expected.size} files of run ${runId} have no transform result (first: ${missing[0]})`,
    );
  }
  if (stale > 0) log.warn('aggregate: ignored results of files not in the manifest', { stale });
  summary.hours = [...hours].sort();
  await store.putJson(settings.dataBucket, keys.transformSummary(runId), summary);
  log.info('aggregate: hours to aggregate', { hours: summary.hours.length, files: summary.files });
  const groups = hourGroups(summary.hours, settings.hoursPerExecution);
  return { runId, hours: summary.hours, hourGroups: groups, files: summary.files, rows: summary.rows };
}
