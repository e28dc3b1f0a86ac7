/**
 * Where MysqlWarehouse.upsert spends its time, and what each proposed change is worth.
 *
 *   npx tsx bench/experiments/writer-profile.ts [--repeats 3] [--skip-profile] [--skip-variants] [--skip-reruns]
 *     [--only TEXT]
 *
 * Part 1 (profile): one pass of the writer's work on the benchmark's rows, each phase timed on its
 * own: sorting, row checks, ledger digests, value arrays, SQL formatting, and every round trip of
 * a batch (BEGIN, ledger SELECT … FOR UPDATE, the INSERT as already formatted text, ledger INSERT,
 * COMMIT), plus the client's CPU time during a real MysqlWarehouse.upsert.
 * Part 2 (variants): the candidate writer (candidate-writer.ts) with the changes switched on one
 * after another, each run into an empty table, median of the rounds, contents checked against the
 * source rows, next to LOAD DATA LOCAL INFILE of the same rows.
 * Part 3 (re-runs): the update path and the ledger skip, current writer against the proposal.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import {
  LEDGER_TABLE,
  ledgerTableDdl,
  MysqlWarehouse,
  targetTableDdl,
  upsertSql,
} from '#shared/adapters/warehouse';
import type { AggregateRow } from '#shared/core/aggregate-row';
import { generateAggregateRows } from '../aggregate-rows';
import { type BenchStack, startBenchStack } from '../bench-stack';
import { loadData, loadDataConnection, writeTsv } from '../load-data';
import { expectedContents, type TableContents, tableContents } from '../table-contents';
import {
  batchDigest,
  type CandidateOptions,
  CURRENT_WRITER,
  candidateUpsert,
  checkRows,
  PROPOSED_WRITER,
  sortRows,
  upsertText,
  upsertValues,
} from './candidate-writer';

const TABLE = 'cloudfront_hourly';
const RUN_ID = 'bench-load-2024-07-08T00-2024-07-15T00';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => `${value.toFixed(0).padStart(6)} ms`;

async function resetTables(stack: BenchStack): Promise<void> {
  await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\`, \`${LEDGER_TABLE}\``);
  await stack.admin.query(targetTableDdl(TABLE));
  await stack.admin.query(ledgerTableDdl());
}

function check(label: string, actual: TableContents, expected: TableContents): void {
  if (actual.rows !== expected.rows || actual.sha256 !== expected.sha256) {
    throw new Error(`${label}: table differs from the source rows (${actual.rows} vs ${expected.rows} rows)`);
  }
}

async function timed<T>(totals: Map<string, number>, phase: string, work: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  totals.set(phase, (totals.get(phase) ?? 0) + performance.now() - started);
  return result;
}

/** Part 1: the current writer's work, phase by phase, on one connection. */
async function profile(stack: BenchStack, rows: readonly AggregateRow[], expected: TableContents) {
  const totals = new Map<string, number>();
  const pool = await stack.writerPool();
  const connection: PoolConnection = await pool.getConnection();
  try {
    await resetTables(stack);
    const wallStarted = performance.now();
    const ordered = await timed(totals, 'sort, rowKey() per comparison (as now)', () =>
      sortRows(rows, 'per-compare'),
    );
    await timed(totals, 'checkRows, [...host] every row (as now)', () =>
      checkRows(ordered, 'spread-every-row'),
    );
    let formattedBytes = 0;
    for (let start = 0, batchNo = 0; start < ordered.length; start += 1_000, batchNo++) {
      const batch = ordered.slice(start, start + 1_000);
      const digest = await timed(totals, 'batchDigest (ledger SHA-256)', () => batchDigest(batch));
      const sql = await timed(totals, 'upsertSql text', () => upsertSql(TABLE, batch.length));
      const values = await timed(totals, 'upsertValues (flatMap + hourStart)', () =>
        upsertValues(RUN_ID, batch),
      );
      const text = await timed(totals, 'mysql2 format (client-side escaping)', () =>
        connection.format(sql, values),
      );
      formattedBytes += Buffer.byteLength(text);
      await timed(totals, 'round trip: BEGIN', () => connection.beginTransaction());
      await timed(totals, 'round trip: ledger SELECT … FOR UPDATE', () =>
        connection.query<RowDataPacket[]>(
          `SELECT digest FROM \`${LEDGER_TABLE}\` WHERE run_id = ? AND batch_no = ? FOR UPDATE`,
          [RUN_ID, batchNo],
        ),
      );
      await timed(totals, 'round trip: INSERT … ON DUPLICATE KEY UPDATE (send + server)', () =>
        connection.query(text),
      );
      await timed(totals, 'round trip: ledger INSERT', () =>
        connection.query(
          `INSERT INTO \`${LEDGER_TABLE}\` (run_id, batch_no, row_count, digest, loaded_at)
           VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))
           ON DUPLICATE KEY UPDATE row_count = VALUES(row_count), digest = VALUES(digest), loaded_at = VALUES(loaded_at)`,
          [RUN_ID, batchNo, batch.length, digest],
        ),
      );
      await timed(totals, 'round trip: COMMIT', () => connection.commit());
    }
    const wall = performance.now() - wallStarted;
    check('profile pass', await tableContents(stack.admin, TABLE), expected);

    // For comparison, not part of the pass above.
    const alternatives = new Map<string, number>();
    const reordered = await timed(alternatives, 'sort, key precomputed once per row', () =>
      sortRows(rows, 'precomputed'),
    );
    if (reordered.some((row, index) => row !== ordered[index])) throw new Error('sorts disagree');
    await timed(alternatives, 'checkRows, code points/spaces only where they can matter', () =>
      checkRows(ordered, 'lean'),
    );
    for (let start = 0; start < ordered.length; start += 1_000) {
      const batch = ordered.slice(start, start + 1_000);
      const text = await timed(
        alternatives,
        'own SQL text (upsertText) instead of upsertValues + format',
        () => upsertText(TABLE, RUN_ID, batch),
      );
      // Every batch, outside the timing: the proposal must send byte for byte what format() builds.
      if (text !== connection.format(upsertSql(TABLE, batch.length), upsertValues(RUN_ID, batch))) {
        throw new Error(`upsertText differs from mysql2's format for the batch at row ${start}`);
      }
    }

    console.log(
      `profile     one pass of the current writer's work, ${count(rows.length)} rows, 1,000-row batches, phases timed apart:`,
    );
    const measured = [...totals.values()].reduce((sum, value) => sum + value, 0);
    for (const [phase, total] of totals) {
      console.log(`  ${ms(total)}  ${((100 * total) / wall).toFixed(1).padStart(5)} %  ${phase}`);
    }
    console.log(
      `  ${ms(wall - measured)}  ${((100 * (wall - measured)) / wall).toFixed(1).padStart(5)} %  rest (slice, awaits)`,
    );
    console.log(
      `  ${ms(wall)}  100.0 %  wall (${count((rows.length * 1000) / wall)} rows/s); SQL sent ${(formattedBytes / 1_048_576).toFixed(1)} MiB`,
    );
    console.log('  alternatives (same inputs, same outputs):');
    for (const [phase, total] of alternatives) console.log(`  ${ms(total)}           ${phase}`);
  } finally {
    connection.release();
    await pool.end();
  }

  // The real writer: how much of its wall time is this process's CPU.
  await resetTables(stack);
  const warehouse = new MysqlWarehouse(stack.credentialsProvider(), { table: TABLE });
  try {
    await warehouse.ensureSchema();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await warehouse.upsert(RUN_ID, rows);
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `  MysqlWarehouse.upsert: ${ms(wall)} wall, node CPU ${ms(cpuMs)} (${((100 * cpuMs) / wall).toFixed(0)} %); the rest is waiting for the server`,
    );
  } finally {
    await warehouse.close();
  }
}

