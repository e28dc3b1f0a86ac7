/**
 * `npm run local -- --pipeline db-sync`: the database-to-database pipeline on one machine
 * (docs/db-sync.md#locally). Starts the local stack and a second MariaDB standing for the source
 * database in the other account, seeds the source with awkward values, runs a full copy, changes
 * rows in the source, runs an incremental copy, and prints each run's counts and reconciliation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, type SyncOutcome, startSyncSource, syncSummary } from '../db-sync/run';
import { changeSource, seedSource } from '../db-sync/source';
import { type LocalPipeline, startLocalPipeline } from '../pipeline';
import { type LocalMariaDb, rootConnection } from '../services/mariadb';
import type { LocalStack } from '../stack';
import type { RunArgs } from './run-args';

/** Runs the demo; 0 only when both runs SUCCEEDED with every table MATCHED. */
export async function runDbSyncDemo(
  args: RunArgs,
  directory: string,
  started: (pipeline: Promise<LocalPipeline<LocalStack | undefined>>) => void,
): Promise<number> {
  console.log('starting the local stack and the source MariaDB…');
  const starting = startLocalPipeline({
    directory,
    environment: { LOG_LEVEL: args.logLevel },
    printMetricLines: args.verbose,
    workers: 0,
  });
  started(starting);
  const pipeline = await starting;
  let sourceDb: LocalMariaDb | undefined;
  try {
    sourceDb = await startSyncSource(pipeline, directory);
    const source = await rootConnection(sourceDb);
    const target = await rootConnection(pipeline.stack.mysql);
    try {
      let startedAt = Date.now();
      await seedSource(source, { rows: args.rows, seed: args.seed });
      console.log(
        `source: ${args.rows} customers and 676 countries seeded in ${Date.now() - startedAt} ms (dates, DATETIME(6), NULLs and empty strings, DECIMAL, utf8mb4, a 1 MB MEDIUMTEXT, BLOBs)`,
      );
      // A full copy upserts every source row; it deletes nothing. The demo starts from an empty
      // target so its counts are the source's.
      await target.query('DROP TABLE IF EXISTS customers, countries');
      await target
        .query("DELETE FROM etl_schema_version WHERE table_name IN ('customers', 'countries')")
        .catch(() => undefined);

      const stamp = Date.now().toString(36);
      const full = await runSync(pipeline, 'full', `local-sync-full-${stamp}`);
      print('full run', full, directory);
      startedAt = Date.now();
      const changes = await changeSource(source, { rows: args.rows, seed: args.seed, inserted: 500 });
      console.log(
        `\nsource changed: ${changes.updated} rows updated, ${changes.inserted} inserted (${Date.now() - startedAt} ms)`,
      );
      const incremental = await runSync(pipeline, 'incremental', `local-sync-incremental-${stamp}`);
      print('incremental run', incremental, directory);
      return [full, incremental].every(succeeded) ? 0 : 1;
    } finally {
      await source.end();
      await target.end();
    }
  } finally {
    await pipeline.stop();
    await sourceDb?.stop();
  }
}

function succeeded(outcome: SyncOutcome): boolean {
  return (
    outcome.status === 'SUCCEEDED' &&
    (outcome.report?.tables ?? []).every((table) => table.reconciliation.status === 'MATCHED')
  );
}

function print(title: string, outcome: SyncOutcome, directory: string): void {
  console.log(`\n${title}`);
  for (const line of syncSummary(outcome)) console.log(line);
  if (outcome.report !== undefined) {
    const file = join(directory, 'reports', `${outcome.runId}.json`);
    mkdirSync(join(directory, 'reports'), { recursive: true });
    writeFileSync(file, `${JSON.stringify(outcome.report, null, 2)}\n`);
    console.log(`report           ${file}`);
  }
}
