import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { mapWithLimit } from '#shared/core/concurrency';
import { EtlError, RunCostBudgetError } from '#shared/core/errors';
import { rawKeyFor, type SourceObject, selectWindowFiles, sourceFileId } from '#shared/core/ingest';
import type { Logger } from '#shared/core/log';
import { planBatches } from '#shared/core/plan';
import { priceRun } from '#shared/core/run-cost';
import { dataKeySchema, FileIdSchema, keys, RunIdSchema } from '#shared/core/run-files';
import {
  HISTORY_EVENT_BUDGET,
  hourGroupsForWindow,
  INGEST_COPY_CONCURRENCY,
  maxBatchesPerRun,
} from '#shared/core/run-model';
import { type CostEstimateSettings, estimateRunUsage } from '#shared/core/run-plan';
import { hourStart, lastCompleteWindow, type Window, WindowSchema } from '#shared/core/window';

/**
 * What starts a run. The schedule passes neither runId nor window: the run takes the last complete
 * window and the execution's name as its id. Users backfill with an explicit window.
 */
export const IngestInputSchema = z.object({
  input: z.object({ runId: RunIdSchema.optional(), window: WindowSchema.optional() }).passthrough(),
  executionName: RunIdSchema,
});
export type IngestInput = z.infer<typeof IngestInputSchema>;

/** A batch as the parent Map sees it: small, so thousands fit in the 256 KB state payload. */
export interface BatchRef {
  batchId: string;
  files: number;
  bytes: number;
}

