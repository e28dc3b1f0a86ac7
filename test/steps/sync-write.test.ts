import type { SyncState } from '#shared/adapters/sync-state';
import type { StagedPage, TableStaging } from '#shared/adapters/table-staging';
import type { UpsertResult, WarehouseWriter } from '#shared/adapters/warehouse';
import { createLogger } from '#shared/core/log';
import { parseSyncConfig } from '#shared/core/sync-config';
import type { SyncCursor } from '#shared/core/sync-rows';
import type { TableRow } from '#shared/core/table-declaration';
import { rowKeyOf } from '#shared/core/table-values';
import { ledgerId, type SyncWriteInput, writeTable } from '#shared/steps/sync-write';

// Unit test of the write step alone: staging, writer and watermark are in-memory fakes here (the
// e2e test runs the same step against dynalite and MariaDB).
const [table] = parseSyncConfig({
  tables: [
    {
      source: 'items',
      watermark: 'updated_at',
      target: {
        name: 'items',
        key: ['id'],
        columns: [
          { name: 'id', type: 'int', min: 0 },
          { name: 'body', type: 'text' },
        ],
      },
    },
  ],
});
const log = createLogger({ level: 'error', write: () => undefined });
const rows: TableRow[] = Array.from({ length: 23 }, (_, id) => ({
  id,
  body: `row ${id} ${'x'.repeat(id * 10)}`,
}));

function fakes() {
  const keys = rows.map((row) => rowKeyOf(table!.declaration, row));
  const staging: TableStaging = {
    putRows: async () => ({ staged: 0, calls: 0, retries: 0 }),
    readPage: async (_partition, after, limit): Promise<StagedPage> => {
      const start = after === undefined ? 0 : keys.indexOf(after) + 1;
      const page = rows.slice(start, start + limit);
      const end = start + page.length;
      return { rows: page, lastKey: end < rows.length ? keys[end - 1] : undefined };
    },
  };
  const upserts: { ledger: string; ids: unknown[] }[] = [];
  const warehouse: WarehouseWriter = {
    ensureSchema: async () => undefined,
    upsert: async (ledger, batch): Promise<UpsertResult> => {
      upserts.push({ ledger, ids: batch.map((row) => (row as TableRow).id) });
      return { rows: batch.length, batches: 1, skippedBatches: 0 };
    },
    hoursSummary: async () => [],
    close: async () => undefined,
  };
  const advanced: SyncCursor[] = [];
  const state: SyncState = {
    watermark: async () => undefined,
    advance: async (_table, cursor) => {
      advanced.push(cursor);
    },
  };
  return { staging, warehouse, state, upserts, advanced };
}

const input: SyncWriteInput = {
  action: 'write',
  runId: 'run-1',
  table: 'items',
  extract: {
    from: null,
    cursor: { watermark: '2024-07-13 00:00:00', key: 22 },
    extracted: 23,
    invocations: 1,
    done: true,
  },
};
const settings = {
  pageRows: 4,
  rowsPerInvocation: 10,
  invocationBudgetMs: 60_000,
  chunkRows: 3,
  chunkBytes: 400,
};

describe('sync write step', () => {
  it('writes every staged row once across invocations, in chunks, and advances the watermark only at the end', async () => {
    const ports = fakes();
    let state = await writeTable(input, table!, settings, ports, log);
    expect(ports.advanced).toEqual([]);
    while (!state.done) state = await writeTable({ ...input, state }, table!, settings, ports, log);
    expect(ports.upserts.flatMap((upsert) => upsert.ids)).toEqual(rows.map((row) => row.id));
    expect(state.written).toBe(23);
    expect(ports.advanced).toEqual([input.extract.cursor]);
    expect(new Set(ports.upserts.map((upsert) => upsert.ledger)).size).toBe(ports.upserts.length);
  });

  it('cuts the same chunks under the same ledger ids when an invocation is retried', async () => {
    const first = fakes();
    const state = await writeTable(input, table!, settings, first, log);
    const retried = fakes();
    await writeTable(input, table!, settings, retried, log);
    expect(retried.upserts).toEqual(first.upserts);
    const next = fakes();
    await writeTable({ ...input, state }, table!, settings, next, log);
    expect(next.upserts[0]?.ledger).toBe(ledgerId('run-1', 'items', state.chunks));
  });

  it('hashes a ledger id longer than the ledger column', () => {
    expect(ledgerId('r', 'items', 3)).toBe('r/items/3');
    expect(ledgerId('r'.repeat(80), 't'.repeat(60), 3)).toMatch(/^sync:[0-9a-f]{64}$/);
  });
});
