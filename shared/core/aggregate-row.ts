import { z } from 'zod';

/**
 * One row of the hourly aggregate: per (hour, host, status). This is what the Athena query returns,
 * what the staging table holds (one item per row, keyed by run id and `rowKey`), and what the
 * writer upserts into MySQL (primary key: hour_start, host, status).
 *
 * Empty strings: DynamoDB rejects them in key attributes and the row key embeds `host`, so a
 * missing or empty host is stored as `-`, CloudFront's own null marker, everywhere.
 */
export const AggregateRowSchema = z.object({
  /** Start of the hour, `YYYY-MM-DDTHH` (UTC). */
  hour: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}$/),
  host: z.string().min(1),
  status: z.number().int().min(0).max(999),
  requests: z.number().int().nonnegative(),
  bytesSent: z.number().int().nonnegative(),
  /** Requests with status 400–499. */
  clientErrors: z.number().int().nonnegative(),
  /** Requests with status 500–599 (and 000: no response sent). */
  serverErrors: z.number().int().nonnegative(),
  /** Seconds; null when no row of the group has a time-taken. */
  meanTimeTaken: z.number().nonnegative().nullable(),
  p95TimeTaken: z.number().nonnegative().nullable(),
  distinctClientIps: z.number().int().nonnegative(),
});
export type AggregateRow = z.infer<typeof AggregateRowSchema>;

export const EMPTY_HOST = '-';

/**
 * Limits of the aggregate's `host` key, set by the systems that hold it: MySQL's `VARCHAR(255)`
 * counts characters; DynamoDB caps a sort key at 1,024 bytes and `rowKey` adds 18 to the host
 * (`YYYY-MM-DDTHH#` and `#NNN`). The transform quarantines a row whose host breaks either, so no
 * later step meets one.
 */
export const HOST_MAX_CHARS = 255;
export const HOST_MAX_BYTES = 1_024 - 'YYYY-MM-DDTHH#'.length - '#000'.length;

/** The staging sort key: unique per row within a run, and sortable by hour. */
export function rowKey(row: Pick<AggregateRow, 'hour' | 'host' | 'status'>): string {
  return `${row.hour}#${row.host}#${String(row.status).padStart(3, '0')}`;
}
