import type { BackfillPlan } from '#shared/core/backfill-plan';
import { maxPollsPerQuery } from '#shared/core/run-model';
import type { Plan, StageSettings, Workload } from '#shared/core/run-plan';

const UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

/** `40000`, `40KB`, `1.5 MiB` → bytes; undefined when it is not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = match === null ? undefined : UNITS[(match[2] ?? '').toUpperCase()];
  if (match === null || factor === undefined) return undefined;
  const bytes = Number(match[1]) * factor;
  return bytes > 0 ? Math.round(bytes) : undefined;
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');
const usd = (value: number) => `$${value < 0.01 ? value.toFixed(4) : value.toFixed(2)}`;

function bytesText(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const verdict = (events: number, plan: Plan) =>
  events > plan.history.cap ? 'OVER THE CAP' : events > plan.history.budget ? 'over the budget' : 'ok';

/** The plan as the table `npm run plan` prints, one line per figure; findings last. */
export function formatPlan(plan: Plan, workload: Workload, settings: StageSettings): string[] {
  const { history } = plan;
  const lines = [
    `plan             stage ${plan.stage}: ${count(workload.filesPerDay)} files a day of ${bytesText(workload.meanFileBytes)} × ${workload.days} day${workload.days === 1 ? '' : 's'} = ${count(plan.workload.files)} files, ${bytesText(plan.workload.bytes)} (≈ ${count(plan.workload.rows)} rows), ${count(plan.workload.hours)} hours + ${settings.lookbackHours} lookback`,
    `batch map        ${plan.batchMap.used === 'distributed' ? `Distributed Map (ItemReader from S3, a child execution per batch, MaxConcurrency ${settings.batchConcurrency}, ToleratedFailurePercentage ${settings.toleratedBatchFailurePercentage})` : 'inline Map (a child execution per batch, each an iteration in the parent)'}; batchMapMode ${plan.batchMap.mode}`,
    `batches          ${count(plan.batches.count)} of ≤ ${count(plan.batches.largestFiles)} files (batchMaxFiles ${settings.batchMaxFiles}); one run holds ${Number.isFinite(plan.batches.maxPerRun) ? `≤ ${count(plan.batches.maxPerRun)}` : 'any number (the map run is 2 events of the parent)'}`,
    `child executions ${count(plan.childExecutions.batch)} batch, ${count(plan.childExecutions.hours)} hour-group (≤ ${plan.hourGroups.largestHours} hours each, hoursPerExecution ${settings.hoursPerExecution})${plan.childExecutions.mapRun > 0 ? `, ${count(plan.childExecutions.mapRun)} map-run children (one per batch, each starting its batch)` : ''}`,
    `history events   largest per execution, cap ${count(history.cap)} (${count(history.budget)} planned, the rest for retries)`,
    `  run (parent)   ${count(history.run)}  ${verdict(history.run, plan)}`,
    `  batch          ${count(history.batch)}  ${verdict(history.batch, plan)}`,
    `  hour group     ${count(history.hoursExpected)} expected, ${count(history.hoursWorst)} worst (every query polled ${maxPollsPerQuery(settings)} times, to its ${settings.athenaQueryTimeoutSeconds} s budget)  ${verdict(history.hoursWorst, plan)}`,
    `athena           ${count(plan.athena.queries)} queries, ${plan.athena.concurrency} at once (athenaConcurrency ${settings.athenaConcurrency}, quota ${plan.athena.quota}), ≈ ${count(Math.ceil(plan.athena.bytesScannedPerQuery / 1024 ** 2))} MB scanned each`,
    `lambda           transform ${plan.lambda.transformPeak} at once (batchConcurrency ${settings.batchConcurrency} × fileConcurrency ${settings.fileConcurrency}) against reservedTransform ${plan.lambda.transformReserved === 0 ? 'none' : plan.lambda.transformReserved}; reserved ${count(plan.lambda.reservedTotal)} of ${count(settings.accountConcurrencyLimit)}, ${count(plan.lambda.unreserved)} unreserved (≥ 100)`,
    `wall clock       ≈ ${duration(plan.wallClock.total)}: ingest ${duration(plan.wallClock.ingest)}, transform ${duration(plan.wallClock.transform)}, plan hours ${duration(plan.wallClock.planHours)}, aggregate ${duration(plan.wallClock.aggregate)}, write ${duration(plan.wallClock.write)}`,
    `cost per run     ${usd(plan.cost.totalUsd)} (us-east-1 list prices, shared/core/prices.ts)${plan.daysPerRunThatFit === undefined ? '' : '; for the whole window, about the same split into runs'}`,
    ...plan.cost.lines.map(
      (line) => `  ${line.service.padEnd(15)}${usd(line.usd).padStart(10)}  ${line.detail}`,
    ),
  ];
  for (const finding of plan.findings) {
    lines.push(`${finding.level === 'refused' ? 'REFUSED ' : 'WARNING '}         ${finding.reason}`);
    lines.push(`  fix            ${finding.fix}`);
  }
  const refused = plan.findings.filter((finding) => finding.level === 'refused').length;
  lines.push(
    refused === 0
      ? `verdict          fits: one run carries it within every limit above`
      : `verdict          does not fit: ${refused} refusal${refused === 1 ? '' : 's'} above`,
  );
  return lines;
}

/** The backfill lines `npm run plan` prints after one window's run plan, and its verdict. */
export function formatBackfill(backfill: BackfillPlan, settings: StageSettings): string[] {
  return [
    `backfill         ${count(backfill.windows)} runs of ≤ ${settings.backfillHoursPerRun} h (backfillHoursPerRun), ${settings.backfillConcurrency} at a time (backfillConcurrency); history ${count(backfill.history.events)} / ${count(backfill.history.cap)} events (one backfill holds ≤ ${count(backfill.history.maxWindows)} runs)`,
    `backfill time    ${duration(backfill.wallClockSeconds)}; cost ${usd(backfill.costUsd)} (${count(backfill.windows)} × the run above)`,
    `verdict          ${backfill.fits ? 'fits as a backfill' : 'does not fit as a backfill'}`,
  ];
}
