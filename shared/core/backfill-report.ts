import * as z from 'zod';
import { splitBackfillWindow } from './backfill';
import { EtlError } from './errors';
import { keys, RunIdSchema } from './run-files';
import type { Window } from './window';

/**
 * What the backfill machine's RunWindows Map leaves per window, kept small so a backfill's results
 * fit its state: the run id and `SUCCEEDED` (the run execution's status), or `FAILED` with the
 * error name the window's Catch saw. The cause is read from the run's own report instead (the
 * Catch's cause is the whole DescribeExecution document, about 1 KB a window).
 */
export const BackfillWindowResultSchema = z.object({
  runId: RunIdSchema,
  status: z.enum(['SUCCEEDED', 'FAILED']),
  error: z.string().optional(),
});
export type BackfillWindowResult = z.infer<typeof BackfillWindowResultSchema>;

/** What the summary reads of a window's run report (`reports/<runId>.json`, `RunReport`). */
export const RunReportDigestSchema = z.object({
  status: z.enum(['SUCCEEDED', 'FAILED']),
  startedAt: z.string(),
  files: z.object({ total: z.number(), transformed: z.number(), quarantined: z.number() }),
  rows: z.object({ read: z.number(), accepted: z.number(), quarantined: z.number() }),
  error: z.object({ error: z.string(), cause: z.string(), execution: z.string().optional() }).optional(),
});
export type RunReportDigest = z.infer<typeof RunReportDigestSchema>;

export interface SucceededWindow {
  runId: string;
  window: Window;
  /** The run's report; absent only if it could not be read (its counts are then zero). */
  report?: string;
  files: number;
  rowsAccepted: number;
}

export interface FailedWindow {
  runId: string;
  window: Window;
  /** The run's own error from its report, else the error the window's Catch saw. */
  error: { error: string; cause: string; execution?: string };
  report?: string;
}

/**
 * The backfill summary (`reports/backfill-<backfillId>.json`): every window, succeeded or failed,
 * with its run id, so a failed window can be run again by hand or by re-running the backfill.
 * Its content is a contract: add to it, never rename.
 */
export interface BackfillReport {
  status: 'SUCCEEDED' | 'FAILED';
  backfillId: string;
  window: Window;
  hoursPerRun: number;
  startedAt: string;
  finishedAt: string;
  /** How many windows (runs) the backfill has: succeeded plus failed. */
  windows: number;
  succeeded: SucceededWindow[];
  failed: FailedWindow[];
  /**
   * The succeeded windows' reports summed: each run counts its manifest's files, so a file that two
   * runs took (the lookback reaches into the previous window) counts in both.
   */
  totals: { files: number; rowsRead: number; rowsAccepted: number; rowsQuarantined: number };
}

/** The RunWindows Map's results do not match the backfill's windows: a bug, never a data problem. */
export class BackfillResultsError extends EtlError {}

/**
 * The summary of a backfill from its windows' results and their runs' reports (`reports`, by run
 * id; a window whose report is missing is reported without one). A report older than the
 * backfill is an earlier attempt's under the same run id and is not read: its counts and error
 * are not this backfill's.
 */
export function summarizeBackfill(
  backfill: {
    backfillId: string;
    window: Window;
    hoursPerRun: number;
    results: readonly BackfillWindowResult[];
    startedAt: string;
  },
  reports: ReadonlyMap<string, RunReportDigest>,
  finishedAt: string,
): BackfillReport {
  const windows = splitBackfillWindow(backfill.backfillId, backfill.window, backfill.hoursPerRun);
  const results = new Map(backfill.results.map((result) => [result.runId, result]));
  const known = new Set(windows.map((window) => window.runId));
  const strays = backfill.results.filter((result) => !known.has(result.runId));
  if (strays.length > 0 || results.size !== backfill.results.length) {
    throw new BackfillResultsError(
      `Backfill ${backfill.backfillId}: the results name runs that are not its windows or name one twice (${strays.map((result) => result.runId).join(', ') || 'a duplicate'})`,
    );
  }
  const since = Date.parse(backfill.startedAt);
  const reportOf = (runId: string) => {
    const report = reports.get(runId);
    return report !== undefined && !(Date.parse(report.startedAt) < since) ? report : undefined;
  };

  const succeeded: SucceededWindow[] = [];
  const failed: FailedWindow[] = [];
  const totals = { files: 0, rowsRead: 0, rowsAccepted: 0, rowsQuarantined: 0 };
  for (const { runId, window } of windows) {
    const result = results.get(runId);
    const report = reportOf(runId);
    const reportKey = report === undefined ? {} : { report: keys.report(runId) };
    if (result?.status === 'SUCCEEDED') {
      succeeded.push({
        runId,
        window,
        ...reportKey,
        files: report?.files.total ?? 0,
        rowsAccepted: report?.rows.accepted ?? 0,
      });
      totals.files += report?.files.total ?? 0;
      totals.rowsRead += report?.rows.read ?? 0;
      totals.rowsAccepted += report?.rows.accepted ?? 0;
      totals.rowsQuarantined += report?.rows.quarantined ?? 0;
      continue;
    }
    failed.push({ runId, window, error: failureOf(runId, result, report), ...reportKey });
  }
  return {
    status: failed.length > 0 ? 'FAILED' : 'SUCCEEDED',
    backfillId: backfill.backfillId,
    window: backfill.window,
    hoursPerRun: backfill.hoursPerRun,
    startedAt: backfill.startedAt,
    finishedAt,
    windows: windows.length,
    succeeded,
    failed,
    totals,
  };
}

/** A failed window's error: its run's own (from the report), else what the window's Catch saw. */
function failureOf(
  runId: string,
  result: BackfillWindowResult | undefined,
  report: RunReportDigest | undefined,
): FailedWindow['error'] {
  if (report?.status === 'FAILED' && report.error !== undefined) return report.error;
  if (result === undefined) {
    return { error: 'States.Runtime', cause: 'the RunWindows Map returned no result for this window' };
  }
  return {
    error: result.error ?? 'States.TaskFailed',
    // Throttled starts, for one, fail before the run exists, so it never writes a report.
    cause: `the run wrote no report of this backfill (${keys.report(runId)})`,
  };
}
