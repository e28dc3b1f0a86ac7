import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type LocalPipeline, runWindow, seedSource, sourceOf, startLocalPipeline } from '#local/pipeline';
import { S3ObjectStore } from '#shared/adapters/object-store';
import {
  jsonLinesText,
  LEGACY_FIELDS,
  type LogRecord,
  parquetBytes,
  w3cText,
} from '../support/cloudfront-logs';

/** `count` requests in `hour` of 2024-07-13, 100 bytes each, in v2's field selection. */
function requests(hour: string, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    ...Object.fromEntries(LEGACY_FIELDS.map((field) => [field, '-'])),
    date: '2024-07-13',
    time: `${hour}:${String(10 + index).padStart(2, '0')}:00`,
    'x-edge-location': 'FRA56-P1',
    'sc-bytes': '100',
    'c-ip': `192.0.2.${index}`,
    'cs-method': 'GET',
    'cs(Host)': 'd1111abcdef8.cloudfront.net',
    'cs-uri-stem': '/v2',
    'sc-status': '200',
    'x-edge-request-id': `v2-${hour}-${index}`,
    'x-host-header': 'v2.example.com',
    'time-taken': '0.010',
    DistributionId: 'E2EXAMPLE1',
    'c-country': 'DE',
  }));
}

const V2_FIELDS = ['DistributionId', ...LEGACY_FIELDS, 'c-country'];

describe.each(['insert', 'load-data'] as const)(
  'CloudFront standard logging v2 deliveries end to end in bulk mode %s (partitioned paths, W3C, JSON lines, Parquet)',
  (bulkMode) => {
    let pipeline: LocalPipeline;
    let work: string;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'etl-e2e-v2-'));
      // A fresh import of the handlers per mode: the write function reads its own WAREHOUSE_BULK_MODE.
      jest.resetModules();
      pipeline = await startLocalPipeline({
        directory: join(work, 'stack'),
        waitTimeScale: 0.01,
        environment: { LOG_LEVEL: 'error', WAREHOUSE_BULK_MODE: bulkMode },
      });
    }, 120_000);

    afterAll(async () => {
      await pipeline?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('selects v2 files by their partition folders and lands every row in MySQL by its own hour', async () => {
      const source = join(work, 'source');
      const put = (path: string, body: Buffer | string) => {
        mkdirSync(dirname(join(source, path)), { recursive: true });
        writeFileSync(join(source, path), body);
      };
      // Names without an hour: the folders carry it (Hive-compatible, and plain {yyyy}/{MM}/{dd}/{HH}).
      put(
        'DistributionId=E2EXAMPLE1/year=2024/month=07/day=13/hour=01/a1b2.parquet',
        await parquetBytes(requests('01', 4), V2_FIELDS),
      );
      put('E2EXAMPLE1/2024/07/13/02/c3d4.json.gz', gzipSync(jsonLinesText(requests('02', 3), V2_FIELDS)));
      put('E2EXAMPLE1/2024/07/13/03/e5f6.log.gz', gzipSync(w3cText(requests('03', 2), V2_FIELDS)));
      // Outside the window and its lookback: not taken.
      put(
        'DistributionId=E2EXAMPLE1/year=2024/month=07/day=14/hour=09/g7h8.parquet',
        await parquetBytes(requests('09', 5), V2_FIELDS),
      );

      const store = new S3ObjectStore(pipeline.stack.clients.s3);
      expect(await seedSource(store, sourceOf(pipeline.environment), source)).toBe(4);
      const outcome = await runWindow(
        pipeline,
        { from: '2024-07-13T00', to: '2024-07-13T06' },
        'e2e-v2-formats',
      );

      expect(outcome.status).toBe('SUCCEEDED');
      expect(outcome.report?.files).toEqual({ total: 3, transformed: 3, quarantined: 0 });
      expect(outcome.report?.rows).toEqual({ read: 9, accepted: 9, quarantined: 0, inQuarantinedFiles: 0 });
      expect(outcome.report?.hours.map(({ hour, requests, bytes }) => ({ hour, requests, bytes }))).toEqual([
        { hour: '2024-07-13T01', requests: 4, bytes: 400 },
        { hour: '2024-07-13T02', requests: 3, bytes: 300 },
        { hour: '2024-07-13T03', requests: 2, bytes: 200 },
      ]);
    }, 180_000);
  },
);
