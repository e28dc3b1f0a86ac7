import { PROJECTION_START_MS } from '#shared/datasets/table';
import { BATCH_MAP_MODES, type BatchMap, type BatchMapMode } from './batch-map';

export { BATCH_MAP_MODES, type BatchMap, type BatchMapMode };

/**
 * The one model of a run's size against the AWS limits it must stay inside: how many history
 * events and state transitions each execution records, how many batches a run may hold, and the
 * settings `sls package` refuses. `scripts/limits.js` (package time), ingest's refusal, the
 * report's estimate and `npm run plan` all read it; the e2e tests check it against the history
 * the local runner counts. Pure: numbers in, numbers out (docs/run-model.md).
 */

/**
 * S3 requests the steps keep in flight: ingest's server-side copies (a busy day's 100,000 files
 * take about 100 s at 64, 380 s at 16, past ingest's 300 s timeout), and the file results
 * PlanHours reads (one at a time, 100,000 took about 3,000 s against the aggregate's 120 s).
 */
export const INGEST_COPY_CONCURRENCY = 64;
export const RESULT_READ_CONCURRENCY = 64;

/** A Standard workflow execution's history is capped at 25,000 events (`States.Runtime` beyond). */
export const HISTORY_EVENT_CAP = 25_000;
/**
 * What a planned execution may use on its success path; the rest of the cap absorbs retries (each
 * retried Lambda attempt adds 3 events: scheduled, started, failed).
 */
export const HISTORY_EVENT_BUDGET = 20_000;
/** Athena's default quota: about 20 concurrent DML queries per account and region. */
export const ATHENA_CONCURRENT_QUERY_QUOTA = 20;
/** Lambda keeps at least 100 of the account's concurrency unreserved. */
export const MIN_UNRESERVED_CONCURRENCY = 100;
/** A batch's file list is its child's state: 1,000 usual keys stay under the 256 KB payload cap. */
export const MAX_FILES_PER_BATCH = 1_000;
/** Lambda's ephemeral storage (/tmp): 512 MB to 10,240 MB. */
export const EPHEMERAL_STORAGE_MB = { min: 512, max: 10_240 } as const;
/** The transform accepts rows from this date on (Athena's partition projection starts there). */
export const EARLIEST_ROW_DATE = new Date(PROJECTION_START_MS).toISOString().slice(0, 10);
/** /tmp the transform leaves to everything but its spool (shared/config.ts spoolBytes). */
export const SPOOL_HEADROOM_MB = 64;
/**
 * Spool bytes per byte of raw text in the worst row order (every hour interleaved), rounded up
 * from 1.47 measured on the bench's 1,000,000 rows (docs/transform.md).
 */
export const SPOOL_PER_TEXT_BYTE = 1.6;

/**
 * History events Step Functions records per state, as the local runner counts them
 * (local/stepfunctions/history.ts): a Lambda task entered, scheduled, started, succeeded, exited;
 * a `startExecution.sync:2` task adds TaskSubmitted; a Map entered, started, succeeded, exited,
 * and per iteration started and succeeded; Wait, Choice and Pass entered and exited.
 */
export const HISTORY_EVENTS_PER = {
  execution: 2,
  lambdaTask: 5,
  childExecutionTask: 6,
  map: 4,
  mapIteration: 2,
  flowState: 2,
  /** A Distributed Map's run in its parent: MapRunStarted and MapRunSucceeded, whatever its items. */
  mapRun: 2,
  /** A Fail state: FailStateEntered only (ExecutionFailed follows, counted with the execution). */
  failState: 1,
} as const;

/** A Distributed Map runs at most 10,000 child workflow executions at once (`MaxConcurrency`). */
export const MAP_RUN_MAX_CONCURRENCY = 10_000;
/** An inline Map runs at most 40 iterations at once (the backfill's RunWindows Map). */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

