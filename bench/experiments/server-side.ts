/**
 * The server's share of the writer's INSERT: each statement form is built for every 1,000-row
 * batch before the clock starts, then only the round trips are timed (one connection, one
 * transaction per batch as the writer commits them, no ledger), into an empty table each time.
 *
 *   npx tsx bench/experiments/server-side.ts [--repeats 3]
 *
 * Forms: the writer's text (mysql2-formatted INSERT … ON DUPLICATE KEY UPDATE), the same without
 * the ON DUPLICATE KEY UPDATE clause, the same with UTC_TIMESTAMP(3) and the run id taken from
 * session variables instead of repeated in every tuple (28 % less SQL), the writer's statement as a
 * prepared statement (binary protocol), and LOAD DATA LOCAL INFILE of all rows for reference.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { targetTableDdl, upsertSql } from '#shared/adapters/warehouse';
import type { AggregateRow } from '#shared/core/aggregate-row';
import { generateAggregateRows } from '../aggregate-rows';
import { startBenchStack } from '../bench-stack';
import { loadData, loadDataConnection, writeTsv } from '../load-data';
import { expectedContents, tableContents } from '../table-contents';
import { sortRows, upsertValues } from './candidate-writer';

const TABLE = 'cloudfront_hourly';
const RUN_ID = 'bench-load-2024-07-08T00-2024-07-15T00';
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' } }, strict: true });
  const repeats = Number(values.repeats);
  const rows = sortRows(generateAggregateRows(), 'precomputed');
  const expected = expectedContents(RUN_ID, rows);
  const stack = await startBenchStack({ dynamodb: false });
  try {
    const credentials = await stack.credentialsProvider().get();
    const connection = await createConnection({
      host: credentials.host,
      port: credentials.port,
      user: credentials.username,
      password: credentials.password,
      database: credentials.dbname,
      charset: 'utf8mb4',
    });
    stack.onStop(() => connection.end());
    const batches: AggregateRow[][] = [];
    for (let start = 0; start < rows.length; start += 1_000) batches.push(rows.slice(start, start + 1_000));

    const asNow = batches.map((batch) =>
      connection.format(upsertSql(TABLE, batch.length), upsertValues(RUN_ID, batch)),
    );
    const withoutUpdate = asNow.map((sql) => sql.slice(0, sql.indexOf('\nON DUPLICATE KEY UPDATE')));
    const tail = `, UTC_TIMESTAMP(3), ${connection.escape(RUN_ID)})`;
    const withVariables = asNow.map((sql) => sql.split(tail).join(', @etl_now, @etl_run)'));
    const sizes = (texts: string[]) =>
      (texts.reduce((sum, text) => sum + text.length, 0) / 1_048_576).toFixed(1);

    type Form = { label: string; run: (index: number) => Promise<unknown>; before?: () => Promise<unknown> };
    const forms: Form[] = [
      {
        label: `writer's text, as now (${sizes(asNow)} MiB)`,
        run: (index) => connection.query(asNow[index]!),
      },
      {
        label: `same, no ON DUPLICATE KEY UPDATE (${sizes(withoutUpdate)} MiB)`,
        run: (index) => connection.query(withoutUpdate[index]!),
      },
      {
        label: `same, time and run id from @variables (${sizes(withVariables)} MiB)`,
        before: () => connection.query('SET @etl_now = UTC_TIMESTAMP(3), @etl_run = ?', [RUN_ID]),
        run: (index) => connection.query(withVariables[index]!),
      },
      {
        label: "writer's statement prepared (execute)",
        run: (index) =>
          connection.execute(upsertSql(TABLE, batches[index]!.length), upsertValues(RUN_ID, batches[index]!)),
      },
    ];
    const times = new Map<string, number[]>(forms.map((form) => [form.label, []]));
    const tsvPath = join(stack.directory, 'aggregate.tsv');
    await writeTsv(tsvPath, rows);
    const loadDataTimes: number[] = [];
    const loadDataNotEmptyTimes: number[] = [];
    for (let round = 0; round < repeats; round++) {
      for (const form of forms) {
        await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\``);
        await stack.admin.query(targetTableDdl(TABLE));
        await form.before?.();
        const started = performance.now();
        for (let index = 0; index < batches.length; index++) {
          await connection.beginTransaction();
          await form.run(index);
          await connection.commit();
        }
        times.get(form.label)!.push(performance.now() - started);
        const contents = await tableContents(stack.admin, TABLE);
        if (contents.sha256 !== expected.sha256)
          throw new Error(`${form.label}: table differs from the source`);
      }
      await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\``);
      await stack.admin.query(targetTableDdl(TABLE));
      const loader = await loadDataConnection(credentials, new Set([tsvPath]));
      const started = performance.now();
      await loadData(loader, TABLE, tsvPath, RUN_ID);
      loadDataTimes.push(performance.now() - started);
      // InnoDB loads an *empty* table in bulk (MariaDB 10.6+: one undo record for the whole
      // statement); the warehouse table is never empty after its first run.
      await stack.admin.query(`DROP TABLE IF EXISTS \`${TABLE}\``);
      await stack.admin.query(targetTableDdl(TABLE));
      await stack.admin.query(
        `INSERT INTO \`${TABLE}\` VALUES ('2000-01-01 00:00:00', 'x', 200, 1, 1, 0, 0, NULL, NULL, 1, UTC_TIMESTAMP(3), 'seed')`,
      );
      const notEmptyStarted = performance.now();
      await loadData(loader, TABLE, tsvPath, RUN_ID);
      loadDataNotEmptyTimes.push(performance.now() - notEmptyStarted);
      await loader.end();
    }
    console.log(
      `server side  ${rows.length.toLocaleString('en-US')} rows, ${batches.length} transactions of 1,000 rows, SQL built before timing, median of ${repeats}:`,
    );
    const line = (label: string, values: number[]) => {
      const ms = median(values);
      const rate = Math.round((rows.length * 1000) / ms).toLocaleString('en-US');
      console.log(`  ${label.padEnd(52)} ${(ms / 1000).toFixed(2)} s  ${rate.padStart(8)} rows/s`);
    };
    for (const [label, values] of times) line(label, values);
    line('LOAD DATA LOCAL INFILE, one statement, empty table', loadDataTimes);
    line('LOAD DATA, table already holding one row', loadDataNotEmptyTimes);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
