import type { Dataset } from '../dataset';
import { TableDefinitionSchema } from '../table';
import { openCloudFrontSource } from './formats';
import { CloudFrontLineParser } from './parser';
import definition from './table.json';

const table = TableDefinitionSchema.parse(definition);

/**
 * CloudFront standard access logs: legacy standard logging (gzip TSV with #Version/#Fields headers)
 * and standard logging v2 to S3 (W3C, JSON lines, Parquet), recognised by content.
 */
export const cloudfront: Dataset = {
  name: 'cloudfront',
  table,
  timeColumn: 'request_time',
  createParser: (sourceFileId) => new CloudFrontLineParser(table, sourceFileId),
  openSource: (bytes, sourceFileId) => openCloudFrontSource(bytes, table, sourceFileId),
};
