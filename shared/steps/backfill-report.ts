import * as z from 'zod';
import { getJsonIfPresent, type ObjectStore } from '#shared/adapters/object-store';
import {
  type BackfillReport,
  BackfillWindowResultSchema,
  type RunReportDigest,
  RunReportDigestSchema,
  summarizeBackfill,
} from '#shared/core/backfill-report';
import { mapWithLimit } from '#shared/core/concurrency';
import type { Logger } from '#shared/core/log';
import { keys, RunIdSchema } from '#shared/core/run-files';
import { WindowSchema } from '#shared/core/window';

/** The backfill machine's Summarize state: the write function's `backfillReport` action. */
export const BackfillReportInputSchema = z.object({
  action: z.literal('backfillReport'),
  backfillId: RunIdSchema,
  window: WindowSchema,
  hoursPerRun: z.number().int().positive(),
  /** The RunWindows Map's results, one per window. */
  results: z.array(BackfillWindowResultSchema),
  /** The backfill execution's start: reports older than it are earlier attempts'. */
  startedAt: z.string(),
});
export type BackfillReportInput = z.infer<typeof BackfillReportInputSchema>;

/** What the AnyWindowFailed Choice reads (`status`), and where the summary is. */
export interface BackfillReportOutput {
  backfillId: string;
  status: BackfillReport['status'];
  reportKey: string;
  windows: number;
  succeeded: number;
  failed: number;
}

/** Run reports read at once: a year's 365 at this rate take a few seconds. */
const REPORT_READ_CONCURRENCY = 16;

/**
 * Reads each window's run report, writes the backfill's summary to
 * `reports/backfill-<backfillId>.json` and returns its counts. A failed window is data here, not
 * an error: the state machine fails the backfill after the summary is written.
 */
export async function writeBackfillReport(
  input: BackfillReportInput,
  settings: { dataBucket: string },
  store: ObjectStore,
  log: Logger,
  now: () => Date = () => new Date(),
): Promise<BackfillReportOutput> {
  const bucket = settings.dataBucket;
  const reports = new Map<string, RunReportDigest>();
  await mapWithLimit(input.results, REPORT_READ_CONCURRENCY, async ({ runId }) => {
    const stored = await getJsonIfPresent(store, bucket, keys.report(runId));
    if (stored !== undefined) reports.set(runId, RunReportDigestSchema.parse(stored));
  });
  const report = summarizeBackfill(input, reports, now().toISOString());
  const reportKey = keys.backfillReport(report.backfillId);
  await store.putJson(bucket, reportKey, report);
  const output = {
    backfillId: report.backfillId,
    status: report.status,
    reportKey,
    windows: report.windows,
    succeeded: report.succeeded.length,
    failed: report.failed.length,
  };
  log.info('backfill summarized', {
    ...output,
    failedRuns: report.failed.map((window) => `${window.runId}: ${window.error.error}`),
  });
  return output;
}
