import type { Dataset } from '../dataset';
import { openCloudFrontSource } from './formats';
import { CloudFrontLineParser } from './parser';
import { cloudfrontTable as table } from './table';

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
