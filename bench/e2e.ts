/**
 * `npm run bench:e2e`: a whole day through `npm run local`, the command itself (local/cli/run.ts in
 * its own process: the stack, the state machines, the same handlers), once with every handler
 * in-process (`--workers 0`) and once with the transforms in worker threads (`--workers N`, default
 * the machine's cores), rounds alternating which goes first.
 *
 * The day is generated once (then reused from `.local/bench/e2e/`): a seeded sample of
 * 2,400,000 rows in 96 files (4 files an hour, 25,000 rows each, no planted bad rows, so every
 * row is read). Rows/s is the rows the run read over the execution's span (the report's
 * `startedAt` to `finishedAt`: ingest to report, the stack's start and stop excluded; the whole
 * command's time is shown beside it). Per core divides by the cores the machine offers.
 *
 * The last line is always `e2e rows/s: N; per core: M` (the median with workers).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { addHours } from '#shared/core/window';
import { writeSampleDirectory } from '../local/sample/index';
import { median } from './stats';

const USAGE = `Usage: npm run bench:e2e -- [--files-per-hour 4] [--rows-per-file 25000] [--seed N]
                            [--day YYYY-MM-DD] [--workers N] [--repeats 1] [--skip-in-process]
Runs the generated day through npm run local with --workers 0 and --workers N (default: the
machine's cores). The last line is \`e2e rows/s: N; per core: M\` (workers, median of the repeats).`;

const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.local', 'bench', 'e2e');
const RUN_CLI = join(ROOT, 'local', 'cli', 'run.ts');

/** The report fields the figures come from. */
const ReportSchema = z.object({
  status: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  rows: z.object({ read: z.number(), accepted: z.number() }),
  files: z.object({ total: z.number() }),
  stages: z.array(z.object({ name: z.string(), durationMs: z.number() })),
});

interface Measurement {
  workers: number;
  rows: number;
  runMs: number;
  commandMs: number;
  stages: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'files-per-hour': { type: 'string', default: '4' },
      'rows-per-file': { type: 'string', default: '25000' },
      seed: { type: 'string', default: '20240713' },
      day: { type: 'string', default: '2024-07-13' },
      workers: { type: 'string', default: String(availableParallelism()) },
      repeats: { type: 'string', default: '1' },
      'skip-in-process': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const filesPerHour = positive('files-per-hour', values['files-per-hour']);
  const rowsPerFile = positive('rows-per-file', values['rows-per-file']);
  const seed = positive('seed', values.seed);
  const workers = positive('workers', values.workers);
  const repeats = positive('repeats', values.repeats);
  const day = values.day;
  const cores = availableParallelism();
  console.log(`bench:e2e  ${cores} cores available (${cpus()[0]?.model.trim()}), Node ${process.version}`);

  const source = join(WORK, `sample-${seed}-${day}-${filesPerHour}x${rowsPerFile}`);
  if (!existsSync(join(source, 'expected.json'))) {
    const started = Date.now();
    rmSync(source, { recursive: true, force: true });
    writeSampleDirectory(source, { seed, day, filesPerHour, rowsPerFile, plant: false });
    console.log(`sample     written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const expectedRows = 24 * filesPerHour * rowsPerFile;
  console.log(`sample     ${24 * filesPerHour} files, ${fmt(expectedRows)} rows in ${source}`);

  const modes = values['skip-in-process'] ? [workers] : [0, workers];
  const results = new Map<number, Measurement[]>(modes.map((mode) => [mode, []]));
  for (let round = 1; round <= repeats; round++) {
    const order = round % 2 === 1 ? modes : [...modes].reverse();
    for (const mode of order) {
      const measurement = await runOnce(source, day, mode, expectedRows);
      results.get(mode)?.push(measurement);
      console.log(
        `round ${round}    ${label(mode).padEnd(20)} ${fmt(rate(measurement))} rows/s: run ${seconds(measurement.runMs)}, command ${seconds(measurement.commandMs)}; ${measurement.stages}`,
      );
    }
  }
  const medians = new Map([...results].map(([mode, list]) => [mode, median(list.map(rate))]));
  for (const [mode, value] of medians) {
    console.log(
      `${label(mode).padEnd(29)} ${fmt(value)} rows/s (median of ${repeats}), ${fmt(value / cores)} per core`,
    );
  }
  const inProcess = medians.get(0);
  const withWorkers = medians.get(workers) ?? 0;
  if (inProcess !== undefined)
    console.log(`speed-up with workers        ${(withWorkers / inProcess).toFixed(2)}×`);
  console.log(`e2e rows/s: ${Math.round(withWorkers)}; per core: ${Math.round(withWorkers / cores)}`);
}

/** One `npm run local` over the day, in its own process and data folder; the report gives the figures. */
async function runOnce(
  source: string,
  day: string,
  workers: number,
  expectedRows: number,
): Promise<Measurement> {
  const directory = join(WORK, `run-workers-${workers}`);
  rmSync(directory, { recursive: true, force: true });
  const reportFile = join(WORK, `report-workers-${workers}.json`);
  const args = [
    '--import',
    'tsx',
    RUN_CLI,
    '--source',
    source,
    '--from',
    `${day}T00`,
    '--to',
    addHours(`${day}T00`, 24),
    '--dir',
    directory,
    '--workers',
    String(workers),
    '--report',
    reportFile,
  ];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
    });
    child.stderr.on('data', (chunk) => {
      text += chunk;
    });
    child.once('exit', (exitCode) => done({ code: exitCode, output: text }));
  });
  const commandMs = Date.now() - started;
  if (code !== 0)
    throw new Error(`npm run local --workers ${workers} exited ${code}:\n${output.slice(-4000)}`);
  const report = ReportSchema.parse(JSON.parse(readFileSync(reportFile, 'utf8')));
  if (report.status !== 'SUCCEEDED' || report.rows.read !== expectedRows) {
    throw new Error(
      `npm run local --workers ${workers}: ${report.status}, ${report.rows.read} rows read of ${expectedRows}`,
    );
  }
  rmSync(directory, { recursive: true, force: true });
  return {
    workers,
    rows: report.rows.read,
    runMs: Date.parse(report.finishedAt) - Date.parse(report.startedAt),
    commandMs,
    stages: report.stages.map((stage) => `${stage.name} ${seconds(stage.durationMs)}`).join(', '),
  };
}

const label = (workers: number) => (workers === 0 ? 'in-process' : `${workers} worker threads`);
const rate = (measurement: Measurement) => measurement.rows / (measurement.runMs / 1000);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} ${text} is not a positive whole number`);
  return value;
}

mkdirSync(WORK, { recursive: true });
main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