interface Measure {
  wallMs: number;
  nodeCpuMs: number;
  serverCpuMs: number;
}

/** utime + stime of mariadbd, all threads, in ms (/proc/<pid>/stat fields 14 and 15, at 100 ticks/s). */
function serverCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function measured(stack: BenchStack, work: () => Promise<unknown>): Promise<Measure> {
  const serverBefore = serverCpuMs(stack.mariadb.pid);
  const nodeBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  const node = process.cpuUsage(nodeBefore);
  return {
    wallMs,
    nodeCpuMs: (node.user + node.system) / 1000,
    serverCpuMs: serverCpuMs(stack.mariadb.pid) - serverBefore,
  };
}

interface Variant {
  label: string;
  /** The candidate writer's switches; without them, MysqlWarehouse itself with `batchRows`. */
  options?: CandidateOptions;
  batchRows?: number;
}

const IMPROVED_CPU: CandidateOptions = {
  ...CURRENT_WRITER,
  sort: 'precomputed',
  hostCheck: 'lean',
};
const OWN_TEXT: CandidateOptions = { ...IMPROVED_CPU, insert: 'own-text' };
const TWO_IN_FLIGHT: CandidateOptions = { ...OWN_TEXT, concurrency: 2, ledgerLock: 'insert-first' };
const LEAN_PREP: CandidateOptions = { ...TWO_IN_FLIGHT, sort: 'one-pass', digest: 'sql-text' };
const TWO_TRIPS: CandidateOptions = { ...LEAN_PREP, roundTrips: 'two', insert: 'own-text-vars' };
const VARIANTS: Variant[] = [
  { label: 'MysqlWarehouse.upsert (reference)' },
  { label: 'MysqlWarehouse.upsert, batchRows 5,000', batchRows: 5_000 },
  { label: 'candidate = current writer (copy)', options: CURRENT_WRITER },
  { label: '+ sort keys precomputed', options: { ...CURRENT_WRITER, sort: 'precomputed' } },
  { label: '+ lean host checks', options: IMPROVED_CPU },
  { label: '+ own SQL text (no mysql2 format)', options: OWN_TEXT },
  { label: '  (instead: prepared statement, execute)', options: { ...IMPROVED_CPU, insert: 'prepared' } },
  { label: '+ 2 in flight, ledger SELECT … FOR UPDATE', options: { ...OWN_TEXT, concurrency: 2 } },
  { label: '+ 2 in flight, ledger row claimed by INSERT', options: TWO_IN_FLIGHT },
  { label: '+ one-pass sort/checks, digest of SQL text', options: LEAN_PREP },
  { label: '  same, batchRows 5,000 = PROPOSED_WRITER', options: PROPOSED_WRITER },
  {
    label: '  PROPOSED_WRITER, prepared instead of text',
    options: { ...PROPOSED_WRITER, insert: 'prepared', digest: 'json-per-row' },
  },
  { label: '+ 2 round trips (multi-statement)', options: { ...LEAN_PREP, roundTrips: 'two' } },
  { label: '+ time and run id in @variables', options: TWO_TRIPS },
  { label: '+ batchRows 5,000', options: { ...TWO_TRIPS, batchRows: 5_000 } },
  {
    label: 'current CPU path, 2 in flight, INSERT claim',
    options: { ...CURRENT_WRITER, concurrency: 2, ledgerLock: 'insert-first' },
  },
];

