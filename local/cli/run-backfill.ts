import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { splitBackfillWindow } from '#shared/core/backfill';
import { renderReportHtml } from '#shared/core/report-html';
import { backfillExecution, historyEvents } from '#shared/core/run-model';
import type { Window } from '#shared/core/window';
import { type BackfillOutcome, runBackfill } from '../backfill';
import type { LocalPipeline } from '../pipeline';
import type { LocalStack } from '../stack';

/** What the header needs of the backfill machine as serverless resolved it for stage local. */
const BackfillDefinitionSchema = z.object({
  States: z.object({
    SplitWindows: z.object({ Parameters: z.object({ hoursPerRun: z.number() }) }),
    RunWindows: z.object({ MaxConcurrency: z.number() }),
  }),
});

/**
 * `npm run local -- --backfill`: runs `window` through the backfill state machine, prints each run
 * and the summary, writes every run's report and the summary under `DIR/reports/` (and the summary
 * to each `--report` file). Exit code 0 only if the backfill SUCCEEDED (every run did).
 */
export async function runBackfillCommand(
  pipeline: LocalPipeline<LocalStack | undefined>,
  options: {
    window: Window;
    backfillId: string;
    directory: string;
    reportFiles: readonly string[];
    finishProgress(): void;
  },
): Promise<number> {
  const { window, backfillId, directory } = options;
  const definition = BackfillDefinitionSchema.parse(
    pipeline.config.stepFunctions?.stateMachines.backfill?.definition,
  ).States;
  const hoursPerRun = definition.SplitWindows.Parameters.hoursPerRun;
  const runs = splitBackfillWindow(backfillId, window, hoursPerRun).length;
  console.log(
    `backfill ${backfillId}: window [${window.from}, ${window.to}), ${runs} run${runs === 1 ? '' : 's'} of ≤ ${hoursPerRun} h (backfillHoursPerRun), ${definition.RunWindows.MaxConcurrency} at a time (backfillConcurrency), transforms ${pipeline.workers === 0 ? 'in-process' : `in up to ${pipeline.workers} worker threads`}`,
  );
  const started = Date.now();
  const outcome = await runBackfill(pipeline, window, backfillId);
  options.finishProgress();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `executions       ${outcome.executions} (${Object.entries(outcome.executionsByMachine)
      .map(([machine, count]) => `${count} ${machine}`)
      .join(', ')}), ${seconds} s`,
  );

  const reports = join(directory, 'reports');
  mkdirSync(reports, { recursive: true });
  for (const run of outcome.runs) {
    if (run.report === undefined) continue;
    writeFileSync(join(reports, `${run.runId}.json`), `${JSON.stringify(run.report, null, 2)}\n`);
    writeFileSync(join(reports, `${run.runId}.html`), run.reportHtml ?? renderReportHtml(run.report));
  }
  const summaryFile = join(reports, `backfill-${backfillId}.json`);
  if (outcome.summary !== undefined) {
    const json = `${JSON.stringify(outcome.summary, null, 2)}\n`;
    writeFileSync(summaryFile, json);
    for (const file of options.reportFiles) writeFileSync(file, json);
  }
  for (const line of backfillLines(outcome, summaryFile)) console.log(line);
  if (outcome.status !== 'SUCCEEDED') {
    console.error(`backfill ${outcome.status}: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
    return 1;
  }
  return 0;
}

/** The summary `npm run local -- --backfill` prints: the backfill, then one line per run. */
export function backfillLines(outcome: BackfillOutcome, summaryFile: string): string[] {
  const { summary } = outcome;
  const lines = ['', `status           ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}`];
  if (summary === undefined) {
    lines.push('summary          none written (the backfill failed before its Summarize state)');
    return lines;
  }
  lines.push(
    `runs             ${summary.windows}: ${summary.succeeded.length} succeeded, ${summary.failed.length} failed`,
  );
  const failures = new Map(summary.failed.map((window) => [window.runId, window]));
  for (const run of outcome.runs) {
    const failure = failures.get(run.runId);
    const report = run.report;
    const detail =
      failure !== undefined
        ? `${failure.error.error}: ${failure.error.cause}`
        : report === undefined
          ? 'no report'
          : `${report.files.total} files, ${report.rows.accepted} rows accepted, reconciliation ${report.reconciliation.status}, history max ${run.maxHistoryEvents}`;
    const window = report?.window ?? failure?.window;
    const span = window === undefined || window === null ? '' : ` [${window.from}, ${window.to})`;
    lines.push(`  ${run.runId}${span}  ${run.status}  ${detail}`);
  }
  const { totals } = summary;
  lines.push(
    `rows             ${totals.rowsRead} read, ${totals.rowsAccepted} accepted, ${totals.rowsQuarantined} quarantined, ${totals.files} files: the succeeded runs' reports summed (a file in two runs' windows by the lookback counts in both)`,
  );
  const modelled = historyEvents(
    backfillExecution({ windows: summary.windows, failedWindows: summary.failed.length }),
  );
  lines.push(
    `history events   backfill ${outcome.historyEvents} recorded, ${modelled} by the run model; largest execution ${outcome.maxHistoryEvents} (cap 25,000)`,
  );
  lines.push(`summary          ${summaryFile}`);
  return lines;
}
