import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BATCH_MAP_MODES, type BatchMapMode } from '#shared/core/batch-map';
import { RunIdSchema } from '#shared/core/run-files';
import { addHours, HOUR_PATTERN, hourStart, type Window } from '#shared/core/window';
import { defaultWorkerCount } from '../workers/pool';

/** A command line `npm run local` refuses before starting anything: exit 2, one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const RUN_USAGE = `Usage: npm run local -- [--source DIR --from YYYY-MM-DDTHH --to YYYY-MM-DDTHH] [--report FILE]...
                       [--seed N] [--day YYYY-MM-DD] [--days N] [--dir .local/run] [--endpoints FILE]
                       [--batch-map inline|distributed|auto] [--verbose] [--log-level LEVEL] [--workers N]
                       [--backfill [--backfill-id ID]]
       npm run local -- --pipeline db-sync [--rows N] [--seed N] [--dir .local/run] [--verbose] [--log-level LEVEL]
--pipeline cloudfront (default) runs the CloudFront logs pipeline; --pipeline db-sync starts a second
MariaDB as the source database, seeds it with --rows customers (default 100000) of awkward values,
runs a full copy, changes the source, runs an incremental copy, and prints each run's reconciliation.
Without --source, a seeded sample day of CloudFront logs (with planted bad rows and files) is generated,
or --days N consecutive sample days from --day, run as one window (a backfill).
--batch-map runs the parent's batches in that mode instead of the stage's batchMapMode (distributed:
a Distributed Map reading the batch list from S3, a child execution per batch; docs/run-model.md).
--backfill runs the window through the backfill state machine instead: runs of the stage's
backfillHoursPerRun hours (24), backfillConcurrency at a time, then the backfill's summary
(DIR/reports/backfill-<id>.json); exit 0 only if every run SUCCEEDED. --backfill-id names the
backfill (default local-backfill-<from>-<to>): the same id starts the same run ids again.
Without --endpoints, a local stack is started under --dir and stopped at the end, and the source
bucket is emptied before the files are uploaded. With --endpoints FILE (.local/endpoints.json from
npm run local:up, or one written for another stack) the run uses that stack, creates what is missing,
uploads the files under their own prefix of the source bucket (runs/<hash of DIR>/), deletes nothing
else, and leaves the stack running.
--verbose shows the handlers' JSON logs (level debug) and EMF metric lines; --log-level shows the
logs from that level up (debug, info, warn, error; default warn).
--report FILE copies the run report to FILE: the page (self-contained HTML) when FILE ends in .html,
else the JSON; give it twice for both. Both are also written to DIR/reports/<runId>.json and .html.
With --backfill, FILE gets the backfill's summary (JSON).
--workers N runs the transforms in up to N worker threads, one invocation each at a time (default:
the machine's cores); --workers 0 runs every handler in this process (debugging, profiling).`;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'];

/** Longest window `npm run local` takes (a year of hours); the pipeline itself bounds batches. */
const MAX_WINDOW_HOURS = 366 * 24;

export interface RunArgs {
  source: string | undefined;
  /** Undefined only without --source (the sample day's window is used). */
  window: Window | undefined;
  /** Where to copy the report: the page for a name ending in .html, else the JSON. */
  report: string[];
  /** An endpoints file of a running stack to use instead of starting one. */
  endpoints: string | undefined;
  seed: number;
  day: string;
  dir: string;
  verbose: boolean;
  /** The handlers' LOG_LEVEL: --log-level, else debug with --verbose, else warn. */
  logLevel: string;
  /** Worker threads for the transforms (0: all in-process); default the machine's cores. */
  workers: number;
  /** Sample days from `day` (without --source). */
  days: number;
  /** BATCH_MAP_MODE for this run, instead of the stage's. */
  batchMap: BatchMapMode | undefined;
  help: boolean;
  /** Run the window through the backfill state machine, under this backfill id (undefined: one run). */
  backfillId: string | undefined;
  /** Which pipeline: the CloudFront logs (default) or db-sync. */
  pipeline: 'cloudfront' | 'db-sync';
  /** db-sync: customers seeded in the source. */
  rows: number;
}

/**
 * `npm run local`'s flags, checked before anything starts: unknown flags, a window that is not
 * two existing hours with `from` before `to` (UTC), a missing source folder, a bad seed or day.
 */
