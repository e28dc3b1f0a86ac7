import * as z from 'zod';
import { type BackfillWindow, backfillRefusal, splitBackfillWindow } from '#shared/core/backfill';
import { BackfillTooLongError } from '#shared/core/errors';
import { RunIdSchema } from '#shared/core/run-files';
import { type Window, WindowSchema } from '#shared/core/window';

/**
 * The backfill machine's first state: ingest's `backfillWindows` action. It only computes the
 * runs' windows (no S3 listing), so the ingest role needs nothing new. The backfill is started
 * with `{"window": {...}}` (its id is the execution's name) or `{"backfillId": "...", "window":
 * {...}}`: Step Functions never reuses an execution name, so re-running a backfill under the same
 * run ids names it in the input, as a run names its `runId`.
 */
export const BackfillWindowsInputSchema = z.object({
  action: z.literal('backfillWindows'),
  input: z.object({ backfillId: RunIdSchema.optional(), window: WindowSchema }).passthrough(),
  executionName: RunIdSchema,
  /** The stage's backfillHoursPerRun. */
  hoursPerRun: z.number().int().positive(),
});
export type BackfillWindowsInput = z.infer<typeof BackfillWindowsInputSchema>;

/** The backfill's state from here on: a year is 365 windows of about 110 bytes each. */
export interface BackfillWindowsOutput {
  backfillId: string;
  window: Window;
  hoursPerRun: number;
  windows: BackfillWindow[];
}

/**
 * Splits the backfill's window into runs; throws `BackfillTooLongError` (naming the setting) for
 * a window one backfill execution cannot hold, before any run starts.
 */
export async function backfillWindows(input: BackfillWindowsInput): Promise<BackfillWindowsOutput> {
  const backfillId = input.input.backfillId ?? input.executionName;
  const windows = splitBackfillWindow(backfillId, input.input.window, input.hoursPerRun);
  const refusal = backfillRefusal(windows, input.hoursPerRun);
  if (refusal !== undefined) throw new BackfillTooLongError(`Backfill ${backfillId}: ${refusal}`);
  return { backfillId, window: input.input.window, hoursPerRun: input.hoursPerRun, windows };
}
