/**
 * `npm run local`: the main job on one machine. Starts the local stack (or uses a running one,
 * `--endpoints`), seeds the source bucket
 * (a generated sample day of CloudFront logs, or `--source DIR`), runs the parent state machine
 * through the local runner with the same handlers and definitions that deploy, shows progress,
 * prints a summary, writes the report, stops the stack, and exits 0 only on SUCCEEDED. With
 * `--backfill`, the window runs through the backfill state machine as runs of its own.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { renderReportHtml } from '#shared/core/report-html';
import { addHours } from '#shared/core/window';
import { DirectoryLockedError, lockDirectory } from '../lock';
import {
  connectLocalPipeline,
  type LocalPipeline,
  runWindow,
  seedSource,
  sourceOf,
  startLocalPipeline,
} from '../pipeline';
import { writeSampleDirectory } from '../sample/index';
import type { LocalStack } from '../stack';
import { usageError } from './args';
import { createProgress } from './progress';
import { parseRunArgs, RUN_USAGE, UsageError } from './run-args';
import { runBackfillCommand } from './run-backfill';
import { runDbSyncDemo } from './run-db-sync';

let starting: Promise<LocalPipeline<LocalStack | undefined>> | undefined;
/** Set once a signal started stopping everything; that stop ends the process (exit 130). */
let stopping: Promise<void> | undefined;

