import type { SyncSource } from '#shared/adapters/mysql-source';
import type { SyncState } from '#shared/adapters/sync-state';
import type { TableStaging } from '#shared/adapters/table-staging';
import { createLogger } from '#shared/core/log';
import { parseSyncConfig } from '#shared/core/sync-config';
import { CURSOR_KEY, CURSOR_WATERMARK, SyncSourceRowError } from '#shared/core/sync-rows';
import type { TableRow } from '#shared/core/table-declaration';
import { type ExtractInput, extractTable } from '#shared/steps/sync-extract';

// Unit test of the extract step alone: source, staging and watermark are in-memory fakes here
// (the e2e test runs the same step against MariaDB and dynalite).
const [table] = parseSyncConfig({
  tables: [
    {
      source: 'items',
      watermark: 'changed',
      target: { name: 'items', key: ['id'], columns: [{ name: 'id', type: 'int', min: 0 }] },
    },
  ],
});
const log = createLogger({ level: 'error', write: () => undefined });
// Three rows per watermark value: pages must break ties on the key.
const records = Array.from({ length: 10 }, (_, id) => ({ id, changed: Math.floor(id / 3) }));

function fakes(nulls = 0, watermark?: { watermark: number; key: number }) {
  const staged: TableRow[] = [];
  const source: SyncSource = {
    readChanged: async (_table, after, limit) =>
      records
        .filter(
          (record) =>
            after === undefined ||
            record.changed > Number(after.watermark) ||
            (record.changed === Number(after.watermark) && record.id > Number(after.key)),
        )
        .slice(0, limit)
        .map((record) => ({ ...record, [CURSOR_WATERMARK]: record.changed, [CURSOR_KEY]: record.id })),
    readByKey: async () => [],
    nullWatermarks: async () => nulls,
    close: async () => undefined,
  };
  const staging: TableStaging = {
    putRows: async (_partition, rows) => {
      staged.push(...rows);
      return { staged: rows.length, calls: 1, retries: 0 };
    },
    readPage: async () => ({ rows: [], lastKey: undefined }),
  };
  const state: SyncState = { watermark: async () => watermark, advance: async () => undefined };
  return { source, staging, state, staged };
}

const input: ExtractInput = { action: 'extract', runId: 'run-1', table: 'items', mode: 'incremental' };
const settings = { pageRows: 2, rowsPerInvocation: 4, invocationBudgetMs: 60_000 };

describe('sync extract step', () => {
  it('stages every row after the watermark once, across invocations, ties on the watermark broken by the key', async () => {
    const ports = fakes(0, { watermark: 1, key: 4 });
    let state = await extractTable(input, table!, settings, ports, log);
    expect(state).toMatchObject({ from: { watermark: 1, key: 4 }, extracted: 4, done: false });
    while (!state.done) state = await extractTable({ ...input, state }, table!, settings, ports, log);
    expect(ports.staged.map((row) => row.id)).toEqual([5, 6, 7, 8, 9]);
    expect(state.cursor).toEqual({ watermark: 3, key: 9 });
  });

  it('reads from the start in full mode, whatever the watermark', async () => {
    const ports = fakes(0, { watermark: 3, key: 9 });
    let state = await extractTable({ ...input, mode: 'full' }, table!, settings, ports, log);
    while (!state.done) state = await extractTable({ ...input, state }, table!, settings, ports, log);
    expect(ports.staged).toHaveLength(10);
    expect(state.from).toBeNull();
  });

  it('refuses a source with NULL watermarks, naming the table and column, before staging anything', async () => {
    const ports = fakes(2);
    await expect(extractTable(input, table!, settings, ports, log)).rejects.toThrow(SyncSourceRowError);
    await expect(extractTable(input, table!, settings, ports, log)).rejects.toThrow(
      'Table items, column changed: 2 row(s) with a NULL watermark',
    );
    expect(ports.staged).toEqual([]);
  });
});