/** What one execution runs on its success path, counted by kind of state. */
export interface ExecutionStates {
  lambdaTasks: number;
  childExecutionTasks: number;
  maps: number;
  mapIterations: number;
  /** Wait, Choice, Pass and Succeed states. */
  flowStates: number;
  /** Fail states (on a failure path only). */
  failStates?: number;
  /** Distributed Maps run (each a map run: 2 events here, its items in child executions). */
  mapRuns?: number;
  /** Child workflow executions those map runs start: Step Functions bills a transition for each. */
  mapRunChildren?: number;
}

/** History events of one execution (its children record their own). */
export function historyEvents(states: ExecutionStates): number {
  const per = HISTORY_EVENTS_PER;
  return (
    per.execution +
    per.lambdaTask * states.lambdaTasks +
    per.childExecutionTask * states.childExecutionTasks +
    per.map * states.maps +
    per.mapIteration * states.mapIterations +
    per.flowState * states.flowStates +
    per.failState * (states.failStates ?? 0) +
    per.mapRun * (states.mapRuns ?? 0)
  );
}

/** Billed Standard-workflow state transitions of one execution: one per state entered. */
export function stateTransitions(states: ExecutionStates): number {
  return (
    states.lambdaTasks +
    states.childExecutionTasks +
    states.maps +
    states.flowStates +
    (states.failStates ?? 0) +
    (states.mapRunChildren ?? 0)
  );
}

/**
 * The parent (statemachines/run.asl.yml): Ingest, the ChooseBatchMap Choice, PlanHours,
 * WriteWarehouse and Report; the AggregateHours Map with a child execution per hour group; and
 * the batches: inline, a Map iteration and child execution per batch in this history; distributed,
 * one map run whose child workflow executions (`mapRunChildExecution`) start the batch children.
 */
export function runExecution(shape: {
  batches: number;
  hourGroups: number;
  batchMap?: BatchMap;
}): ExecutionStates {
  if (shape.batchMap === 'distributed') {
    return {
      lambdaTasks: 4,
      childExecutionTasks: shape.hourGroups,
      maps: 2,
      mapIterations: shape.hourGroups,
      flowStates: 1,
      mapRuns: 1,
      mapRunChildren: shape.batches,
    };
  }
  const children = shape.batches + shape.hourGroups;
  return { lambdaTasks: 4, childExecutionTasks: children, maps: 2, mapIterations: children, flowStates: 1 };
}

/**
 * The backfill (statemachines/backfill.asl.yml): SplitWindows and Summarize (Lambda tasks), the
 * RunWindows inline Map with a Map iteration and a run child execution per window (counted as the
 * parent's inline batch Map counts its batches), the AnyWindowFailed Choice, then Done (Succeed).
 * Each failed window adds its WindowFailed Pass state, and a backfill with a failed window ends in
 * the BackfillFailed Fail state instead of Done.
 */
export function backfillExecution(shape: { windows: number; failedWindows?: number }): ExecutionStates {
  const failed = shape.failedWindows ?? 0;
  return {
    lambdaTasks: 2,
    childExecutionTasks: shape.windows,
    maps: 1,
    mapIterations: shape.windows,
    flowStates: (failed > 0 ? 1 : 2) + failed,
    failStates: failed > 0 ? 1 : 0,
  };
}

/**
 * Windows one backfill execution may run: within the 20,000-event budget on its success path, so
 * that even every window failing (2 events more each, for its WindowFailed state) stays under the
 * 25,000 cap.
 */
export function maxBackfillWindows(): number {
  const fixed = historyEvents(backfillExecution({ windows: 0 }));
  const perWindow = historyEvents(backfillExecution({ windows: 1 })) - fixed;
  return Math.floor((HISTORY_EVENT_BUDGET - fixed) / perWindow);
}

/**
 * A child workflow execution of the Distributed Map (one per batch): its RunBatchInMapRun task
 * starts the batch child and waits for it (`startExecution.sync:2`).
 */
export function mapRunChildExecution(): ExecutionStates {
  return { lambdaTasks: 0, childExecutionTasks: 1, maps: 0, mapIterations: 0, flowStates: 0 };
}