async function main(): Promise<number> {
  // Every flag is checked before anything starts: a bad window is one line and exit 2.
  const args = parseRunArgs(process.argv.slice(2));
  if (args.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const directory = resolve(args.dir);
  // One run per data folder: a second one exits here, naming the first one's pid.
  const lock = lockDirectory(directory, 'npm run local');

  // Ctrl-C (a terminal sends SIGINT to npm, tsx and this process, so it comes more than once) and
  // SIGTERM stop everything, whatever the run is doing: the stack being started is stopped once it
  // is up, a running one at once. Later signals wait for that stop instead of cutting it short.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      console.error(`${signal}: still stopping the local stack…`);
      return;
    }
    console.error(`\n${signal}: stopping the local stack`);
    stopping = (async () => {
      const pipeline = await starting?.catch(() => undefined);
      await pipeline?.stop().catch((error: unknown) => console.error(error));
    })().finally(() => {
      lock.release();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  mkdirSync(directory, { recursive: true });
  if (args.pipeline === 'db-sync') {
    try {
      return await runDbSyncDemo(args, directory, (pipeline) => {
        starting = pipeline;
      });
    } finally {
      if (stopping === undefined) lock.release();
      else await stopping;
    }
  }
  let sourceDirectory = args.source;
  let window = args.window;
  if (sourceDirectory === undefined) {
    sourceDirectory = join(
      directory,
      `sample-${args.seed}-${args.day}${args.days === 1 ? '' : `-${args.days}d`}`,
    );
    const dayStart = `${args.day}T00`;
    const totals = { files: 0, rowsAccepted: 0, rowsQuarantined: 0, filesQuarantined: 0 };
    for (let index = 0; index < args.days; index++) {
      const day = addHours(dayStart, 24 * index).slice(0, 10);
      // One folder per day: each day's expected.json stays beside its files.
      const folder = args.days === 1 ? sourceDirectory : join(sourceDirectory, day);
      const expected = writeSampleDirectory(folder, { seed: args.seed, day });
      totals.files += expected.files;
      totals.rowsAccepted += expected.rowsAccepted;
      totals.rowsQuarantined += expected.rowsQuarantined;
      totals.filesQuarantined += expected.filesQuarantined;
    }
    console.log(
      `sample: ${args.days === 1 ? '' : `${args.days} days, `}${totals.files} files, ${totals.rowsAccepted} good rows, ${totals.rowsQuarantined} bad rows, ${totals.filesQuarantined} corrupt file(s) planted in ${sourceDirectory}`,
    );
    window ??= { from: dayStart, to: addHours(dayStart, 24 * args.days) };
  }
  if (window === undefined) throw new UsageError('--from and --to are required with --source');

  const progress = createProgress();
  // The handlers' JSON logs would bury the progress line; --verbose or --log-level shows them.
  const environment: Record<string, string> = { LOG_LEVEL: args.logLevel };
  if (args.batchMap !== undefined) environment.BATCH_MAP_MODE = args.batchMap;
  if (args.endpoints === undefined) {
    console.log('starting the local stack…');
    starting = startLocalPipeline({
      directory,
      onEvent: progress.onEvent,
      environment,
      printMetricLines: args.verbose,
      workers: args.workers,
    });
  } else {
    console.log(`using the stack in ${args.endpoints}`);
    // A stack we did not start may hold other data in the source bucket: this run reads and
    // replaces only its own prefix, the same for the same DIR so a re-run overwrites, never adds.
    const runPrefix = `runs/${createHash('sha256').update(resolve(sourceDirectory)).digest('hex').slice(0, 12)}/`;
    starting = connectLocalPipeline(args.endpoints, {
      onEvent: progress.onEvent,
      environment,
      sourceSubPrefix: runPrefix,
      printMetricLines: args.verbose,
      workers: args.workers,
    });
  }
  const pipeline = await starting;
  try {
    const seeded = await seedSource(
      new S3ObjectStore(pipeline.clients.s3),
      sourceOf(pipeline.environment),
      sourceDirectory,
      pipeline.stack === undefined ? 'prefix' : 'bucket',
    );
    console.log(
      `source: ${seeded} file(s) from ${sourceDirectory} in s3://${pipeline.environment.SOURCE_BUCKET}`,
    );
    if (args.backfillId !== undefined) {
      return await runBackfillCommand(pipeline, {
        window,
        backfillId: args.backfillId,
        directory,
        reportFiles: args.report,
        finishProgress: () => progress.finish(),
      });
    }
    const runId = `local-${window.from}-${window.to}-${Date.now().toString(36)}`;
    console.log(
      `run ${runId}: window [${window.from}, ${window.to}), transforms ${pipeline.workers === 0 ? 'in-process' : `in up to ${pipeline.workers} worker threads`}`,
    );
    const started = Date.now();
    const outcome = await runWindow(pipeline, window, runId);
    progress.finish();
    console.log(
      `executions       ${outcome.executions} (${Object.entries(outcome.executionsByMachine)
        .map(([machine, count]) => `${count} ${machine}`)
        .join(
          ', ',
        )}), parent history ${outcome.parentHistoryEvents} events, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const report = outcome.report;
    if (report !== undefined) {
      const json = `${JSON.stringify(report, null, 2)}\n`;
      const page = outcome.reportHtml ?? renderReportHtml(report);
      const reportFile = join(directory, 'reports', `${runId}.json`);
      mkdirSync(join(directory, 'reports'), { recursive: true });
      writeFileSync(reportFile, json);
      writeFileSync(join(directory, 'reports', `${runId}.html`), page);
      for (const file of args.report) writeFileSync(file, /\.html?$/i.test(file) ? page : json);
      printSummary(report, reportFile);
    }
    if (outcome.status !== 'SUCCEEDED') {
      console.error(`run ${outcome.status}: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
      return 1;
    }
    return 0;
  } finally {
    if (stopping === undefined) {
      await pipeline.stop();
      lock.release();
    } else {
      await stopping;
    }
  }
}

function printSummary(report: import('#shared/steps/report').RunReport, file: string): void {
  const hoursRequests = report.hours.reduce((sum, hour) => sum + hour.requests, 0);
  console.log('');
  console.log(`status           ${report.status}`);
  console.log(`batch map        ${report.batchMap}`);
  console.log(
    `files            ${report.files.total} total, ${report.files.transformed} transformed, ${report.files.quarantined} quarantined`,
  );
  console.log(
    `rows             ${report.rows.read} read, ${report.rows.accepted} accepted, ${report.rows.quarantined} quarantined`,
  );
  console.log(
    `hours in MySQL   ${report.hours.length} hours, ${hoursRequests} requests (every file of those hours)`,
  );
  console.log(
    `reconciliation   ${report.reconciliation.status}: MySQL against the aggregate, requests and bytes, ${report.reconciliation.hours} hours`,
  );
  console.log(
    `athena           ${report.athena.queries} queries, ${report.athena.bytesScanned} bytes scanned (≈ $${report.athena.estimatedCostUsd})`,
  );
  const measured =
    report.measuredHistoryEvents === undefined
      ? ''
      : `, ${report.measuredHistoryEvents} recorded by the runner`;
  console.log(
    `history events   max ${report.maxHistoryEvents} per execution estimated${measured} (cap 25,000)`,
  );
  console.log(
    `stages           ${report.stages.map((stage) => `${stage.name} ${stage.durationMs} ms`).join(', ')}`,
  );
  const { cost } = report;
  console.log(
    `cost             $${cost.totalUsd} (${cost.pricesRegion} list prices): Athena $${cost.athena.usd}, Lambda $${cost.lambda.usd} (${cost.lambda.gbSeconds} GB-s, ${cost.lambda.requests} requests), Step Functions $${cost.stepFunctions.usd} (${cost.stepFunctions.stateTransitions} transitions), S3 $${cost.s3.usd} (estimated), DynamoDB $${cost.dynamodb.usd} (${cost.dynamodb.writeUnits} WRU, ${cost.dynamodb.readUnits} RRU)`,
  );
  if (report.error) console.log(`error            ${report.error.error}: ${report.error.cause}`);
  console.log(`report           ${file}`);
  console.log(`report page      ${file.replace(/\.json$/, '.html')}`);
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    // A stack start cut short by Ctrl-C fails too; the stop under way ends the process.
    if (stopping !== undefined) await stopping;
    if (error instanceof UsageError) {
      usageError(`npm run local: ${error.message}`, RUN_USAGE);
    }
    if (error instanceof DirectoryLockedError) {
      console.error(`npm run local: ${error.message}`);
      process.exit(1);
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
