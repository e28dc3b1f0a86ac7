import type { Dataset } from '../dataset';
import { TableDefinitionSchema } from '../table';
import { CloudFrontLineParser } from './parser';
import definition from './table.json';

const table = TableDefinitionSchema.parse(definition);

/** CloudFront standard access logs (legacy standard logging: gzip TSV with #Version/#Fields headers). */
export const cloudfront: Dataset = {
  name: 'cloudfront',
  table,
  timeColumn: 'request_time',
  createParser: (sourceFileId) => new CloudFrontLineParser(table, sourceFileId),
};
