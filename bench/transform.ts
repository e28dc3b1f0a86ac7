/**
 * `npm run bench:transform`: the transform step against the tool a user would pick instead.
 *
 * Generates (once, then reused from `.local/bench/transform/`) a seeded gzip CloudFront log of
 * 1,000,000 rows with the sample generator's realistic pools, then runs, each in its own child
 * process (bundled by esbuild first, as for Lambda, so no TypeScript loader is measured):
 *   (a) ours:   `transformFile` (shared/steps/transform.ts) with the CloudFront dataset, reading the
 *               file and writing Parquet per hour through a local-folder ObjectStore;
 *   (b) duckdb: `COPY (SELECT … FROM read_csv(…, compression='gzip', columns={…})) TO … (FORMAT
 *               parquet, COMPRESSION zstd)` with `SET threads=1`, same curated columns.
 * Rounds alternate which goes first; rows/s is the median, peak RSS (the child's own maxRSS) the
 * highest seen; each round also shows the child's CPU time, all its threads (ours gunzips on
 * Node's thread pool, beside the main thread). Then one run of (a) on a 1 GiB (uncompressed) log, printing its peak RSS.
 *
 * The last line is always `transform/duckdb rows/s ratio: R; peak RSS MB: ours A, duckdb B`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sourceFileId } from '#shared/core/ingest';
import { median } from './stats';
import {
  bundleDuckdb,
  bundleOurs,
  DEFAULT_SPOOL_MB,
  runChild as runBundle,
  transformRuntimeOptions,
} from './transform/children';
import { type BenchInput, benchInput, rowsInput } from './transform/input';
import { outputLayout } from './transform/layout';
import type { ChildReport } from './transform/measure';
import { ALL_ORDERS, ORDERS, orderedInput, type RowOrder } from './transform/orders';

const USAGE = `Usage: npm run bench:transform -- [--rows 1000000] [--seed N] [--repeats 5]
                                 [--big-bytes 1073741824] [--skip-big] [--only-big] [--one-core]
                                 [--skip-orders] [--spool-mb ${DEFAULT_SPOOL_MB}]

Row orders: the same rows rewritten to each order of ${Object.keys(ORDERS).join(', ')}
(bench/transform/orders.ts), each run through ours; the 1 GiB run is made in every order too.
--spool-mb is the temp disk the transform may use (the transform function's ephemeralStorageSize
less 64 MB, as serverless.yml gives it).

--one-core pins every child to CPU 0 (taskset): ours then cannot gunzip on a second core, which is
the fair "one core" comparison with DuckDB's threads=1 (and what a Lambda below 1,769 MB gets).`;

const ROOT = resolve(__dirname, '..');
const WORK = join(ROOT, '.local', 'bench', 'transform');
const MB = 1024 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '20240713' },
      repeats: { type: 'string', default: '5' },
      'big-bytes': { type: 'string', default: String(1024 * MB) },
      'skip-big': { type: 'boolean', default: false },
      'only-big': { type: 'boolean', default: false },
      'one-core': { type: 'boolean', default: false },
      'skip-orders': { type: 'boolean', default: false },
      'spool-mb': { type: 'string', default: String(DEFAULT_SPOOL_MB) },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rows = positive('rows', values.rows);
  const seed = positive('seed', values.seed);
  const repeats = positive('repeats', values.repeats);
  const bigBytes = positive('big-bytes', values['big-bytes']);
  const spoolMb = String(positive('spool-mb', values['spool-mb']));
  mkdirSync(WORK, { recursive: true });
  const bundles = await bundleChildren();
  oursEnvironment = await transformRuntimeOptions(ROOT);
  pinnedCpu = values['one-core'] ? '0' : undefined;
  console.log(
    `bench:transform  ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}, DuckDB ${duckdbVersion()}`,
  );
  if (pinnedCpu !== undefined) console.log(`every child pinned to CPU ${pinnedCpu} (--one-core)`);
  for (const [name, value] of Object.entries(oursEnvironment))
    console.log(`ours runs with the transform function's ${name}=${value} (serverless.yml)`);

  let ratioLine: string | undefined;
  let orderLine: string | undefined;
  if (!values['only-big']) {
    const input = await rowsInput(WORK, seed, rows);
    describeInput('input', input);
    const ours: ChildReport[] = [];
    const duck: ChildReport[] = [];
    for (let round = 1; round <= repeats; round++) {
      const order = round % 2 === 1 ? (['ours', 'duckdb'] as const) : (['duckdb', 'ours'] as const);
      for (const which of order) {
        const report =
          which === 'ours'
            ? await runChild(bundles.ours, [input.path, join(WORK, 'out-ours')], oursEnvironment)
            : await runChild(bundles.duckdb, [input.path, join(WORK, 'out-duckdb.parquet'), idOf(input)]);
        (which === 'ours' ? ours : duck).push(report);
        if (report.rows !== input.rows) {
          throw new Error(`${which} wrote ${report.rows} rows, the input has ${input.rows}`);
        }
      }
      console.log(
        `round ${round}      ours ${rate(ours.at(-1)!)}, duckdb ${rate(duck.at(-1)!)}, ${order[0]} first`,
      );
    }
    const oursRate = median(ours.map(rowsPerSecond));
    const duckRate = median(duck.map(rowsPerSecond));
    const oursRss = Math.max(...ours.map((report) => report.maxRssBytes)) / MB;
    const duckRss = Math.max(...duck.map((report) => report.maxRssBytes)) / MB;
    console.log(
      `ours             transformFile → Parquet per hour: ${fmt(oursRate)} rows/s (median of ${repeats}), peak RSS ${oursRss.toFixed(0)} MB, output ${bytes(ours[0]!.outputBytes)} in ${ours[0]!.hours} hourly files`,
    );
    console.log(
      `duckdb           COPY read_csv → zstd Parquet, threads=1: ${fmt(duckRate)} rows/s (median of ${repeats}), peak RSS ${duckRss.toFixed(0)} MB, output ${bytes(duck[0]!.outputBytes)}`,
    );
    ratioLine = `transform/duckdb rows/s ratio: ${(oursRate / duckRate).toFixed(2)}; peak RSS MB: ours ${oursRss.toFixed(0)}, duckdb ${duckRss.toFixed(0)}`;
    if (!values['skip-orders']) orderLine = await benchOrders(bundles.ours, input, seed, repeats, spoolMb);
  }

  if (!values['skip-big']) {
    const big = await benchInput({
      folder: WORK,
      seed,
      textBytes: bigBytes,
      rowsPerSecond: 40,
      start: new Date('2024-07-13T00:00:00Z'),
    });
    describeInput('1 GiB input', big);
    const orders: RowOrder[] = values['skip-orders'] ? ['sorted'] : (Object.keys(ORDERS) as RowOrder[]);
    for (const order of orders) {
      const variant = await orderedInput(big, order, seed);
      const out = join(WORK, 'out-ours-big');
      const report = await runChild(bundles.ours, [variant.path, out, spoolMb], oursEnvironment);
      const verdict = report.maxRssBytes <= 256 * MB ? 'under' : 'OVER';
      const layout = await outputLayout(join(out, 'data', 'curated'));
      console.log(
        `1 GiB ${order.padEnd(15)} ours ${rate(report)}, ${report.rows.toLocaleString('en-US')} rows over ${report.hours} hours, peak RSS ${(report.maxRssBytes / MB).toFixed(0)} MB (${verdict} the 256 MB bound), ${describeLayout(layout, report)}, output ${bytes(report.outputBytes)}`,
      );
    }
  }
  if (orderLine !== undefined) console.log(orderLine);
  if (ratioLine !== undefined) console.log(ratioLine);
}

/**
 * The same rows in every order of `ORDERS`, rounds rotating which order goes first; prints rows/s,
 * peak RSS, objects and row groups per order and returns the order ratio line.
 */