export const ManifestFileSchema = z.object({
  fileId: FileIdSchema,
  sourceKey: z.string(),
  key: dataKeySchema('raw/'),
  size: z.number().int().nonnegative(),
});
export const ManifestSchema = z.object({
  runId: z.string(),
  window: WindowSchema,
  files: z.array(ManifestFileSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** What ingest returns to the state machine: keys and counts, never the file list (256 KB payload cap). */
export interface IngestOutput {
  runId: string;
  window: Window;
  startedAt: string;
  batches: BatchRef[];
  manifestKey: string;
  files: number;
  bytes: number;
  copied: number;
  alreadyPresent: number;
}

export interface IngestSettings {
  sourceBucket: string;
  sourcePrefix: string;
  dataBucket: string;
  lookbackHours: number;
  windowHours: number;
  batchMaxFiles: number;
  batchMaxBytes: number;
  /** Hours per hour-group child: the parent's history holds one child per group as well as per batch. */
  hoursPerExecution: number;
  /** Batches one run may hold (default: what the run model leaves the window, `maxBatchesPerRun`). */
  maxBatches?: number;
  /** The stage's budget of one run and what the estimate of a run's cost needs. */
  budget: RunCostBudget;
}

export interface RunCostBudget {
  stage: string;
  /** US dollars (serverless.yml param `maxRunCostUsd`). */
  maxRunCostUsd: number;
  estimate: CostEstimateSettings;
}

/** The budget from the function's configuration. */
export function runCostBudget(config: {
  stage: string;
  maxRunCostUsd: number;
  architecture: CostEstimateSettings['architecture'];
  lookbackHours: number;
  hoursPerExecution: number;
  batchMaxFiles: number;
  batchMaxBytes: number;
  athenaPollSeconds: number;
  functionMemoryMb: Readonly<Record<keyof CostEstimateSettings['functions'], number>>;
  transformEphemeralStorageMb: number;
}): RunCostBudget {
  const memory = config.functionMemoryMb;
  const fn = (memoryMb: number, ephemeralStorageMb = 512) => ({ memoryMb, ephemeralStorageMb });
  return {
    stage: config.stage,
    maxRunCostUsd: config.maxRunCostUsd,
    estimate: {
      architecture: config.architecture,
      lookbackHours: config.lookbackHours,
      hoursPerExecution: config.hoursPerExecution,
      batchMaxFiles: config.batchMaxFiles,
      batchMaxBytes: config.batchMaxBytes,
      athenaPollSeconds: config.athenaPollSeconds,
      functions: {
        ingest: fn(memory.ingest),
        transform: fn(memory.transform, config.transformEphemeralStorageMb),
        aggregate: fn(memory.aggregate),
        stage: fn(memory.stage),
        write: fn(memory.write),
      },
    },
  };
}

export const BatchSchema = z.object({
  runId: z.string(),
  batchId: z.string(),
  files: z.array(ManifestFileSchema),
});
export type Batch = z.infer<typeof BatchSchema>;

const SOURCE_ETAG = 'source-etag';

/** The run's inputs cannot be ingested as they are. */
export class IngestError extends EtlError {}

/**
 * Copies the window's source files server-side into `raw/` under deterministic keys and writes the
 * run's manifest. A file already copied from the same source version (ETag recorded in the copy's
 * metadata) is not copied again, so a re-run or a retried invocation copies nothing twice.
 */
export async function ingest(
  event: IngestInput,
  settings: IngestSettings,
  store: ObjectStore,
  log: Logger,
  now: Date = new Date(),
): Promise<IngestOutput> {
  const input = {
    runId: event.input.runId ?? event.executionName,
    window: event.input.window ?? lastCompleteWindow(now, settings.windowHours),
  };
  const listed: SourceObject[] = [];
  for await (const object of store.list(settings.sourceBucket, settings.sourcePrefix)) listed.push(object);
  const selected = selectWindowFiles(listed, input.window, settings.lookbackHours);
  log.info('ingest: files selected', { listed: listed.length, selected: selected.length });
  checkRunCost(input, selected, settings.budget, log);

  // Server-side copies are I/O bound: several in flight turn a backfill of thousands of files
  // from minutes into seconds.
  let copied = 0;
  const files: Manifest['files'] = await mapWithLimit(selected, INGEST_COPY_CONCURRENCY, async (object) => {
    const key = rawKeyFor(object.key, settings.sourcePrefix);
    const existing = await store.head(settings.dataBucket, key);
    if (existing?.metadata[SOURCE_ETAG] !== object.etag) {
      await store.copy(
        { bucket: settings.sourceBucket, key: object.key },
        { bucket: settings.dataBucket, key },
        { [SOURCE_ETAG]: object.etag },
      );
      copied++;
    }
    return { fileId: sourceFileId(object.key), sourceKey: object.key, key, size: object.size };
  });

  const ids = new Set(files.map((file) => file.fileId));
  if (ids.size !== files.length) {
    throw new IngestError(`two source files of run ${input.runId} map to the same file id`);
  }
  const manifest: Manifest = { runId: input.runId, window: input.window, files };
  const manifestKey = keys.manifest(input.runId);
  await store.putJson(settings.dataBucket, manifestKey, manifest);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  log.info('ingest: manifest written', { manifestKey, files: files.length, copied, bytes });

  const planned = planBatches(files, { maxFiles: settings.batchMaxFiles, maxBytes: settings.batchMaxBytes });
  const maxBatches = settings.maxBatches ?? maxBatchesForWindow(input.window, settings);
  if (planned.length > maxBatches) {
    throw new IngestError(
      `window ${input.window.from}..${input.window.to} needs ${planned.length} batches of ${files.length} files; one run holds at most ${maxBatches} (the parent's history stays within ${HISTORY_EVENT_BUDGET} of its 25,000 events): run the backfill as several shorter windows, or raise batchMaxFiles (at most 1,000); npm run plan sizes both`,
    );
  }
  const batches: BatchRef[] = await mapWithLimit(
    planned,
    INGEST_COPY_CONCURRENCY,
    async (batchFiles, index) => {
      const batchId = String(index + 1).padStart(4, '0');
      const batch: Batch = { runId: input.runId, batchId, files: batchFiles };
      await store.putJson(settings.dataBucket, keys.batch(input.runId, batchId), batch);
      return {
        batchId,
        files: batchFiles.length,
        bytes: batchFiles.reduce((sum, file) => sum + file.size, 0),
      };
    },
  );
  log.info('ingest: batches planned', { batches: batches.length });
  return {
    runId: input.runId,
    window: input.window,
    startedAt: now.toISOString(),
    batches,
    manifestKey,
    files: files.length,
    bytes,
    copied,
    alreadyPresent: files.length - copied,
  };
}

/**
 * Holds the run's estimated cost (the planner's model over the window's files and bytes) to the
 * stage's budget, before anything is copied: a run over it would bill its transforms and queries.
 */
function checkRunCost(
  run: { runId: string; window: Window },
  files: readonly { size: number }[],
  budget: RunCostBudget,
  log: Logger,
): void {
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const hours = Math.max(1, (hourStart(run.window.to) - hourStart(run.window.from)) / 3_600_000);
  const cost = priceRun(estimateRunUsage({ files: files.length, bytes, hours }, budget.estimate));
  const usd = (value: number) => `$${value.toFixed(value < 0.01 ? 6 : 2)}`;
  log.info('ingest: cost estimated', {
    estimatedCostUsd: cost.totalUsd,
    maxRunCostUsd: budget.maxRunCostUsd,
  });
  if (cost.totalUsd > budget.maxRunCostUsd) {
    throw new RunCostBudgetError(
      `run ${run.runId} (window ${run.window.from}..${run.window.to}, ${files.length} files, ${bytes} bytes) is estimated at ${usd(cost.totalUsd)} (Athena ${usd(cost.athena.usd)}, Lambda ${usd(cost.lambda.usd)}, Step Functions ${usd(cost.stepFunctions.usd)}, S3 ${usd(cost.s3.usd)}, DynamoDB ${usd(cost.dynamodb.usd)}), over the budget maxRunCostUsd ${usd(budget.maxRunCostUsd)} of stage ${budget.stage} (serverless.yml params): stopped before any file is copied or Athena query started; run shorter windows or raise maxRunCostUsd (npm run plan prices a window)`,
    );
  }
}

/** Batches the run model lets a run of this window hold, beside the hour groups the window can need. */
export function maxBatchesForWindow(
  window: Window,
  settings: Pick<IngestSettings, 'lookbackHours' | 'hoursPerExecution'>,
): number {
  const windowHours = Math.max(1, (hourStart(window.to) - hourStart(window.from)) / 3_600_000);
  return maxBatchesPerRun(hourGroupsForWindow({ windowHours, ...settings }));
}