/** A batch child (statemachines/batch.asl.yml): LoadBatch, a Map of one transform per file, Done. */
export function batchExecution(shape: { files: number }): ExecutionStates {
  return {
    lambdaTasks: 1 + shape.files,
    childExecutionTasks: 0,
    maps: 1,
    mapIterations: shape.files,
    flowStates: 1,
  };
}

/**
 * An hour-group child (statemachines/hours.asl.yml): per hour StartQuery, FetchResults and
 * StageRows; per status poll Wait, CheckQuery and Choice; then Done. `polls` is the group's total.
 */
export function hoursExecution(shape: { hours: number; polls: number }): ExecutionStates {
  return {
    lambdaTasks: 3 * shape.hours + shape.polls,
    childExecutionTasks: 0,
    maps: 1,
    mapIterations: shape.hours,
    flowStates: 2 * shape.polls + 1,
  };
}

/** A run as the model sees it: its batches and its hour groups (polls per hour, in group order). */
export interface RunShape {
  /** How the parent ran its batches (default inline). */
  batchMap?: BatchMap;
  /** Files in each batch. */
  batchFiles: readonly number[];
  /** Status polls of each hour, per hour group. */
  hourGroupPolls: readonly (readonly number[])[];
}

export interface RunHistory {
  /** Events of the parent, the largest batch child and the largest hour-group child. */
  run: number;
  batch: number;
  hours: number;
  /** The largest of the three: what the 25,000 cap applies to. */
  max: number;
  /** State transitions of the whole run (parent and every child), as Step Functions bills them. */
  transitions: number;
}

/** History and transitions of a run of this shape, on its success path (retries not counted). */
export function runHistory(shape: RunShape): RunHistory {
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const parent = runExecution({
    batches: shape.batchFiles.length,
    hourGroups: shape.hourGroupPolls.length,
    batchMap: shape.batchMap ?? 'inline',
  });
  const batches = shape.batchFiles.map((files) => batchExecution({ files }));
  const mapRunChildren =
    shape.batchMap === 'distributed' ? shape.batchFiles.map(() => mapRunChildExecution()) : [];
  const groups = shape.hourGroupPolls.map((polls) =>
    hoursExecution({ hours: polls.length, polls: sum(polls) }),
  );
  const run = historyEvents(parent);
  // A map run's child (8 events) is far below any batch child; it counts for the cap all the same.
  const batch = Math.max(0, ...batches.map(historyEvents), ...mapRunChildren.map(historyEvents));
  const hours = Math.max(0, ...groups.map(historyEvents));
  return {
    run,
    batch,
    hours,
    max: Math.max(run, batch, hours),
    transitions:
      stateTransitions(parent) + sum([...batches, ...groups, ...mapRunChildren].map(stateTransitions)),
  };
}

/**
 * Hours in groups of `hoursPerExecution`, in order, as PlanHours cuts them (shared/steps/aggregate.ts).
 */
export function hourGroups<T>(hours: readonly T[], hoursPerExecution: number): T[][] {
  const groups: T[][] = [];
  for (let start = 0; start < hours.length; start += hoursPerExecution) {
    groups.push(hours.slice(start, start + hoursPerExecution));
  }
  return groups;
}

/** Status checks one query can take before its time budget fails it: every Wait, plus the last. */
export function maxPollsPerQuery(settings: { athenaQueryTimeoutSeconds: number; athenaPollSeconds: number }) {
  return Math.ceil(settings.athenaQueryTimeoutSeconds / settings.athenaPollSeconds) + 1;
}

/** The worst hour-group child: every hour of a full group polled until its query's time budget. */
export function worstHoursExecutionEvents(settings: {
  hoursPerExecution: number;
  athenaQueryTimeoutSeconds: number;
  athenaPollSeconds: number;
}): number {
  const hours = settings.hoursPerExecution;
  return historyEvents(hoursExecution({ hours, polls: hours * maxPollsPerQuery(settings) }));
}

