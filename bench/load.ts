/**
 * `npm run bench:load`: how fast the project's warehouse writer loads a realistic aggregate, next to
 * the fastest way MySQL can take the same rows, and how fast staging moves them through DynamoDB.
 *
 * (a) writer: MysqlWarehouse.upsert as the write step runs it (credentials from the Secrets Manager
 *     stand-in, ensureSchema first, default options, batches in transactions with the load ledger)
 *     into an empty table, once per bulk mode given (`--bulk-modes`, default `auto,insert`: the
 *     default, which here is LOAD DATA into a temporary table, and the INSERT-text fallback);
 * (b) load-data: the same rows as a TSV file, one LOAD DATA LOCAL INFILE into the same empty table
 *     (same DDL: the warehouse's `targetTableDdl`);
 * then both tables are checked against the source rows (row count + ordered SHA-256 of every
 * column but `updated_at`). Each round drops and recreates the tables; rounds rotate which path
 * goes first, and the figures are the median of the measured rounds (a small warm-up round first).
 * The rows are in `rowKey` order, as the write step receives them from staging.
 * Finally: staging through dynalite (DynamoStagingStore.putRows, then readRun's paged Query), once.
 *
 * The last line is always `writer/load-data rows/s ratio: R`, for the first bulk mode given.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import type { RowDataPacket } from 'mysql2/promise';
import { DynamoStagingStore, stagingTableInput } from '#shared/adapters/staging-store';
import { DEFAULT_BATCH_ROWS, LEDGER_TABLE, MysqlWarehouse, targetTableDdl } from '#shared/adapters/warehouse';
import type { AggregateRow } from '#shared/core/aggregate-row';
import { WAREHOUSE_BULK_MODES, type WarehouseBulkMode } from '#shared/core/bulk-mode';
import { DEFAULT_AGGREGATE_ROWS_OPTIONS, generateAggregateRows } from './aggregate-rows';
import { type BenchStack, startBenchStack } from './bench-stack';
import { loadData, loadDataConnection, writeTsv } from './load-data';
import { median } from './stats';
import { expectedContents, type TableContents, tableContents } from './table-contents';

const USAGE = `Usage: npm run bench:load -- [--repeats 5] [--warmup-rows 20000] [--seed N] [--hours 168]
                            [--hosts 300] [--batch-rows N] [--connections N]
                            [--bulk-modes auto,insert] [--skip-staging]`;

const TABLE = 'cloudfront_hourly';
const STAGING_TABLE = 'etl-bench-staging';
const RUN_ID = 'bench-load-2024-07-08T00-2024-07-15T00';

/** One timed load: a writer bulk mode (`writer auto`, `writer insert`, …) or `load-data`. */
interface Timing {
  ms: number;
  cpu: CpuReading;
}
type Round = Map<string, Timing>;

const perSecond = (count: number, ms: number) => (count * 1000) / ms;
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function dropTables(stack: BenchStack): Promise<void> {
  await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\`, \`${LEDGER_TABLE}\``);
}

function sameContents(label: string, actual: TableContents, expected: TableContents): void {
  if (actual.rows !== expected.rows || actual.sha256 !== expected.sha256) {
    throw new Error(
      `${label}: table holds ${actual.rows} rows (sha256 ${actual.sha256}), expected ${expected.rows} (sha256 ${expected.sha256})`,
    );
  }
}

interface WriterSettings {
  batchRows?: number;
  connectionLimit?: number;
}

/** CPU seconds of this process (user + system) and of the MariaDB server, read before and after a load. */
interface CpuReading {
  node: number;
  server: number;
}

