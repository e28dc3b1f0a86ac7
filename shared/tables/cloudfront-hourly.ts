import { declareTable, type RowOf } from '#shared/core/table-declaration';

/**
 * The hourly aggregate of the CloudFront logs, declared once (docs/tables.md): what the Athena
 * query returns (`sql/hourly_aggregate.sql`, result columns named as the fields in snake_case), what
 * the staging table holds per row, and the warehouse table `cloudfront_hourly` (primary key:
 * hour_start, host, status). Adding a column: declare it with `since` set to the next version
 * (and a `default` if it is NOT NULL); the writer's migration adds it to existing tables.
 */
export const cloudfrontHourlyDeclaration = {
  name: 'cloudfront_hourly',
  description: 'CloudFront requests per (hour, host, status)',
  key: ['hour_start', 'host', 'status'],
  columns: [
    { name: 'hour_start', field: 'hour', type: 'hour', comment: 'UTC start of the hour' },
    {
      // DynamoDB rejects empty strings in key attributes and the staging key embeds the host: a
      // missing host is `-`, CloudFront's own null marker, everywhere.
      name: 'host',
      type: 'varchar',
      length: 255,
      emptyString: { marker: '-' },
    },
    { name: 'status', type: 'smallint', min: 0, max: 999, meaning: 'an HTTP status' },
    { name: 'requests', type: 'bigint', min: 0 },
    { name: 'bytes_sent', type: 'bigint', min: 0 },
    /** Requests with status 400–499. */
    { name: 'client_errors', type: 'bigint', min: 0 },
    /** Requests with status 500–599 (and 000: no response sent). */
    { name: 'server_errors', type: 'bigint', min: 0 },
    /** Null when no row of the group has a time-taken. */
    { name: 'mean_time_taken', type: 'double', min: 0, nullable: true, comment: 'seconds' },
    { name: 'p95_time_taken', type: 'double', min: 0, nullable: true, comment: 'seconds' },
    { name: 'distinct_client_ips', type: 'bigint', min: 0 },
  ],
} as const;

export const cloudfrontHourly = declareTable(cloudfrontHourlyDeclaration);
export type CloudfrontHourlyRow = RowOf<typeof cloudfrontHourlyDeclaration>;
