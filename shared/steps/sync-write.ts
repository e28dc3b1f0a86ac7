import { createHash } from 'node:crypto';
import * as z from 'zod';
import type { SyncState } from '#shared/adapters/sync-state';
import type { TableStaging } from '#shared/adapters/table-staging';
import type { WarehouseWriter } from '#shared/adapters/warehouse';
import type { Logger } from '#shared/core/log';
import { RunIdSchema } from '#shared/core/run-files';
import type { SyncTable } from '#shared/core/sync-config';
import { addRows, emptyChecksum, type TableChecksum } from '#shared/core/table-checksum';
import type { TableRow } from '#shared/core/table-declaration';
import { RUN_ID_MAX_CHARS } from '#shared/core/table-sql';
import { fromSqlRow, rowKeyOf } from '#shared/core/table-values';
import { ExtractStateSchema, stagingPartition } from '#shared/steps/sync-extract';
import { TableNameSchema } from '#shared/steps/sync-plan';

/**
 * The db-sync write (docs/db-sync.md): one table's staged rows, read back with Query in key order
 * and upserted into the target by the warehouse writer (transactions, load ledger). Like the
 * extract, one invocation writes until its budget is spent and returns where it stopped; the last
 * one advances the table's watermark to where the extract stopped.
 */

export const WriteStateSchema = z.object({
  /** The last staged row key written (null: none yet). */
  after: z.string().nullable(),
  written: z.number().int().min(0),
  /** Chunks upserted so far: each chunk's ledger id is its number, the same on every retry. */
  chunks: z.number().int().min(0),
  invocations: z.number().int().min(0),
  done: z.boolean(),
});
export type WriteState = z.infer<typeof WriteStateSchema>;

export const SyncWriteInputSchema = z.object({
  action: z.literal('write'),
  runId: RunIdSchema,
  table: TableNameSchema,
  extract: ExtractStateSchema,
  state: WriteStateSchema.optional(),
});
export type SyncWriteInput = z.infer<typeof SyncWriteInputSchema>;

export interface SyncWriteSettings {
  /** Staged items per Query page. */
  pageRows: number;
  /** Rows one invocation writes at most before handing over to the next. */
  rowsPerInvocation: number;
  invocationBudgetMs: number;
  /** Rows per upsert (each a transaction with its ledger row), at most the writer's batch. */
  chunkRows: number;
  /** Value bytes per upsert: a 1 MB TEXT per row must not make one statement pass max_allowed_packet. */
  chunkBytes: number;
}

/**
 * Writes the table's staged rows after `state.after` to the target. Each chunk is one upsert with
 * its own ledger id (run, table, chunk number): a retried invocation starts from the same row key,
 * cuts the same chunks, and the ledger skips what already committed.
 */
export async function writeTable(
  input: SyncWriteInput,
  table: SyncTable,
  settings: SyncWriteSettings,
  ports: { staging: TableStaging; warehouse: WarehouseWriter; state: SyncState },
  log: Logger,
  now: () => number = Date.now,
): Promise<WriteState> {
  const startedAt = now();
  const state = input.state ?? { after: null, written: 0, chunks: 0, invocations: 0, done: false };
  await ports.warehouse.ensureSchema();
  const partition = stagingPartition(input.runId, table.name);
  let { after, written, chunks } = state;
  let pending: TableRow[] = [];
  let pendingBytes = 0;
  let lastRead: string | null = after;
  let done = false;
  let read = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await ports.warehouse.upsert(ledgerId(input.runId, table.name, chunks), pending, { log });
    chunks++;
    written += pending.length;
    after = lastRead;
    pending = [];
    pendingBytes = 0;
  };
  while (read < settings.rowsPerInvocation && now() - startedAt < settings.invocationBudgetMs) {
    const page = await ports.staging.readPage(partition, lastRead ?? undefined, settings.pageRows);
    for (const row of page.rows) {
      pending.push(row);
      pendingBytes += rowBytes(row);
      lastRead = rowKeyOf(table.declaration, row);
      read++;
      if (pending.length >= settings.chunkRows || pendingBytes >= settings.chunkBytes) await flush();
    }
    if (page.lastKey === undefined) {
      done = true;
      break;
    }
  }
  if (done || pending.length > 0) await flush();
  if (done && input.extract.cursor !== null) {
    await ports.state.advance(table.name, input.extract.cursor, input.runId);
  }
  log.info('sync write: rows upserted', { table: table.name, written, chunks, done });
  return { after, written, chunks, invocations: state.invocations + 1, done };
}

/** The ledger's run id of one chunk: run, table and chunk number (hashed when longer than the column). */
export function ledgerId(runId: string, table: string, chunk: number): string {
  const id = `${runId}/${table}/${chunk}`;
  if (id.length <= RUN_ID_MAX_CHARS) return id;
  return `sync:${createHash('sha256').update(id).digest('hex')}`;
}

/** A row's value bytes, roughly (text as UTF-16 units, numbers as 8): enough to bound a statement. */
function rowBytes(row: TableRow): number {
  let bytes = 0;
  for (const value of Object.values(row)) {
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength * 2;
    else bytes += 8;
  }
  return bytes;
}

/** The order-independent checksum of the whole target table, from its declared columns. */
export async function checksumTarget(
  table: SyncTable,
  warehouse: {
    readByKey(after: string | number | undefined, pageRows: number): Promise<Record<string, unknown>[]>;
  },
  pageRows: number,
): Promise<TableChecksum> {
  let checksum = emptyChecksum();
  let after: string | number | undefined;
  for (;;) {
    const records = await warehouse.readByKey(after, pageRows);
    const rows = records.map((record) => fromSqlRow(table.declaration, record));
    checksum = addRows(table.declaration, checksum, rows);
    if (records.length < pageRows) return checksum;
    const last = rows[rows.length - 1]![table.key.column.field];
    after = typeof last === 'number' ? last : String(last);
  }
}