/** Part 2: each variant into an empty table, median of `repeats`, against LOAD DATA. */
async function variants(
  stack: BenchStack,
  rows: readonly AggregateRow[],
  expected: TableContents,
  repeats: number,
  selected: readonly Variant[],
) {
  const tsvPath = join(stack.directory, 'aggregate.tsv');
  await writeTsv(tsvPath, rows);
  const measures = new Map<string, Measure[]>([['LOAD DATA LOCAL INFILE (reference)', []]]);
  for (const variant of selected) measures.set(variant.label, []);
  const deadlocksByVariant = new Map<string, number>();
  for (let round = 0; round < repeats; round++) {
    {
      await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\``);
      await stack.admin.query(targetTableDdl(TABLE));
      const connection = await loadDataConnection(
        await stack.credentialsProvider().get(),
        new Set([tsvPath]),
      );
      try {
        const measure = await measured(stack, () => loadData(connection, TABLE, tsvPath, RUN_ID));
        measures.get('LOAD DATA LOCAL INFILE (reference)')!.push(measure);
      } finally {
        await connection.end();
      }
      check('load-data', await tableContents(stack.admin, TABLE), expected);
    }
    for (const variant of selected) {
      await resetTables(stack);
      let measure: Measure;
      if (variant.options === undefined) {
        const warehouse = new MysqlWarehouse(stack.credentialsProvider(), {
          table: TABLE,
          ...(variant.batchRows !== undefined && { batchRows: variant.batchRows }),
        });
        try {
          await warehouse.ensureSchema();
          measure = await measured(stack, () => warehouse.upsert(RUN_ID, rows));
        } finally {
          await warehouse.close();
        }
      } else {
        const options = variant.options;
        const pool = await stack.writerPool(options.roundTrips === 'two');
        try {
          // Connections open before the clock starts, as the warehouse's are after ensureSchema.
          const warm = await Promise.all([pool.getConnection(), pool.getConnection()]);
          for (const connection of warm) connection.release();
          let result: Awaited<ReturnType<typeof candidateUpsert>> | undefined;
          measure = await measured(stack, async () => {
            result = await candidateUpsert(pool, TABLE, RUN_ID, rows, options);
          });
          if (result?.skipped !== 0) throw new Error(`${variant.label}: skipped batches in an empty table`);
          deadlocksByVariant.set(
            variant.label,
            (deadlocksByVariant.get(variant.label) ?? 0) + result.deadlocks,
          );
        } finally {
          await pool.end();
        }
      }
      check(variant.label, await tableContents(stack.admin, TABLE), expected);
      measures.get(variant.label)!.push(measure);
    }
  }
  const loadDataWall = median(
    measures.get('LOAD DATA LOCAL INFILE (reference)')!.map((measure) => measure.wallMs),
  );
  const loadDataRate = (rows.length * 1000) / loadDataWall;
  console.log(
    `variants    median of ${repeats} rounds into an empty table, contents checked each time; CPU seconds of node and of mariadbd (all threads) during the timed part:`,
  );
  for (const [label, list] of measures) {
    const wall = median(list.map((measure) => measure.wallMs));
    const rate = (rows.length * 1000) / wall;
    const deadlocks = deadlocksByVariant.get(label) ?? 0;
    const cpu = `node ${(median(list.map((measure) => measure.nodeCpuMs)) / 1000).toFixed(2)} s, server ${(median(list.map((measure) => measure.serverCpuMs)) / 1000).toFixed(2)} s`;
    console.log(
      `  ${label.padEnd(44)} ${count(rate).padStart(8)} rows/s  ${(wall / 1000).toFixed(2)} s  ratio ${(rate / loadDataRate).toFixed(2)}  ${cpu}${deadlocks > 0 ? `  (${deadlocks} deadlocks retried in ${list.length} rounds)` : ''}`,
    );
  }
}

