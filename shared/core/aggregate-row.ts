import { type CloudfrontHourlyRow, cloudfrontHourly } from '#shared/tables/cloudfront-hourly';
import { columnNamed } from './table-declaration';
import { fixedKeyChars, rowKeyOf, rowSchema } from './table-values';

/**
 * One row of the hourly aggregate: per (hour, host, status). Declared once in
 * `shared/tables/cloudfront-hourly.ts`; this module names what the pipeline's steps use of it.
 */
export type AggregateRow = CloudfrontHourlyRow;
export const AggregateRowSchema = rowSchema<AggregateRow>(cloudfrontHourly);

const host = columnNamed(cloudfrontHourly, 'host');

/** What a missing or empty host is staged and stored as (the host column's emptyString marker). */
export const EMPTY_HOST =
  host.type === 'varchar' && typeof host.emptyString === 'object' ? host.emptyString.marker : '-';

/**
 * Limits of the aggregate's `host` key, set by the systems that hold it: MySQL's `VARCHAR(255)`
 * counts characters; DynamoDB caps a sort key at 1,024 bytes and `rowKey` adds the fixed-width
 * parts (`YYYY-MM-DDTHH#` and `#NNN`) to the host. The transform quarantines a row whose host
 * breaks either, so no later step meets one.
 */
export const HOST_MAX_CHARS = host.type === 'varchar' ? host.length : 255;
export const HOST_MAX_BYTES = 1_024 - fixedKeyChars(cloudfrontHourly);

/** The staging sort key: unique per row within a run, and sortable by hour. */
export function rowKey(row: Pick<AggregateRow, 'hour' | 'host' | 'status'>): string {
  return rowKeyOf(cloudfrontHourly, row);
}
