/**
 * `npm run bench:transform:ab -- NAME=ROOT NAME=ROOT …`: two (or more) builds of the transform on
 * the same inputs, their runs alternating, which is how each change in docs/transform.md was
 * decided. On a shared machine, wall times move by ±20 % within minutes; runs of two builds taken
 * in turn see the same spells, where two `npm run bench:transform` runs apart do not.
 *
 * Each ROOT is a checkout of this project (`git worktree add ../base main`, with a `node_modules`
 * of its own or linked to this one's); its `bench/transform/ours-child.ts` is bundled with its own
 * esbuild plugins. Every build reads the inputs of this checkout's generator, in the orders of
 * `bench/transform/orders.ts`, with the transform function's NODE_OPTIONS from serverless.yml.
 * Per order and build: wall time (median and fastest), CPU, peak RSS, the transform's phases
 * (read, row groups left at the end, uploads); then each build against the first.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../stats';
import { bundleOurs, DEFAULT_SPOOL_MB, runChild, transformRuntimeOptions } from './children';
import { rowsInput } from './input';
import type { ChildReport } from './measure';
import { ALL_ORDERS, orderedInput, type RowOrder } from './orders';

const USAGE = `Usage: npm run bench:transform:ab -- [--orders sorted,round-robin-48] [--runs 7]
                                    [--rows 1000000] [--seed 20240713] NAME=ROOT NAME=ROOT ...

Orders: ${Object.keys(ALL_ORDERS).join(', ')}. ROOT: a checkout of this project (for this one: .).`;

const ROOT = resolve(__dirname, '..', '..');
const WORK = join(ROOT, '.local', 'bench', 'transform');

interface Build {
  name: string;
  root: string;
  bundle: string;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      orders: { type: 'string', default: 'sorted,round-robin-48' },
      runs: { type: 'string', default: '7' },
      rows: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '20240713' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return;
  }
  const orders = values.orders.split(',').map((order) => {
    if (!(order in ALL_ORDERS)) throw new Error(`unknown order ${order}\n${USAGE}`);
    return order as RowOrder;
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer\n${USAGE}`);
  mkdirSync(join(WORK, 'ab'), { recursive: true });
  const builds: Build[] = [];
  for (const spec of positionals) {
    const [name, root] = spec.split('=');
    if (!name || !root || !/^[\w-]+$/.test(name))
      throw new Error(`expected NAME=ROOT, got ${spec}\n${USAGE}`);
    builds.push({
      name,
      root: resolve(root),
      bundle: await bundleOurs(resolve(root), join(WORK, 'ab', `${name}.js`)),
    });
  }
  const environment = await transformRuntimeOptions(ROOT);
  const input = await rowsInput(WORK, Number(values.seed), Number(values.rows));
  const paths = new Map<RowOrder, string>();
  for (const order of orders) paths.set(order, (await orderedInput(input, order, Number(values.seed))).path);

  const reports = new Map<string, ChildReport[]>();
  for (let run = 0; run < runs; run++) {
    // Odd runs reverse the builds' turn, so neither always runs right after the other.
    const turn = run % 2 === 0 ? builds : [...builds].reverse();
    for (const order of orders) {
      for (const build of turn) {
        const report = await runChild(
          build.bundle,
          [paths.get(order)!, join(WORK, `out-ab-${build.name}`), String(DEFAULT_SPOOL_MB)],
          { root: ROOT, environment },
        );
        if (report.rows !== input.rows)
          throw new Error(`${build.name} ${order}: ${report.rows} rows of ${input.rows}`);
        const key = `${order} ${build.name}`;
        reports.set(key, [...(reports.get(key) ?? []), report]);
      }
    }
    process.stderr.write(`run ${run + 1} of ${runs} done\n`);
  }

  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  for (const order of orders) {
    for (const build of builds) {
      const list = reports.get(`${order} ${build.name}`)!;
      const phase = (key: 'readMs' | 'sealMs' | 'publishMs') =>
        seconds(median(list.map((report) => report[key] ?? 0)));
      console.log(
        `${order.padEnd(15)} ${build.name.padEnd(10)} wall ${seconds(median(list.map((report) => report.ms)))} s (fastest ${seconds(Math.min(...list.map((report) => report.ms)))}), CPU ${seconds(median(list.map((report) => report.cpuMs)))} s, peak RSS ${(Math.max(...list.map((report) => report.maxRssBytes)) / 2 ** 20).toFixed(0)} MB, read ${phase('readMs')} s, end ${phase('sealMs')} s, uploads ${phase('publishMs')} s; runs ${list.map((report) => seconds(report.ms)).join(' ')}`,
      );
    }
    const [first, ...others] = builds;
    for (const build of others) {
      const mine = reports.get(`${order} ${build.name}`)!;
      const theirs = reports.get(`${order} ${first!.name}`)!;
      const paired = median(mine.map((report, run) => report.ms / theirs[run]!.ms));
      const fastest =
        Math.min(...mine.map((report) => report.ms)) / Math.min(...theirs.map((report) => report.ms));
      console.log(
        `${order.padEnd(15)} ${build.name} / ${first!.name}: paired median ${paired.toFixed(3)}, fastest ${fastest.toFixed(3)}`,
      );
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