/**
 * Part 3 (re-runs): the table already holds run A's rows; run B changes every row (requests + 1),
 * so every tuple takes the ON DUPLICATE KEY UPDATE path; then run B again, which the ledger must
 * skip entirely. Current writer against the proposal, median of `repeats`, contents checked.
 */
async function reruns(stack: BenchStack, rows: readonly AggregateRow[], repeats: number) {
  const changed = rows.map((row) => ({ ...row, requests: row.requests + 1 }));
  const runB = `${RUN_ID}-rerun`;
  const expected = expectedContents(runB, changed);
  const writers = ['MysqlWarehouse.upsert', 'PROPOSED_WRITER'] as const;
  const times = new Map<string, { update: number[]; skip: number[]; deadlocks: number }>(
    writers.map((writer) => [writer, { update: [], skip: [], deadlocks: 0 }]),
  );
  for (let round = 0; round < repeats; round++) {
    for (const writer of writers) {
      await resetTables(stack);
      const entry = times.get(writer)!;
      if (writer === 'MysqlWarehouse.upsert') {
        const warehouse = new MysqlWarehouse(stack.credentialsProvider(), { table: TABLE });
        try {
          await warehouse.ensureSchema();
          await warehouse.upsert(RUN_ID, rows);
          entry.update.push((await measured(stack, () => warehouse.upsert(runB, changed))).wallMs);
          check(`${writer} re-run`, await tableContents(stack.admin, TABLE), expected);
          let skipped = 0;
          entry.skip.push(
            (
              await measured(stack, async () => {
                skipped = (await warehouse.upsert(runB, changed)).skippedBatches;
              })
            ).wallMs,
          );
          if (skipped !== Math.ceil(rows.length / 1_000)) {
            throw new Error(`${writer}: ${skipped} batches skipped on an identical re-run`);
          }
        } finally {
          await warehouse.close();
        }
      } else {
        const pool = await stack.writerPool();
        try {
          await candidateUpsert(pool, TABLE, RUN_ID, rows, PROPOSED_WRITER);
          let deadlocks = 0;
          entry.update.push(
            (
              await measured(stack, async () => {
                deadlocks = (await candidateUpsert(pool, TABLE, runB, changed, PROPOSED_WRITER)).deadlocks;
              })
            ).wallMs,
          );
          entry.deadlocks += deadlocks;
          check(`${writer} re-run`, await tableContents(stack.admin, TABLE), expected);
          let result: Awaited<ReturnType<typeof candidateUpsert>> | undefined;
          entry.skip.push(
            (
              await measured(stack, async () => {
                result = await candidateUpsert(pool, TABLE, runB, changed, PROPOSED_WRITER);
              })
            ).wallMs,
          );
          if (result?.skipped !== result?.batches) {
            throw new Error(
              `${writer}: ${result?.skipped} of ${result?.batches} batches skipped on an identical re-run`,
            );
          }
        } finally {
          await pool.end();
        }
      }
    }
  }
  console.log(
    `re-runs     table holding run A; run B changes every row (all updates), then run B again (ledger skips all); median of ${repeats}:`,
  );
  for (const [writer, entry] of times) {
    const update = median(entry.update);
    const skip = median(entry.skip);
    console.log(
      `  ${writer.padEnd(24)} update ${count((rows.length * 1000) / update).padStart(8)} rows/s (${(update / 1000).toFixed(2)} s)   identical re-run ${(skip / 1000).toFixed(2)} s${entry.deadlocks > 0 ? `   ${entry.deadlocks} deadlocks retried` : ''}`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '3' },
      'skip-variants': { type: 'boolean', default: false },
      'skip-profile': { type: 'boolean', default: false },
      only: { type: 'string' },
      'skip-reruns': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const rows = generateAggregateRows();
  const expected = expectedContents(RUN_ID, rows);
  const stack = await startBenchStack({ dynamodb: false });
  try {
    // Warm-up: JIT and buffer pool, not reported.
    await resetTables(stack);
    const warm = await stack.writerPool();
    await candidateUpsert(warm, TABLE, RUN_ID, rows.slice(0, 20_000), CURRENT_WRITER);
    await warm.end();
    if (!values['skip-profile']) await profile(stack, rows, expected);
    const only = values.only;
    const selected =
      only === undefined ? VARIANTS : VARIANTS.filter((variant) => variant.label.includes(only));
    if (!values['skip-variants']) await variants(stack, rows, expected, Number(values.repeats), selected);
    if (!values['skip-reruns']) await reruns(stack, rows, Number(values.repeats));
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
