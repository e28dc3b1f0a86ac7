import * as z from 'zod';
import { EtlError } from './errors';
import type { SyncTable } from './sync-config';
import type { TableRow } from './table-declaration';
import { fromSqlValue } from './table-values';

/**
 * Where a db-sync extract stands in a source table (docs/db-sync.md#keyset-pages): the last row
 * read, as its watermark and key values came from MySQL. The next page starts after it:
 * `WHERE watermark > ? OR (watermark = ? AND key > ?) ORDER BY watermark, key`.
 */
export const SyncCursorSchema = z.object({
  watermark: z.union([z.string(), z.number()]),
  key: z.union([z.string(), z.number()]),
});
export type SyncCursor = z.infer<typeof SyncCursorSchema>;

/** A source row cannot be copied (a NULL watermark: an incremental copy would never see it). */
export class SyncSourceRowError extends EtlError {}

/** The names under which a source page's watermark and key come back beside the columns. */
export const CURSOR_WATERMARK = '__sync_watermark';
export const CURSOR_KEY = '__sync_key';

/**
 * A source record (by source column, as mysql2 reads it: `dateStrings`, `bigNumberStrings`) → the
 * target row (by field), each value converted to its declared column by the declared rules;
 * a value that cannot be is a TableValueError naming the target table and column.
 */
export function rowFromSource(table: SyncTable, record: Readonly<Record<string, unknown>>): TableRow {
  const row: TableRow = {};
  for (const { source, column } of table.columns) {
    row[column.field] = fromSqlValue(table.declaration, column, record[source]);
  }
  return row;
}

/** The cursor after a source record read with its watermark and key (see CURSOR_WATERMARK). */
export function cursorOf(table: SyncTable, record: Readonly<Record<string, unknown>>): SyncCursor {
  const watermark = record[CURSOR_WATERMARK];
  const key = record[CURSOR_KEY];
  if (watermark === null || watermark === undefined) {
    throw new SyncSourceRowError(
      `Table ${table.sourceTable}, column ${table.watermark}: NULL in the watermark column (row ${String(key)}); an incremental copy would never see the row`,
    );
  }
  return {
    watermark: typeof watermark === 'number' ? watermark : String(watermark),
    key: typeof key === 'number' ? key : String(key),
  };
}
