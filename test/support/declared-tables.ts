import { declareTable } from '#shared/core/table-declaration';
import { cloudfrontHourlyDeclaration } from '#shared/tables/cloudfront-hourly';

/**
 * A table with every declared type, the kind db-sync copies: DATE, DATETIME with and without
 * fractions, DECIMAL, utf8mb4 VARCHAR and TEXT, BLOB, NULLs and each empty-string rule.
 */
export const everyType = declareTable({
  name: 'every_type',
  key: ['id', 'code'],
  columns: [
    { name: 'id', type: 'bigint', unsigned: true },
    { name: 'code', type: 'varchar', length: 32, emptyString: { marker: '(empty)' } },
    { name: 'small', type: 'tinyint', nullable: true },
    { name: 'ratio', type: 'double', nullable: true },
    { name: 'price', type: 'decimal', precision: 12, scale: 2, nullable: true },
    { name: 'born_on', type: 'date', nullable: true },
    { name: 'created_at', type: 'datetime' },
    { name: 'updated_at_micros', type: 'datetime', fsp: 6, nullable: true },
    { name: 'title', type: 'varchar', length: 20, nullable: true, emptyString: 'keep' },
    { name: 'note', type: 'text', nullable: true, emptyString: 'null' },
    { name: 'body', type: 'mediumtext', nullable: true },
    { name: 'payload', type: 'blob', nullable: true },
  ],
});

/** The next version of the CloudFront aggregate: two columns added by version 2. */
export const cloudfrontHourlyV2 = declareTable({
  ...cloudfrontHourlyDeclaration,
  columns: [
    ...cloudfrontHourlyDeclaration.columns,
    { name: 'cached_requests', type: 'bigint', min: 0, since: 2, default: 0, comment: 'edge cache hits' },
    { name: 'top_edge', type: 'varchar', length: 32, nullable: true, since: 2 },
  ],
});
