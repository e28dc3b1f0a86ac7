/**
 * Child process (b) of `npm run bench:transform`: DuckDB on one thread, the same gzip log → one zstd
 * Parquet file with the transform's columns (`duckdb-query.ts`). Prints one JSON line like (a).
 */
import { rmSync, statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { duckdbCopySql } from './duckdb-query';
import { cpuMsSince } from './measure';

async function main(): Promise<void> {
  const [input, output, fileId] = process.argv.slice(2);
  if (input === undefined || output === undefined)
    throw new Error('usage: duckdb-child <input.gz> <out.parquet>');
  rmSync(output, { force: true });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  await connection.run('SET threads=1');
  const result = await connection.run(duckdbCopySql(cloudfront.table, input, output, fileId ?? 'bench'));
  const rows = Number(result.rowsChanged);
  const ms = performance.now() - started;
  connection.closeSync();
  instance.closeSync();
  console.log(
    JSON.stringify({
      rows,
      ms,
      cpuMs: cpuMsSince(cpu),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      outputBytes: statSync(output).size,
    }),
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
