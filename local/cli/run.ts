/**
 * `npm run local`: the main job on one machine. Starts the local stack, seeds the source bucket
 * (a generated sample day of CloudFront logs, or `--source DIR`), runs the parent state machine
 * through the local runner with the same handlers and definitions that deploy, shows progress,
 * prints a summary, writes the report, stops the stack, and exits 0 only on SUCCEEDED.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { addHours, HourSchema } from '#shared/core/window';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '../pipeline';
import { writeSampleDirectory } from '../sample/index';
import { createProgress } from './progress';

const USAGE = `Usage: npm run local -- [--source DIR --from YYYY-MM-DDTHH --to YYYY-MM-DDTHH] [--report FILE]
                       [--seed N] [--day YYYY-MM-DD] [--dir .local/run] [--verbose] [--log-level LEVEL]
Without --source, a seeded sample day of CloudFront logs (with planted bad rows and files) is generated.
--verbose shows the handlers' JSON logs (level debug) and EMF metric lines; --log-level shows the
logs from that level up (debug, info, warn, error; default warn).`;
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      source: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      report: { type: 'string' },
      seed: { type: 'string', default: '20240713' },
      day: { type: 'string', default: '2024-07-13' },
      dir: { type: 'string', default: '.local/run' },
      verbose: { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const logLevel = values['log-level'] ?? (values.verbose ? 'debug' : 'warn');
  if (!LOG_LEVELS.includes(logLevel))
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}\n${USAGE}`);
  const directory = resolve(values.dir);
  mkdirSync(directory, { recursive: true });

  let sourceDirectory = values.source;
  let from = values.from;
  let to = values.to;
  if (sourceDirectory === undefined) {
    sourceDirectory = join(directory, `sample-${values.seed}-${values.day}`);
    const expected = writeSampleDirectory(sourceDirectory, { seed: Number(values.seed), day: values.day });
    console.log(
      `sample: ${expected.files} files, ${expected.rowsAccepted} good rows, ${expected.rowsQuarantined} bad rows, ${expected.filesQuarantined} corrupt file(s) planted in ${sourceDirectory}`,
    );
    from ??= `${values.day}T00`;
    to ??= addHours(`${values.day}T00`, 24);
  }
  if (from === undefined || to === undefined)
    throw new Error(`--from and --to are required with --source\n${USAGE}`);
  const window = { from: HourSchema.parse(from), to: HourSchema.parse(to) };

  const progress = createProgress();
  let pipeline: LocalPipeline | undefined;
  const stopOnSignal = (signal: string) => {
    console.error(`\n${signal}: stopping the local stack`);
    void (pipeline?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', () => stopOnSignal('SIGINT'));
  process.once('SIGTERM', () => stopOnSignal('SIGTERM'));

  console.log('starting the local stack…');
  // The handlers' JSON logs would bury the progress line; --verbose or --log-level shows them.
  pipeline = await startLocalPipeline({
    directory,
    onEvent: progress.onEvent,
    environment: { LOG_LEVEL: logLevel },
    printMetricLines: values.verbose,
  });
  try {
    const seeded = await seedSource(
      new S3ObjectStore(pipeline.stack.clients.s3),
      sourceOf(pipeline.environment),
      sourceDirectory,
    );
    console.log(
      `source: ${seeded} file(s) from ${sourceDirectory} in s3://${pipeline.environment.SOURCE_BUCKET}`,
    );
    const runId = `local-${window.from}-${window.to}-${Date.now().toString(36)}`;
    console.log(`run ${runId}: window [${window.from}, ${window.to})`);
    const outcome = await runWindow(pipeline, window, runId);
    progress.finish();
    const report = outcome.report;
    if (report !== undefined) {
      const reportFile = join(directory, 'reports', `${runId}.json`);
      mkdirSync(join(directory, 'reports'), { recursive: true });
      writeFileSync(reportFile, `${JSON.stringify(report, null, 2)}\n`);
      if (values.report) writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
      printSummary(report, reportFile);
    }
    if (outcome.status !== 'SUCCEEDED') {
      console.error(`run ${outcome.status}: ${outcome.error ?? ''} ${outcome.cause ?? ''}`);
      return 1;
    }
    return 0;
  } finally {
    await pipeline.stop();
  }
}

function printSummary(report: import('#shared/steps/report').RunReport, file: string): void {
  const hoursRequests = report.hours.reduce((sum, hour) => sum + hour.requests, 0);
  console.log('');
  console.log(`status           ${report.status}`);
  console.log(
    `files            ${report.files.total} total, ${report.files.transformed} transformed, ${report.files.quarantined} quarantined`,
  );
  console.log(
    `rows             ${report.rows.read} read, ${report.rows.accepted} accepted, ${report.rows.quarantined} quarantined`,
  );
  console.log(`hours in MySQL   ${report.hours.length} hours, ${hoursRequests} requests`);
  console.log(
    `athena           ${report.athena.queries} queries, ${report.athena.bytesScanned} bytes scanned (≈ $${report.athena.estimatedCostUsd})`,
  );
  console.log(`history events   max ${report.maxHistoryEvents} per execution (cap 25,000)`);
  console.log(
    `stages           ${report.stages.map((stage) => `${stage.name} ${stage.durationMs} ms`).join(', ')}`,
  );
  if (report.error) console.log(`error            ${report.error.error}: ${report.error.cause}`);
  console.log(`report           ${file}`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