/** The worst batch child: a full batch. */
export function worstBatchExecutionEvents(settings: { batchMaxFiles: number }): number {
  return historyEvents(batchExecution({ files: settings.batchMaxFiles }));
}

/**
 * Batches one run may hold: the inline parent records 8 events per batch and per hour group, and
 * must stay inside the budget with the hour groups its window can need. A distributed parent
 * records its map run whatever the batches: no limit from its history (Infinity).
 */
export function maxBatchesPerRun(hourGroupCount: number, batchMap: BatchMap = 'inline'): number {
  if (batchMap === 'distributed') return Number.POSITIVE_INFINITY;
  const withoutBatches = historyEvents(runExecution({ batches: 0, hourGroups: hourGroupCount }));
  const perBatch =
    historyEvents(runExecution({ batches: 1, hourGroups: 0 })) -
    historyEvents(runExecution({ batches: 0, hourGroups: 0 }));
  return Math.max(0, Math.floor((HISTORY_EVENT_BUDGET - withoutBatches) / perBatch));
}

/**
 * The batch Map a run of `batches` batches uses under `mode`: `auto` takes the inline Map while the
 * parent's history holds them (`maxInline`, from `maxBatchesPerRun`) and the Distributed Map above.
 */
export function chooseBatchMap(mode: BatchMapMode, batches: number, maxInline: number): BatchMap {
  if (mode === 'auto') return batches > maxInline ? 'distributed' : 'inline';
  return mode;
}

/**
 * Hour groups a window can need: its hours plus the lookback (late files' rows land in earlier
 * hours), `hoursPerExecution` to a group.
 */
export function hourGroupsForWindow(settings: {
  windowHours: number;
  lookbackHours: number;
  hoursPerExecution: number;
}): number {
  return Math.ceil((settings.windowHours + settings.lookbackHours) / settings.hoursPerExecution);
}

/**
 * The transform's worst spool, in MB: the largest raw file allowed, expanded to text (gzip's ratio,
 * `rawExpansion`), times what interleaved rows spool per text byte; plus the headroom.
 */
export function transformDiskMb(settings: { maxRawFileBytes: number; rawExpansion: number }): number {
  return (
    Math.ceil((settings.maxRawFileBytes * settings.rawExpansion * SPOOL_PER_TEXT_BYTE) / 1024 / 1024) +
    SPOOL_HEADROOM_MB
  );
}

/** The settings `sls package` checks (every one optional but the first three). */
export interface LimitSettings {
  athenaConcurrency: number;
  reservedConcurrency: Record<string, number>;
  accountConcurrencyLimit: number;
  athenaPollSeconds?: number;
  athenaQueryTimeoutSeconds?: number;
  hoursPerExecution?: number;
  batchMaxFiles?: number;
  projectionStartDate?: string;
  /** With the next two: the transform's /tmp (MB) against its worst spool. */
  ephemeralStorageTransform?: number;
  maxRawFileBytes?: number;
  rawExpansion?: number;
  /** With the next two: the Distributed Map's settings. */
  batchMapMode?: string;
  toleratedBatchFailurePercentage?: number;
  batchConcurrency?: number;
  /** With `lookbackHours` and `hoursPerExecution`: one backfill run's hour groups. */
  backfillHoursPerRun?: number;
  lookbackHours?: number;
  /** Runs a backfill starts at once: they share Athena's quota and the writer's reservation. */
  backfillConcurrency?: number;
}

/**
 * Settings that would break AWS limits at run time, each as one sentence naming the setting and
 * the fix. Empty when the settings are fine.
 */