function cpuNow(serverPid: number): CpuReading {
  const usage = process.cpuUsage();
  // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks; the name field may hold spaces.
  const stat = readFileSync(`/proc/${serverPid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { node: (usage.user + usage.system) / 1e6, server: ticks / CLOCK_TICKS };
}
const CLOCK_TICKS = 100;
const NO_CPU: CpuReading = { node: 0, server: 0 };
const cpuSince = (before: CpuReading, serverPid: number): CpuReading => {
  const after = cpuNow(serverPid);
  return { node: after.node - before.node, server: after.server - before.server };
};

/**
 * (a) The project's writer path, timed from upsert() to its return; the table is empty before.
 * The secret read, the pool's connections and the DDL come before the clock starts, as in a warm
 * Lambda container.
 */
async function writerRound(
  stack: BenchStack,
  rows: readonly AggregateRow[],
  settings: WriterSettings,
  bulkMode: WarehouseBulkMode,
): Promise<{ ms: number; batches: number; cpu: CpuReading }> {
  await dropTables(stack);
  const warehouse = new MysqlWarehouse(stack.credentialsProvider(), { table: TABLE, ...settings, bulkMode });
  try {
    await warehouse.ensureSchema();
    // Concurrent summaries make the pool open all its connections now, not inside the timing.
    await Promise.all(
      Array.from({ length: settings.connectionLimit ?? 2 }, () => warehouse.hoursSummary(['2024-07-08T00'])),
    );
    const cpu = cpuNow(stack.mariadb.pid);
    const started = performance.now();
    const result = await warehouse.upsert(RUN_ID, rows);
    const ms = performance.now() - started;
    const used = cpuSince(cpu, stack.mariadb.pid);
    if (result.rows !== rows.length || result.skippedBatches !== 0) {
      throw new Error(`writer: unexpected result ${JSON.stringify(result)}`);
    }
    return { ms, batches: result.batches, cpu: used };
  } finally {
    await warehouse.close();
  }
}

/** (b) LOAD DATA LOCAL INFILE of the same rows (TSV already written) into the freshly created table. */
async function loadDataRound(
  stack: BenchStack,
  rowCount: number,
  tsvPath: string,
): Promise<{ ms: number; cpu: CpuReading }> {
  await dropTables(stack);
  await stack.admin.query(targetTableDdl(TABLE));
  const credentials = await stack.credentialsProvider().get();
  const connection = await loadDataConnection(credentials, new Set([tsvPath]));
  try {
    const cpu = cpuNow(stack.mariadb.pid);
    const started = performance.now();
    const result = await loadData(connection, TABLE, tsvPath, RUN_ID);
    const ms = performance.now() - started;
    const used = cpuSince(cpu, stack.mariadb.pid);
    if (result.affectedRows !== rowCount) {
      throw new Error(`load-data: ${result.affectedRows} rows loaded, expected ${rowCount}`);
    }
    return { ms, cpu: used };
  } finally {
    await connection.end();
  }
}

async function stagingRun(stack: BenchStack, rows: readonly AggregateRow[], expected: TableContents) {
  await stack.clients.dynamodb.send(new CreateTableCommand(stagingTableInput(STAGING_TABLE)));
  const store = new DynamoStagingStore(stack.clients.documents, STAGING_TABLE);
  const putStarted = performance.now();
  const put = await store.putRows(RUN_ID, rows);
  const putMs = performance.now() - putStarted;
  const readStarted = performance.now();
  const read = await store.readRun(RUN_ID);
  const readMs = performance.now() - readStarted;
  const readBack = expectedContents(RUN_ID, read);
  if (readBack.rows !== expected.rows || readBack.sha256 !== expected.sha256) {
    throw new Error(
      `staging: read back ${readBack.rows} rows (sha256 ${readBack.sha256}), expected ${expected.rows}`,
    );
  }
  return { put, putMs, read: read.length, readMs };
}

async function main(): Promise<string> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '5' },
      'warmup-rows': { type: 'string', default: '20000' },
      seed: { type: 'string', default: String(DEFAULT_AGGREGATE_ROWS_OPTIONS.seed) },
      hours: { type: 'string', default: String(DEFAULT_AGGREGATE_ROWS_OPTIONS.hours) },
      hosts: { type: 'string', default: String(DEFAULT_AGGREGATE_ROWS_OPTIONS.hosts) },
      'batch-rows': { type: 'string' },
      connections: { type: 'string' },
      'bulk-modes': { type: 'string', default: 'auto,insert' },
      'skip-staging': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const repeats = Number(values.repeats);
  const warmupRows = Number(values['warmup-rows']);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a positive integer`);
  const writerSettings: WriterSettings = {
    ...(values['batch-rows'] !== undefined && { batchRows: Number(values['batch-rows']) }),
    ...(values.connections !== undefined && { connectionLimit: Number(values.connections) }),
  };
  // The first mode is the one the ratio line reports (auto: what the write function does by default).
  const bulkModes = (values['bulk-modes'] ?? '').split(',').map((mode) => {
    const known = WAREHOUSE_BULK_MODES.find((candidate) => candidate === mode);
    if (known === undefined)
      throw new Error(`--bulk-modes: ${mode} is not one of ${WAREHOUSE_BULK_MODES.join(', ')}`);
    return known;
  });
  const paths = [...bulkModes.map((mode) => `writer ${mode}`), 'load-data'];

  const rows = generateAggregateRows({
    seed: Number(values.seed),
    hours: Number(values.hours),
    hosts: Number(values.hosts),
  });
  const expected = expectedContents(RUN_ID, rows);
  const stack = await startBenchStack({ dynamodb: !values['skip-staging'] });
  try {
    const [[version]] = await stack.admin.query<RowDataPacket[]>('SELECT VERSION() AS version');
    console.log(
      `bench:load  ${count(rows.length)} aggregate rows (${values.hours} hours × ${values.hosts} hosts × statuses seen, seed ${values.seed})`,
    );
    console.log(
      `            ${cpus().length} CPUs, Node ${process.versions.node}, MariaDB ${String(version?.version)} (innodb_flush_log_at_trx_commit=2), writer MysqlWarehouse.upsert (bulk modes ${bulkModes.join(', ')}), batchRows ${writerSettings.batchRows ?? DEFAULT_BATCH_ROWS}, connections ${writerSettings.connectionLimit ?? 2}`,
    );
    // Written once, before any timing: LOAD DATA reads it from the page cache in every round.
    const tsvPath = join(stack.directory, 'aggregate.tsv');
    const tsvStarted = performance.now();
    const tsvBytes = await writeTsv(tsvPath, rows);
    const tsvMs = performance.now() - tsvStarted;

    if (warmupRows > 0) {
      const sample = rows.slice(0, warmupRows);
      const samplePath = join(stack.directory, 'warm-up.tsv');
      await writeTsv(samplePath, sample);
      const warmed: string[] = [];
      for (const mode of bulkModes) {
        warmed.push(
          `writer ${mode} ${count((await writerRound(stack, sample, writerSettings, mode)).ms)} ms`,
        );
      }
      warmed.push(`load-data ${count((await loadDataRound(stack, sample.length, samplePath)).ms)} ms`);
      console.log(`warm-up     ${count(sample.length)} rows each, not counted: ${warmed.join(', ')}`);
    }

    const rounds: Round[] = [];
    const batchesOf = new Map<string, number>();
    for (let round = 1; round <= repeats; round++) {
      // Rotating which path goes first spreads any drift (page cache, purge threads) over all.
      const order = paths.map((_, index) => paths[(index + round - 1) % paths.length]!);
      const measured: Round = new Map();
      for (const path of order) {
        const mode = bulkModes.find((candidate) => path === `writer ${candidate}`);
        if (mode !== undefined) {
          const writer = await writerRound(stack, rows, writerSettings, mode);
          measured.set(path, writer);
          batchesOf.set(path, writer.batches);
        } else {
          measured.set(path, await loadDataRound(stack, rows.length, tsvPath));
        }
        sameContents(`round ${round} ${path}`, await tableContents(stack.admin, TABLE), expected);
      }
      rounds.push(measured);
      const timings = order.map((path) => {
        const ms = measured.get(path)?.ms ?? 0;
        return `${path} ${seconds(ms)} (${count(perSecond(rows.length, ms))} rows/s)`;
      });
      console.log(`round ${round}     ${timings.join(', ')}; every table = source`);
    }

    const timing = (path: string, round: Round): Timing => round.get(path) ?? { ms: 0, cpu: NO_CPU };
    const medianMs = (path: string) => median(rounds.map((round) => timing(path, round).ms));
    const bestMs = (path: string) => Math.min(...rounds.map((round) => timing(path, round).ms));
    const cpuLine = (path: string) =>
      `node ${median(rounds.map((round) => timing(path, round).cpu.node)).toFixed(2)} s, server ${median(rounds.map((round) => timing(path, round).cpu.server)).toFixed(2)} s`;
    const loadDataRate = perSecond(rows.length, medianMs('load-data'));
    console.log(
      `contents    every path, every round: ${count(expected.rows)} rows, sha256 ${expected.sha256}`,
    );
    for (const mode of bulkModes) {
      const path = `writer ${mode}`;
      const rate = perSecond(rows.length, medianMs(path));
      console.log(
        `${path.padEnd(19)} MysqlWarehouse.upsert, ${batchesOf.get(path)} batches: ${count(rate)} rows/s (median of ${repeats}, ${seconds(medianMs(path))}; best ${count(perSecond(rows.length, bestMs(path)))} rows/s), ratio ${(rate / loadDataRate).toFixed(2)}; cpu ${cpuLine(path)}`,
      );
    }
    console.log(
      `${'load-data'.padEnd(19)} LOAD DATA LOCAL INFILE: ${count(loadDataRate)} rows/s (median of ${repeats}, ${seconds(medianMs('load-data'))}; best ${count(perSecond(rows.length, bestMs('load-data')))} rows/s); cpu ${cpuLine('load-data')}`,
    );
    console.log(
      `            counting the TSV write too (${(tsvBytes / 1_048_576).toFixed(1)} MiB in ${count(tsvMs)} ms, once): ${count(perSecond(rows.length, medianMs('load-data') + tsvMs))} rows/s`,
    );

    if (!values['skip-staging']) {
      const staging = await stagingRun(stack, rows, expected);
      console.log(
        `staging     DynamoStagingStore over dynalite, one run: putRows ${count(perSecond(staging.put.staged, staging.putMs))} items/s (${count(staging.put.staged)} items, ${seconds(staging.putMs)}, ${count(staging.put.calls)} BatchWriteItem calls), readRun ${count(perSecond(staging.read, staging.readMs))} items/s (${seconds(staging.readMs)}, paged Query, read back = source)`,
      );
    }
    const writerRate = perSecond(rows.length, medianMs(`writer ${bulkModes[0]}`));
    return `writer/load-data rows/s ratio: ${(writerRate / loadDataRate).toFixed(2)}`;
  } finally {
    await stack.stop();
  }
}

main().then(
  (lastLine) => {
    console.log(lastLine);
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