export function parseRunArgs(argv: string[]): RunArgs {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        report: { type: 'string', multiple: true },
        seed: { type: 'string', default: '20240713' },
        day: { type: 'string', default: '2024-07-13' },
        dir: { type: 'string', default: '.local/run' },
        endpoints: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        workers: { type: 'string' },
        days: { type: 'string', default: '1' },
        'batch-map': { type: 'string' },
        backfill: { type: 'boolean', default: false },
        'backfill-id': { type: 'string' },
        help: { type: 'boolean', default: false },
        pipeline: { type: 'string', default: 'cloudfront' },
        rows: { type: 'string', default: '100000' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const reports = () => (Array.isArray(values.report) ? values.report : []);
  const source = text('source');
  const from = text('from');
  const to = text('to');
  if (values.help === true) {
    return {
      source,
      window: undefined,
      report: reports(),
      endpoints: undefined,
      seed: 0,
      day: '',
      dir: '',
      verbose: false,
      logLevel: 'warn',
      workers: 0,
      days: 1,
      batchMap: undefined,
      backfillId: undefined,
      help: true,
      pipeline: 'cloudfront',
      rows: 0,
    };
  }
  const pipeline = text('pipeline');
  if (pipeline !== 'cloudfront' && pipeline !== 'db-sync') {
    throw new UsageError(`--pipeline ${pipeline} is not one of cloudfront, db-sync`);
  }
  const rows = Number(text('rows'));
  if (!Number.isSafeInteger(rows) || rows < 100)
    throw new UsageError(`--rows ${text('rows')} is not a whole number from 100`);
  const seed = Number(text('seed'));
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new UsageError(`--seed ${text('seed')} is not a whole number`);
  const day = text('day') ?? '';
  checkHour('--day', `${day}T00`, day);
  if (source !== undefined && (!existsSync(source) || !statSync(source).isDirectory())) {
    throw new UsageError(`--source ${source} is not a folder`);
  }
  let window: Window | undefined;
  if (from !== undefined || to !== undefined || source !== undefined) {
    if (from === undefined || to === undefined) {
      throw new UsageError(
        `--from and --to are both required${source === undefined ? '' : ' with --source'}`,
      );
    }
    const start = checkHour('--from', from);
    const end = checkHour('--to', to);
    if (start >= end)
      throw new UsageError(`--from ${from} must be before --to ${to} (the window is [from, to))`);
    if ((end - start) / 3_600_000 > MAX_WINDOW_HOURS) {
      throw new UsageError(`the window ${from} to ${to} is longer than ${MAX_WINDOW_HOURS} hours`);
    }
    window = { from, to };
  }
  const logLevel = text('log-level') ?? (values.verbose === true ? 'debug' : 'warn');
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level ${logLevel} is not one of ${LOG_LEVELS.join(', ')}`);
  const workersText = text('workers');
  const workers = workersText === undefined ? defaultWorkerCount() : Number(workersText);
  if (!Number.isSafeInteger(workers) || workers < 0 || workersText?.trim() === '')
    throw new UsageError(`--workers ${workersText} is not a whole number (0 runs every handler in-process)`);
  const daysText = text('days') ?? '1';
  const days = Number(daysText);
  if (!/^\d+$/.test(daysText) || days < 1 || days > MAX_WINDOW_HOURS / 24)
    throw new UsageError(
      `--days ${daysText} is not a whole number of days from 1 to ${MAX_WINDOW_HOURS / 24}`,
    );
  if (days > 1 && source !== undefined)
    throw new UsageError('--days sizes the sample; with --source give --from and --to');
  const batchMapText = text('batch-map');
  const batchMap = BATCH_MAP_MODES.find((mode) => mode === batchMapText);
  if (batchMapText !== undefined && batchMap === undefined)
    throw new UsageError(`--batch-map ${batchMapText} is not one of ${BATCH_MAP_MODES.join(', ')}`);
  const backfillId = backfillIdOf(values.backfill === true, text('backfill-id'), window, day, days);
  if (backfillId !== undefined && pipeline === 'db-sync')
    throw new UsageError('--backfill runs the CloudFront pipeline; db-sync has no backfill');
  if (backfillId !== undefined && reports().some((file) => /\.html?$/i.test(file)))
    throw new UsageError("--report with --backfill copies the backfill's summary, which is JSON, not a page");
  const endpoints = text('endpoints');
  if (endpoints !== undefined && !existsSync(endpoints)) {
    throw new UsageError(
      `--endpoints ${endpoints} does not exist (npm run local:up writes .local/endpoints.json)`,
    );
  }
  return {
    source,
    window,
    report: reports(),
    endpoints,
    seed,
    day,
    dir: text('dir') ?? '.local/run',
    verbose: values.verbose === true,
    logLevel,
    workers,
    days,
    batchMap,
    backfillId,
    help: false,
    pipeline,
    rows,
  };
}

/**
 * The backfill id of `--backfill`: `--backfill-id`, or one derived from the window, so running the
 * same window again starts the same run ids (the runs are idempotent).
 */
function backfillIdOf(
  backfill: boolean,
  id: string | undefined,
  window: Window | undefined,
  day: string,
  days: number,
): string | undefined {
  if (!backfill) {
    if (id !== undefined) throw new UsageError('--backfill-id needs --backfill');
    return undefined;
  }
  if (id !== undefined) {
    const parsed = RunIdSchema.safeParse(id);
    if (!parsed.success) throw new UsageError(`--backfill-id ${id}: ${parsed.error.issues[0]?.message}`);
    return id;
  }
  const from = window?.from ?? `${day}T00`;
  const to = window?.to ?? addHours(`${day}T00`, 24 * days);
  return `local-backfill-${from.replace(/[-T]/g, '')}-${to.replace(/[-T]/g, '')}`;
}

function checkHour(flag: string, hour: string, shown = hour): number {
  if (!HOUR_PATTERN.test(hour)) {
    throw new UsageError(
      `${flag} ${shown} is not ${flag === '--day' ? 'a day (YYYY-MM-DD)' : 'an hour (YYYY-MM-DDTHH, UTC)'}`,
    );
  }
  try {
    return hourStart(hour);
  } catch {
    throw new UsageError(`${flag} ${shown} does not exist in the calendar`);
  }
}