export function checkLimits(settings: LimitSettings): string[] {
  const problems: string[] = [];
  const { ephemeralStorageTransform: size, maxRawFileBytes, rawExpansion } = settings;
  if (size !== undefined) {
    if (!(Number.isInteger(size) && size >= EPHEMERAL_STORAGE_MB.min && size <= EPHEMERAL_STORAGE_MB.max)) {
      problems.push(
        `ephemeralStorageTransform is ${size}: Lambda's /tmp is ${EPHEMERAL_STORAGE_MB.min} to ${EPHEMERAL_STORAGE_MB.max} MB`,
      );
    } else if (maxRawFileBytes !== undefined && rawExpansion !== undefined) {
      const needed = transformDiskMb({ maxRawFileBytes, rawExpansion });
      if (!(needed <= size)) {
        problems.push(
          `ephemeralStorageTransform is ${size} MB, but a raw file of maxRawFileBytes ${maxRawFileBytes} expanding ${rawExpansion}x (rawExpansion) can spool ${needed} MB when its rows are interleaved: raise ephemeralStorageTransform or lower maxRawFileBytes`,
        );
      }
    }
  }
  if (
    settings.projectionStartDate !== undefined &&
    !(String(settings.projectionStartDate) <= EARLIEST_ROW_DATE)
  ) {
    problems.push(
      `projectionStartDate is ${settings.projectionStartDate}: the transform accepts rows from ${EARLIEST_ROW_DATE} on, and Athena's partition projection would never see those before the start`,
    );
  }
  const { hoursPerExecution, athenaQueryTimeoutSeconds, athenaPollSeconds } = settings;
  if (
    hoursPerExecution !== undefined &&
    athenaQueryTimeoutSeconds !== undefined &&
    athenaPollSeconds !== undefined
  ) {
    const events = worstHoursExecutionEvents({
      hoursPerExecution,
      athenaQueryTimeoutSeconds,
      athenaPollSeconds,
    });
    if (!(events <= HISTORY_EVENT_BUDGET)) {
      problems.push(
        `hoursPerExecution ${hoursPerExecution} with a ${athenaQueryTimeoutSeconds} s query budget polled every ${athenaPollSeconds} s can reach ${events} history events per execution (budget ${HISTORY_EVENT_BUDGET} of the ${HISTORY_EVENT_CAP} cap): lower hoursPerExecution or athenaQueryTimeoutSeconds, or raise athenaPollSeconds`,
      );
    }
  }
  const { batchMaxFiles } = settings;
  if (batchMaxFiles !== undefined) {
    if (
      !(
        Number.isInteger(batchMaxFiles) &&
        batchMaxFiles >= 1 &&
        batchMaxFiles <= MAX_FILES_PER_BATCH &&
        worstBatchExecutionEvents({ batchMaxFiles }) <= HISTORY_EVENT_BUDGET
      )
    ) {
      problems.push(
        `batchMaxFiles is ${batchMaxFiles}: a batch execution holds 1 to ${MAX_FILES_PER_BATCH} files (its file list is its state, capped at 256 KB)`,
      );
    }
  }
  const { batchMapMode, toleratedBatchFailurePercentage: tolerated, batchConcurrency } = settings;
  if (batchMapMode !== undefined && !(BATCH_MAP_MODES as readonly string[]).includes(batchMapMode)) {
    problems.push(`batchMapMode is ${batchMapMode}: it is one of ${BATCH_MAP_MODES.join(', ')}`);
  }
  if (tolerated !== undefined && !(Number.isFinite(tolerated) && tolerated >= 0 && tolerated <= 100)) {
    problems.push(
      `toleratedBatchFailurePercentage is ${tolerated}: the Distributed Map's ToleratedFailurePercentage is 0 to 100`,
    );
  }
  if (
    batchMapMode !== undefined &&
    batchMapMode !== 'inline' &&
    batchConcurrency !== undefined &&
    !(
      Number.isInteger(batchConcurrency) &&
      batchConcurrency >= 1 &&
      batchConcurrency <= MAP_RUN_MAX_CONCURRENCY
    )
  ) {
    problems.push(
      `batchConcurrency is ${batchConcurrency}: a Distributed Map runs 1 to ${MAP_RUN_MAX_CONCURRENCY} child executions at once`,
    );
  }
  problems.push(...backfillProblems(settings));
  const { athenaConcurrency } = settings;
  if (
    !Number.isInteger(athenaConcurrency) ||
    athenaConcurrency < 1 ||
    athenaConcurrency > ATHENA_CONCURRENT_QUERY_QUOTA
  ) {
    problems.push(
      `athenaConcurrency is ${athenaConcurrency}: the aggregate Map must start at most ${ATHENA_CONCURRENT_QUERY_QUOTA} queries at once (Athena's concurrent-query quota)`,
    );
  }
  const reserved = Object.values(settings.reservedConcurrency).reduce(
    (sum, value) => sum + (Number(value) || 0),
    0,
  );
  const unreserved = settings.accountConcurrencyLimit - reserved;
  if (unreserved < MIN_UNRESERVED_CONCURRENCY) {
    problems.push(
      `reserved concurrency totals ${reserved} of the account's ${settings.accountConcurrencyLimit}, leaving ${unreserved} unreserved; Lambda requires at least ${MIN_UNRESERVED_CONCURRENCY}`,
    );
  }
  return problems;
}