async function benchOrders(
  bundle: string,
  input: BenchInput,
  seed: number,
  repeats: number,
  spoolMb: string,
): Promise<string> {
  const orders = Object.keys(ORDERS) as RowOrder[];
  const variants = new Map<RowOrder, BenchInput>();
  for (const order of orders) {
    const variant = await orderedInput(input, order, seed);
    if (variant.generated) {
      console.log(`order input      ${order}: written in ${(variant.generateMs / 1000).toFixed(1)} s`);
    }
    variants.set(order, variant);
  }
  const runs = new Map<RowOrder, ChildReport[]>(orders.map((order) => [order, []]));
  const layouts = new Map<RowOrder, Awaited<ReturnType<typeof outputLayout>>>();
  for (let round = 0; round < repeats; round++) {
    for (let step = 0; step < orders.length; step++) {
      const order = orders[(round + step) % orders.length]!;
      const out = join(WORK, `out-order-${order}`);
      const report = await runChild(bundle, [variants.get(order)!.path, out, spoolMb], oursEnvironment);
      if (report.rows !== input.rows) throw new Error(`${order}: wrote ${report.rows} rows of ${input.rows}`);
      runs.get(order)!.push(report);
      layouts.set(order, await outputLayout(join(out, 'data', 'curated')));
    }
  }
  const medianMs = (order: RowOrder) => median(runs.get(order)!.map((report) => report.ms));
  const medianCpuMs = (order: RowOrder) => median(runs.get(order)!.map((report) => report.cpuMs));
  for (const order of orders) {
    const reports = runs.get(order)!;
    const ms = medianMs(order);
    const rss = Math.max(...reports.map((report) => report.maxRssBytes)) / MB;
    const phase = (key: 'readMs' | 'sealMs') =>
      (median(reports.map((report) => report[key] ?? 0)) / 1000).toFixed(2);
    console.log(
      `order ${order.padEnd(15)} ${fmt(input.rows / (ms / 1000))} rows/s (median of ${repeats}, ${(ms / 1000).toFixed(2)} s: read ${phase('readMs')} s, row groups left at the end ${phase('sealMs')} s; ${(medianCpuMs(order) / 1000).toFixed(2)} s CPU), peak RSS ${rss.toFixed(0)} MB, ${describeLayout(layouts.get(order)!, reports.at(-1)!)}: ${ALL_ORDERS[order]}`,
    );
  }
  const interleaved = orders.filter((order) => order !== 'sorted');
  // Each round runs every order minutes apart: the ratio within a round is spared the machine's
  // slow and fast spells that the medians of each order, taken apart, are not.
  const paired = interleaved.map((order) => {
    const ratios = runs.get(order)!.map((report, round) => report.ms / runs.get('sorted')![round]!.ms);
    return `${order} ${median(ratios).toFixed(2)}`;
  });
  console.log(`order paired ratio  median over rounds of (order / sorted, same round): ${paired.join(', ')}`);
  // Noise on a shared machine only ever adds time: the fastest run of each order is its cost with
  // the least of it (what alternating A/B runs of two builds compare).
  const fastestMs = (order: RowOrder) => Math.min(...runs.get(order)!.map((report) => report.ms));
  const fastest = Math.max(...interleaved.map(fastestMs)) / fastestMs('sorted');
  console.log(`order fastest ratio  worst interleaved / sorted, fastest run of each: ${fastest.toFixed(2)}`);
  const worstCpu = Math.max(...interleaved.map(medianCpuMs)) / medianCpuMs('sorted');
  console.log(`order CPU ratio  worst interleaved / sorted CPU time: ${worstCpu.toFixed(2)}`);
  const worstMs = Math.max(...interleaved.map(medianMs));
  const peak = Math.max(...[...runs.values()].flat().map((report) => report.maxRssBytes)) / MB;
  return `transform order ratio (worst interleaved / sorted time): ${(worstMs / medianMs('sorted')).toFixed(2)}; peak RSS MB: ${peak.toFixed(0)}`;
}

