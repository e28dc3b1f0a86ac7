import * as z from 'zod';
import { type BackfillWindow, splitBackfillWindow } from '#shared/core/backfill';
import { RunIdSchema } from '#shared/core/run-files';
import { WindowSchema } from '#shared/core/window';

/**
 * The backfill machine's first state: ingest's `backfillWindows` action. It only computes the
 * runs' windows (no S3 listing), so the ingest role needs nothing new.
 */
export const BackfillWindowsInputSchema = z.object({
  action: z.literal('backfillWindows'),
  input: WindowSchema,
  executionName: RunIdSchema,
  hoursPerRun: z.number().int().positive(),
});
export type BackfillWindowsInput = z.infer<typeof BackfillWindowsInputSchema>;

/** A year is 365 windows of about 110 bytes each: far under the 256 KB state payload. */
export interface BackfillWindowsOutput {
  backfillId: string;
  windows: BackfillWindow[];
}

export async function backfillWindows(input: BackfillWindowsInput): Promise<BackfillWindowsOutput> {
  return {
    backfillId: input.executionName,
    windows: splitBackfillWindow(input.executionName, input.input, input.hoursPerRun),
  };
}
