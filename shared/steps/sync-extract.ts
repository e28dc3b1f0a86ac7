import * as z from 'zod';
import type { SyncSource } from '#shared/adapters/mysql-source';
import type { SyncState } from '#shared/adapters/sync-state';
import type { TableStaging } from '#shared/adapters/table-staging';
import type { Logger } from '#shared/core/log';
import { RunIdSchema } from '#shared/core/run-files';
import type { SyncTable } from '#shared/core/sync-config';
import {
  CURSOR_KEY,
  cursorOf,
  rowFromSource,
  SyncCursorSchema,
  SyncSourceRowError,
} from '#shared/core/sync-rows';
import { addRows, emptyChecksum, type TableChecksum } from '#shared/core/table-checksum';
import { TableNameSchema } from '#shared/steps/sync-plan';

/**
 * The db-sync extract (docs/db-sync.md): one table's changed rows, read from the source in keyset
 * pages and staged in DynamoDB under the run and the table. One invocation reads until its row or
 * time budget is spent and returns where it stopped; the state machine calls it again until done.
 */

export const SyncModeSchema = z.enum(['full', 'incremental']);
export type SyncMode = z.infer<typeof SyncModeSchema>;

/** Where one table's extract stands: the hand-off between invocations, and to the write step. */
export const ExtractStateSchema = z.object({
  /** The watermark the run started from (null: the whole table). */
  from: SyncCursorSchema.nullable(),
  /** The last row staged (null: none yet); the table's new watermark once the run is written. */
  cursor: SyncCursorSchema.nullable(),
  extracted: z.number().int().min(0),
  invocations: z.number().int().min(0),
  done: z.boolean(),
});
export type ExtractState = z.infer<typeof ExtractStateSchema>;

export const ExtractInputSchema = z.object({
  action: z.literal('extract'),
  runId: RunIdSchema,
  table: TableNameSchema,
  mode: SyncModeSchema,
  /** Absent on the first invocation for the table. */
  state: ExtractStateSchema.optional(),
});
export type ExtractInput = z.infer<typeof ExtractInputSchema>;

export interface ExtractSettings {
  /** Rows per source query (a keyset page). */
  pageRows: number;
  /** Rows one invocation reads at most before handing over to the next. */
  rowsPerInvocation: number;
  /** Milliseconds one invocation reads at most (well inside the function's timeout). */
  invocationBudgetMs: number;
}

/** The staging partition of one table of one run: the write step Queries it. */
export function stagingPartition(runId: string, table: string): string {
  return `sync#${runId}#${table}`;
}

/**
 * Reads the table's rows after the cursor page by page, converts each to the target's declared
 * values (a value that cannot be is a TableValueError naming table and column) and stages them.
 * Staging is keyed by run, table and row key: a retried invocation overwrites, and a row changed
 * twice during the run is staged once, in its last version.
 */
export async function extractTable(
  input: ExtractInput,
  table: SyncTable,
  settings: ExtractSettings,
  ports: { source: SyncSource; staging: TableStaging; state: SyncState },
  log: Logger,
  now: () => number = Date.now,
): Promise<ExtractState> {
  const startedAt = now();
  let state = input.state;
  if (state === undefined) {
    // A NULL watermark sorts before every value and fails every `>`: such a row would be copied
    // by a full run and then never again. Refused up front, before anything is staged.
    const nulls = await ports.source.nullWatermarks(table);
    if (nulls > 0) {
      throw new SyncSourceRowError(
        `Table ${table.sourceTable}, column ${table.watermark}: ${nulls} row(s) with a NULL watermark; an incremental copy would never see them`,
      );
    }
    const from = input.mode === 'full' ? null : ((await ports.state.watermark(table.name)) ?? null);
    state = { from, cursor: from, extracted: 0, invocations: 0, done: false };
  }
  const partition = stagingPartition(input.runId, table.name);
  let cursor = state.cursor;
  let extracted = state.extracted;
  let read = 0;
  let done = false;
  while (read < settings.rowsPerInvocation && now() - startedAt < settings.invocationBudgetMs) {
    const limit = Math.min(settings.pageRows, settings.rowsPerInvocation - read);
    const records = await ports.source.readChanged(table, cursor ?? undefined, limit);
    if (records.length > 0) {
      await ports.staging.putRows(
        partition,
        records.map((record) => rowFromSource(table, record)),
      );
      cursor = cursorOf(table, records[records.length - 1]!);
      read += records.length;
      extracted += records.length;
    }
    if (records.length < limit) {
      done = true;
      break;
    }
  }
  log.info('sync extract: rows staged', { table: table.name, rows: read, extracted, done });
  return { from: state.from, cursor, extracted, invocations: state.invocations + 1, done };
}

/** The order-independent checksum of the whole source table, as the target's declared values. */
export async function checksumSource(
  table: SyncTable,
  source: SyncSource,
  pageRows: number,
): Promise<TableChecksum> {
  let checksum = emptyChecksum();
  let after: string | number | undefined;
  for (;;) {
    const records = await source.readByKey(table, after, pageRows);
    checksum = addRows(
      table.declaration,
      checksum,
      records.map((record) => rowFromSource(table, record)),
    );
    if (records.length < pageRows) return checksum;
    const last = records[records.length - 1]![CURSOR_KEY];
    after = typeof last === 'number' ? last : String(last);
  }
}
