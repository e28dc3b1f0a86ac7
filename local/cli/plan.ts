/**
 * `npm run plan`: before deploying, how large a run a stage's settings carry, how long it takes and
 * what it costs, against the AWS limits (shared/core/run-plan.ts over the run model). Reads the
 * stage's settings from serverless.yml as `sls package` resolves them. Exits 0 when one run fits,
 * 1 when the plan refuses it (each refusal names the setting to change), 2 on a usage error.
 */
import { backfillSettingsOf, planBackfill } from '#shared/core/backfill-plan';
import { BATCH_MAP_MODES } from '#shared/core/batch-map';
import { planRun, type StageSettings, stageSettingsFromConfig } from '#shared/core/run-plan';
import { resolveServerlessConfig } from '../serverless-config';
import { parseCli, usageError } from './args';
import { formatBackfill, formatPlan, parseByteSize } from './plan-table';

const USAGE = `Usage: npm run plan -- --files N --mean-size S --days D [--stage dev|prod|local]
                        [--batch-map inline|distributed|auto] [--single-run]
Sizes one run of N source files a day, of mean size S (bytes, or 40KB, 1.5MiB, …) over a window of
D days, with the stage's settings (default dev): batches, child executions, the largest history
per execution against 25,000 events, Athena and Lambda concurrency against their limits, wall
clock, and the cost per run by service (us-east-1 list prices). Exit 1 when the run does not fit.
--batch-map sizes the run with that batchMapMode instead of the stage's. A window longer than the
stage's backfillHoursPerRun is planned as a backfill: one window's run, then the runs, history,
time and cost of the whole backfill (exit 0: fits as a backfill); --single-run plans it as one run.`;

const options = {
  files: { type: 'string' },
  'mean-size': { type: 'string' },
  days: { type: 'string' },
  stage: { type: 'string', default: 'dev' },
  'batch-map': { type: 'string' },
  'single-run': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function positive(name: string, text: string | undefined): number {
  if (text === undefined) usageError(`--${name} is required`, USAGE);
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0))
    usageError(`--${name} must be a positive number, got ${text}`, USAGE);
  return value;
}

async function main(): Promise<void> {
  const values = parseCli(USAGE, options);
  const filesPerDay = positive('files', values.files);
  if (values['mean-size'] === undefined) usageError('--mean-size is required', USAGE);
  const meanFileBytes = parseByteSize(values['mean-size']);
  if (meanFileBytes === undefined) {
    usageError(`--mean-size must be a size such as 40000, 40KB or 1.5MiB, got ${values['mean-size']}`, USAGE);
  }
  const days = positive('days', values.days);
  if (!Number.isInteger(filesPerDay))
    usageError(`--files must be a whole number, got ${values.files}`, USAGE);

  let settings: StageSettings;
  try {
    settings = stageSettingsFromConfig(await resolveServerlessConfig(values.stage));
  } catch (error) {
    console.error(
      `cannot read stage ${values.stage}'s settings from serverless.yml: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(2);
  }
  const batchMap = values['batch-map'];
  if (batchMap !== undefined) {
    const mode = BATCH_MAP_MODES.find((candidate) => candidate === batchMap);
    if (mode === undefined)
      usageError(`--batch-map must be one of ${BATCH_MAP_MODES.join(', ')}, got ${batchMap}`, USAGE);
    settings = { ...settings, batchMapMode: mode };
  }
  const workload = { filesPerDay, meanFileBytes, days };
  if (days * 24 > settings.backfillHoursPerRun && values['single-run'] !== true) {
    // Longer than one backfill run: one window's run plan, then the backfill over all windows.
    const backfill = planBackfill(workload, settings, backfillSettingsOf(settings));
    const window = { ...workload, days: settings.backfillHoursPerRun / 24 };
    for (const line of formatPlan(backfill.perRun, window, settings)) console.log(line);
    for (const line of formatBackfill(backfill, settings)) console.log(line);
    process.exitCode = backfill.fits ? 0 : 1;
    return;
  }
  const plan = planRun(workload, settings);
  for (const line of formatPlan(plan, workload, settings)) console.log(line);
  process.exitCode = plan.findings.some((finding) => finding.level === 'refused') ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