function describeLayout(layout: Awaited<ReturnType<typeof outputLayout>>, report: ChildReport): string {
  const spill =
    (report.spills ?? 0) > 0
      ? `${report.spills} spills, spool peak ${bytes(report.spoolPeakBytes ?? 0)}`
      : `no spill, spool peak ${bytes(report.spoolPeakBytes ?? 0)}`;
  return `${layout.objects} objects, ${layout.rowGroups} row groups (${layout.shortRowGroups} short), ${spill}, ${report.builders ?? 0} builders (${report.buildersHeld ?? 0} at once)`;
}

/** Bundles both children as Lambda's are bundled (the parquet .wasm copied next to the bundle). */
async function bundleChildren(): Promise<{ ours: string; duckdb: string }> {
  const out = join(WORK, 'bundle');
  return {
    ours: await bundleOurs(ROOT, join(out, 'ours.js')),
    duckdb: await bundleDuckdb(ROOT, join(out, 'duckdb.js')),
  };
}

/** With `--one-core`, the CPU every child is pinned to. */
let pinnedCpu: string | undefined;

/** What the transform function's runtime is given in serverless.yml (its Node options), for ours. */
let oursEnvironment: Record<string, string> = {};

function runChild(bundle: string, args: string[], environment: Record<string, string> = {}) {
  return runBundle(bundle, args, { root: ROOT, environment, ...(pinnedCpu !== undefined && { pinnedCpu }) });
}

function duckdbVersion(): string {
  try {
    const packageJson = require(join(ROOT, 'node_modules', '@duckdb', 'node-api', 'package.json'));
    return String(packageJson.version);
  } catch {
    return execFileSync('npm', ['ls', '@duckdb/node-api'], { encoding: 'utf8' }).trim();
  }
}

function describeInput(label: string, input: BenchInput): void {
  console.log(
    `${label.padEnd(16)} ${input.rows.toLocaleString('en-US')} rows, 33 fields, ${bytes(input.textBytes)} text, ${bytes(input.gzipBytes)} gzip${input.generated ? ` (generated in ${(input.generateMs / 1000).toFixed(1)} s)` : ' (reused)'}: ${input.path}`,
  );
}

const idOf = (input: BenchInput) => sourceFileId(`raw/${input.path.slice(input.path.lastIndexOf('/') + 1)}`);
const rowsPerSecond = (report: ChildReport) => report.rows / (report.ms / 1000);
const rate = (report: ChildReport) =>
  `${fmt(rowsPerSecond(report))} rows/s (${(report.ms / 1000).toFixed(2)} s, ${(report.cpuMs / 1000).toFixed(2)} s CPU, ${(report.maxRssBytes / MB).toFixed(0)} MB RSS)`;
const fmt = (value: number) => Math.round(value).toLocaleString('en-US');
const bytes = (value: number) => `${(value / MB).toFixed(1)} MiB`;

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer\n${USAGE}`);
  return value;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
