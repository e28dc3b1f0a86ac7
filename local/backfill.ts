import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { getJsonIfPresent, S3ObjectStore } from '#shared/adapters/object-store';
import type { BackfillReport } from '#shared/core/backfill-report';
import { keys } from '#shared/core/run-files';
import type { Window } from '#shared/core/window';
import {
  countExecutions,
  executionsByMachine,
  type LocalPipeline,
  type RunOutcome,
  runOutcome,
} from './pipeline';
import type { LocalStack } from './stack';
import { type ExecutionResult, type ExecutionStatus, maxHistoryEvents } from './stepfunctions/index';

export interface BackfillOutcome {
  status: ExecutionStatus;
  backfillId: string;
  /** The backfill execution's name (unique per attempt; the backfill id stays the same). */
  executionName: string;
  /** `reports/backfill-<backfillId>.json`, as the Summarize state wrote it. */
  summary: BackfillReport | undefined;
  /** Each run the backfill started, in window order, its report completed as `runWindow`'s is. */
  runs: RunOutcome[];
  /** The backfill execution's own history events (each run records its own). */
  historyEvents: number;
  /** The largest history of any execution of the backfill: what the 25,000 cap applies to. */
  maxHistoryEvents: number;
  executions: number;
  executionsByMachine: Record<string, number>;
  error?: string;
  cause?: string;
}

const RunInputSchema = z.object({ runId: z.string() });

/**
 * Runs the backfill state machine over `window` under `backfillId`, as `aws stepfunctions
 * start-execution` would with `{"backfillId", "window"}`: its runs are executions of the run
 * machine in the same local runner, each with its batch and hour-group children. The same
 * `backfillId` starts the same run ids again.
 */
export async function runBackfill(
  pipeline: LocalPipeline<LocalStack | undefined>,
  window: Window,
  backfillId: string,
): Promise<BackfillOutcome> {
  // Step Functions refuses a name reused within 90 days: each attempt has its own.
  const executionName = `${backfillId.slice(0, 70)}-${randomBytes(4).toString('hex')}`;
  const result = await pipeline.stepFunctions.startExecution(
    pipeline.backfillMachine,
    { backfillId, window },
    { name: executionName },
  );
  const runs: RunOutcome[] = [];
  for (const child of result.children.filter((run) => run.stateMachineName === pipeline.runMachine)) {
    runs.push(await runOutcome(pipeline, child, runIdOf(child)));
  }
  runs.sort((a, b) => a.runId.localeCompare(b.runId));
  const store = new S3ObjectStore(pipeline.clients.s3);
  const bucket = pipeline.environment.DATA_BUCKET ?? '';
  const summary = (await getJsonIfPresent(store, bucket, keys.backfillReport(backfillId))) as
    | BackfillReport
    | undefined;
  return {
    status: result.status,
    backfillId,
    executionName,
    summary,
    runs,
    historyEvents: result.historyEventCount,
    maxHistoryEvents: maxHistoryEvents(result),
    executions: countExecutions(result),
    executionsByMachine: executionsByMachine(result),
    error: result.error,
    cause: result.cause,
  };
}

function runIdOf(run: ExecutionResult): string {
  const parsed = RunInputSchema.safeParse(run.input);
  if (!parsed.success) throw new Error(`Run execution ${run.executionArn} was started without a runId`);
  return parsed.data.runId;
}
