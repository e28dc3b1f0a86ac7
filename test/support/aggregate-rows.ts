import { mulberry32 } from '#local/sample/random';
import { type AggregateRow, AggregateRowSchema, EMPTY_HOST, rowKey } from '#shared/core/aggregate-row';
import { fromSqlRow } from '#shared/core/table-values';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';

export { mulberry32 };

const STATUSES = [0, 200, 204, 301, 304, 403, 404, 500, 502, 503];

/**
 * `count` distinct aggregate rows, seeded, spread over `hours`: host `-` (the empty-host rule)
 * among them, every 7th with null mean and p95, numbers up to millions. For round trips through
 * staging and the writer; `bench/aggregate-rows.ts` makes the realistic table for benchmarks.
 */
export function aggregateRows(
  count: number,
  seed: number,
  hours: readonly string[] = ['2024-07-13T05', '2024-07-13T06'],
): AggregateRow[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, index) => {
    const hostIndex = Math.floor(index / (hours.length * STATUSES.length));
    const requests = 1 + Math.floor(random() * 1_000_000);
    const timed = index % 7 !== 0;
    const mean = random() * 3;
    return {
      hour: hours[index % hours.length]!,
      host: hostIndex === 0 ? EMPTY_HOST : `h${hostIndex}.example.com`,
      status: STATUSES[Math.floor(index / hours.length) % STATUSES.length]!,
      requests,
      bytesSent: requests * Math.floor(random() * 200_000),
      clientErrors: Math.floor(random() * requests),
      serverErrors: Math.floor(random() * requests),
      meanTimeTaken: timed ? mean : null,
      p95TimeTaken: timed ? mean * (1 + random()) : null,
      distinctClientIps: Math.floor(random() * requests) + 1,
    };
  });
}

/** Rows in row-key order (the order staging returns them in). */
export const byKey = (rows: readonly AggregateRow[]): AggregateRow[] =>
  [...rows].sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));

/** A target-table row as the writer stored it: the aggregate row and its bookkeeping columns. */
export interface StoredRow extends AggregateRow {
  updatedAt: string;
  loadedByRun: string;
}

/** The target table's columns as `storedRow` reads them: the declared ones, then the writer's bookkeeping. */
export const STORED_COLUMNS = `${cloudfrontHourly.columns.map((column) => `\`${column.name}\``).join(', ')},
       updated_at, loaded_by_run`;

/**
 * One row of `SELECT ${STORED_COLUMNS}` (through `execute`, so DOUBLEs come bit for bit), read
 * back by the table's declaration: counts must come back as exact integers, or the read fails.
 */
export function storedRow(row: Record<string, unknown>): StoredRow {
  return {
    ...AggregateRowSchema.parse(fromSqlRow(cloudfrontHourly, row)),
    updatedAt: String(row.updated_at),
    loadedByRun: String(row.loaded_by_run),
  };
}
