import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { runSync, startSyncSource, syncSummary } from '#local/db-sync/run';
import { changeSource, LARGE_NOTES_BYTES, LARGE_NOTES_ID, seedSource } from '#local/db-sync/source';
import { type LocalPipeline, startLocalPipeline } from '#local/pipeline';
import type { LocalMariaDb } from '#local/services/mariadb';
import { rootConnection } from '../support/mariadb';

const ROWS = 3_000;
const SEED = 7;

/** The source's customers as the target should hold them: renamed, the dropped column left out, tier as text. */
const SOURCE_CUSTOMERS = `SELECT id, email, full_name AS display_name, birth_date, signed_up_at, balance, score,
  CAST(tier AS CHAR) AS tier, notes, avatar, updated_at FROM customers ORDER BY id`;
const TARGET_CUSTOMERS = `SELECT id, email, display_name, birth_date, signed_up_at, balance, score, tier, notes,
  avatar, updated_at FROM customers ORDER BY id`;
const COUNTRIES = 'SELECT code, name, changed_at FROM countries ORDER BY code';

async function rows(connection: Connection, sql: string): Promise<RowDataPacket[]> {
  const [result] = await connection.query<RowDataPacket[]>(sql);
  return result;
}

describe('db-sync end to end on the local stack (a second MariaDB as the source account)', () => {
  let pipeline: LocalPipeline;
  let sourceDb: LocalMariaDb;
  let work: string;
  let source: Connection;
  let target: Connection;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'db-sync-e2e-'));
    pipeline = await startLocalPipeline({
      directory: work,
      waitTimeScale: 0.01,
      workers: 0,
      // Small budgets so every loop of the machines runs more than once.
      environment: { LOG_LEVEL: 'warn', SYNC_PAGE_ROWS: '300', SYNC_ROWS_PER_INVOCATION: '1000' },
    });
    sourceDb = await startSyncSource(pipeline, work);
    source = await rootConnection(sourceDb);
    target = await rootConnection(pipeline.stack.mysql);
    await seedSource(source, { rows: ROWS, seed: SEED });
  }, 180_000);

  afterAll(async () => {
    await source?.end();
    await target?.end();
    await pipeline?.stop();
    await sourceDb?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * The first full copy, made once by whichever test needs it first: the first test checks it, the
   * incremental ones start from its watermarks (run alone, they make it).
   */
  let firstFullRun: ReturnType<typeof runSync> | undefined;
  const fullRun = () => (firstFullRun ??= runSync(pipeline, 'full', 'sync-full-1'));

  it('copies every row and every awkward value exactly in a full run, and reconciles both tables', async () => {
    const outcome = await fullRun();
    expect({ status: outcome.status, lines: syncSummary(outcome) }).toMatchObject({ status: 'SUCCEEDED' });
    const byTable = Object.fromEntries(outcome.report!.tables.map((table) => [table.table, table]));
    expect(byTable.customers?.rows).toEqual({ extracted: ROWS, staged: ROWS, written: ROWS });
    expect(byTable.customers?.reconciliation.status).toBe('MATCHED');
    expect(byTable.customers?.reconciliation.target.rows).toBe(ROWS);
    expect(byTable.countries?.reconciliation).toMatchObject({ status: 'MATCHED', target: { rows: 676 } });
    expect(await rows(target, TARGET_CUSTOMERS)).toEqual(await rows(source, SOURCE_CUSTOMERS));
    expect(await rows(target, COUNTRIES)).toEqual(await rows(source, COUNTRIES));
    const [large] = await rows(
      target,
      `SELECT LENGTH(notes) AS bytes FROM customers WHERE id = ${LARGE_NOTES_ID}`,
    );
    expect(Number(large?.bytes)).toBe(LARGE_NOTES_BYTES);
  }, 300_000);

  it('copies only the rows changed since the watermark in an incremental run', async () => {
    expect((await fullRun()).status).toBe('SUCCEEDED');
    const changes = await changeSource(source, { rows: ROWS, seed: SEED, inserted: 200 });
    const outcome = await runSync(pipeline, 'incremental', 'sync-incremental-1');
    expect({ status: outcome.status, lines: syncSummary(outcome) }).toMatchObject({ status: 'SUCCEEDED' });
    const extracted = outcome.report!.tables.reduce((sum, table) => sum + table.rows.extracted, 0);
    expect(extracted).toBe(changes.updated + changes.inserted);
    for (const table of outcome.report!.tables) expect(table.reconciliation.status).toBe('MATCHED');
    expect(await rows(target, TARGET_CUSTOMERS)).toEqual(await rows(source, SOURCE_CUSTOMERS));
    expect(await rows(target, COUNTRIES)).toEqual(await rows(source, COUNTRIES));

    const again = await runSync(pipeline, 'incremental', 'sync-incremental-2');
    expect(again.status).toBe('SUCCEEDED');
    expect(again.report!.tables.map((table) => table.rows.extracted)).toEqual([0, 0]);
  }, 300_000);

  it('fails a run naming the table and column of a value it cannot carry, loses nothing, and catches up after the fix', async () => {
    expect((await fullRun()).status).toBe('SUCCEEDED');
    await source.query("SET SESSION sql_mode = ''");
    await source.query(
      "UPDATE customers SET signed_up_at = '0000-00-00 00:00:00', updated_at = '2024-07-15 00:00:00' WHERE id = 7",
    );
    await source.query("UPDATE customers SET balance = 1.5, updated_at = '2024-07-15 00:00:00' WHERE id = 8");
    const failed = await runSync(pipeline, 'incremental', 'sync-poison');
    expect(failed.status).toBe('FAILED');
    expect(failed.report?.status).toBe('FAILED');
    expect(failed.report?.error?.cause).toMatch(/Table customers, column signed_up_at: MySQL's zero date/);

    await source.query("UPDATE customers SET signed_up_at = '2024-01-01 00:00:00.000001' WHERE id = 7");
    const fixed = await runSync(pipeline, 'incremental', 'sync-after-fix');
    expect({ status: fixed.status, lines: syncSummary(fixed) }).toMatchObject({ status: 'SUCCEEDED' });
    expect(fixed.report!.tables.find((table) => table.table === 'customers')?.rows.extracted).toBe(2);
    expect(await rows(target, TARGET_CUSTOMERS)).toEqual(await rows(source, SOURCE_CUSTOMERS));
  }, 300_000);
});