/**
 * The backfill's settings against what its runs share: a run of `backfillHoursPerRun` hours must
 * leave its parent room for a batch beside its hour groups, and `backfillConcurrency` runs at once
 * (an inline Map: at most 40) must not start more Athena queries than the quota or more writes
 * than the write function's reserved concurrency (the extra writes would be throttled past the
 * Lambda Retry's 7 attempts, about a minute and a half, while a write may take minutes).
 */
function backfillProblems(settings: LimitSettings): string[] {
  const problems: string[] = [];
  const {
    backfillHoursPerRun: hours,
    backfillConcurrency: runs,
    lookbackHours,
    hoursPerExecution,
  } = settings;
  if (hours !== undefined) {
    if (!(Number.isInteger(hours) && hours >= 1)) {
      problems.push(
        `backfillHoursPerRun is ${hours}: a backfill's run is a whole number of hours, 1 or more`,
      );
    } else if (lookbackHours !== undefined && hoursPerExecution !== undefined) {
      const groups = hourGroupsForWindow({ windowHours: hours, lookbackHours, hoursPerExecution });
      const batchMap = settings.batchMapMode === 'distributed' ? 'distributed' : 'inline';
      const events = historyEvents(
        runExecution({ batches: batchMap === 'inline' ? 1 : 0, hourGroups: groups, batchMap }),
      );
      if (!(events <= HISTORY_EVENT_BUDGET)) {
        problems.push(
          `backfillHoursPerRun is ${hours}: one run of it aggregates ${groups} hour groups (hoursPerExecution ${hoursPerExecution}), which put its parent's history at ${events} events with no room for its batches (budget ${HISTORY_EVENT_BUDGET}): lower backfillHoursPerRun`,
        );
      }
    }
  }
  if (runs === undefined) return problems;
  if (!(Number.isInteger(runs) && runs >= 1 && runs <= INLINE_MAP_MAX_CONCURRENCY)) {
    problems.push(
      `backfillConcurrency is ${runs}: the backfill's inline Map runs 1 to ${INLINE_MAP_MAX_CONCURRENCY} windows at once`,
    );
    return problems;
  }
  const { athenaConcurrency } = settings;
  // One run at a time is the athenaConcurrency check's own.
  if (runs > 1 && runs * athenaConcurrency > ATHENA_CONCURRENT_QUERY_QUOTA) {
    problems.push(
      `backfillConcurrency is ${runs}: its runs at once, each with athenaConcurrency ${athenaConcurrency}, could start ${runs * athenaConcurrency} Athena queries at once, over the ${ATHENA_CONCURRENT_QUERY_QUOTA}-query quota: lower backfillConcurrency or athenaConcurrency`,
    );
  }
  const writers = Number(settings.reservedConcurrency.write) || 0;
  if (writers > 0 && runs > writers) {
    problems.push(
      `backfillConcurrency is ${runs}, but the write function's reserved concurrency (reservedWrite) is ${writers}: writes of runs at once past it are throttled beyond their retries: lower backfillConcurrency or raise reservedWrite`,
    );
  }
  return problems;
}
