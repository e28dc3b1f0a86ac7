import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAX_LINE_BYTES } from '#shared/core/lines';
import {
  FIXTURES,
  jsonLinesText,
  LEGACY_FIELDS,
  type LogRecord,
  parquetBytes,
  readRecords,
  w3cText,
} from '../support/cloudfront-logs';
import { type TransformRun, transformHarness, withoutSource } from '../support/transform-harness';

/** The curated rows of the fixtures' three requests, as DuckDB reads them back. */
const EXPECTED: Record<string, unknown>[] = [
  {
    request_time: '2024-07-13 01:02:03',
    edge_location: 'FRA56-P1',
    sc_bytes: '1532',
    client_ip: '198.51.100.7',
    cs_method: 'GET',
    cs_host: 'd1111abcdef8.cloudfront.net',
    cs_uri_stem: '/docs/a b.html',
    sc_status: 200,
    cs_referer: 'https://example.com/search?q=a%20b',
    cs_user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
    cs_uri_query: 'lang=en&q=café',
    cs_cookie: 'session=abc',
    edge_result_type: 'Hit',
    edge_request_id: 'r1-Qx7yZ0a==',
    host_header: 'www.example.com',
    cs_protocol: 'https',
    cs_bytes: '312',
    time_taken: 0.002,
    forwarded_for: null,
    ssl_protocol: 'TLSv1.3',
    ssl_cipher: 'TLS_AES_128_GCM_SHA256',
    edge_response_result_type: 'Hit',
    cs_protocol_version: 'HTTP/2.0',
    fle_status: 'Processed',
    fle_encrypted_fields: 2,
    client_port: 50412,
    time_to_first_byte: 0.001,
    edge_detailed_result_type: 'Hit',
    sc_content_type: 'text/html',
    sc_content_len: '1200',
    sc_range_start: null,
    sc_range_end: null,
  },
  {
    request_time: '2024-07-13 01:15:40',
    edge_location: 'IAD89-C2',
    sc_bytes: '0',
    client_ip: '2001:db8::1',
    cs_method: 'POST',
    cs_host: 'd1111abcdef8.cloudfront.net',
    cs_uri_stem: '/api/v1/items',
    sc_status: 0,
    cs_referer: null,
    cs_user_agent: 'curl%20test',
    cs_uri_query: null,
    cs_cookie: null,
    edge_result_type: 'Error',
    edge_request_id: 'r2-Bb3cD1e==',
    host_header: 'api.example.com',
    cs_protocol: 'https',
    cs_bytes: '5000',
    time_taken: 12.345,
    forwarded_for: ['203.0.113.9', '198.51.100.2'],
    ssl_protocol: 'TLSv1.2',
    ssl_cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
    edge_response_result_type: 'Error',
    cs_protocol_version: 'HTTP/1.1',
    fle_status: null,
    fle_encrypted_fields: null,
    client_port: 443,
    time_to_first_byte: 0.25,
    edge_detailed_result_type: 'ClientCommError',
    sc_content_type: null,
    sc_content_len: null,
    sc_range_start: '0',
    sc_range_end: '1023',
  },
  {
    request_time: '2024-07-13 02:59:59',
    edge_location: 'NRT57-P3',
    sc_bytes: '48213',
    client_ip: '192.0.2.44',
    cs_method: 'GET',
    cs_host: 'd1111abcdef8.cloudfront.net',
    cs_uri_stem: '/img/图.png',
    sc_status: 206,
    cs_referer: null,
    cs_user_agent: 'Mozilla/5.0 (iPhone)',
    cs_uri_query: null,
    cs_cookie: null,
    edge_result_type: 'Miss',
    edge_request_id: 'r3-Zz9yX8w==',
    host_header: 'www.example.com',
    cs_protocol: 'https',
    cs_bytes: '280',
    time_taken: 0.04,
    forwarded_for: ['192.0.2.200'],
    ssl_protocol: 'TLSv1.3',
    ssl_cipher: 'TLS_AES_256_GCM_SHA384',
    edge_response_result_type: 'Miss',
    cs_protocol_version: 'HTTP/3.0',
    fle_status: null,
    fle_encrypted_fields: null,
    client_port: 61000,
    time_to_first_byte: 0.031,
    edge_detailed_result_type: 'Miss',
    sc_content_type: 'image/png',
    sc_content_len: '48000',
    sc_range_start: '0',
    sc_range_end: '47999',
  },
];

/** Columns of the fields after the 24th and after the 26th legacy field: null in older generations. */
const AFTER_24 = ['fle_status', 'fle_encrypted_fields'];
const AFTER_26 = [
  'client_port',
  'time_to_first_byte',
  'edge_detailed_result_type',
  'sc_content_type',
  'sc_content_len',
  'sc_range_start',
  'sc_range_end',
];

/** EXPECTED with only `kept` columns (and the time) filled, every other column null. */
function expectedWith(kept: readonly string[]): Record<string, unknown>[] {
  return EXPECTED.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([column, value]) => [
        column,
        column === 'request_time' || kept.includes(column) ? value : null,
      ]),
    ),
  );
}

function expectedWithout(nulled: readonly string[]): Record<string, unknown>[] {
  return expectedWith(Object.keys(EXPECTED[0]!).filter((column) => !nulled.includes(column)));
}

const fixture = (name: string) => readFileSync(join(FIXTURES, name));

describe('CloudFront formats through the transform (local S3, curated Parquet read back by DuckDB)', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  let records: LogRecord[];
  const V2_FIELDS = [
    'timestamp(ms)',
    'DistributionId',
    ...LEGACY_FIELDS,
    'c-country',
    'asn',
    'cache-behavior-path-pattern',
  ];

  beforeAll(async () => {
    harness = await transformHarness();
    records = readRecords('v2.jsonl');
  });
  afterAll(() => harness.stop());

  async function expectRows(run: TransformRun, expected: Record<string, unknown>[]) {
    expect(run.result.status).toBe('transformed');
    expect(run.result.rows).toEqual({ read: expected.length, accepted: expected.length, quarantined: 0 });
    expect((await run.rows()).map(withoutSource)).toEqual(expected);
    expect(await run.quarantine()).toEqual([]);
  }

  describe('legacy standard logging (W3C)', () => {
    it('reads the 24-field generation: columns of later fields are null, not an error', async () => {
      await expectRows(
        await harness.run('legacy-24.log', fixture('legacy-24.log')),
        expectedWithout([...AFTER_24, ...AFTER_26]),
      );
    });

    it('reads the 26-field generation (adds the field-level-encryption fields)', async () => {
      await expectRows(
        await harness.run('legacy-26.log', fixture('legacy-26.log')),
        expectedWithout(AFTER_26),
      );
    });

    it('reads the 33-field generation with a tab-separated #Fields, CRLF, a trailing empty field and no final newline', async () => {
      const body = fixture('legacy-33-tab-header-crlf.log');
      expect(body.includes('\r\n')).toBe(true);
      expect(body.subarray(-2).toString()).toBe('9\t'); // the stray tab ends the file: no newline
      await expectRows(await harness.run('legacy-33.log', body), EXPECTED);
    });

    it('reads any subset of fields in any order, by the file’s own #Fields', async () => {
      const run = await harness.run('subset.log', fixture('subset-reordered.log'));
      await expectRows(
        run,
        expectedWith([
          'cs_uri_stem',
          'sc_status',
          'client_ip',
          'cs_user_agent',
          'time_taken',
          'forwarded_for',
          'sc_bytes',
        ]),
      );
    });

    it('reads the same file plain, gzip-compressed and as multi-member gzip, whatever its name says', async () => {
      const text = fixture('legacy-33-tab-header-crlf.log');
      const cut = text.indexOf('\n', text.indexOf('2024-07-13')) + 1; // after the first row
      const members = Buffer.concat([gzipSync(text.subarray(0, cut)), gzipSync(text.subarray(cut))]);
      await expectRows(await harness.run('E1.2024-07-13-01.plain', text), EXPECTED);
      await expectRows(await harness.run('E1.2024-07-13-01.abc.gz', gzipSync(text)), EXPECTED);
      await expectRows(await harness.run('E1.2024-07-13-01.members.gz', members), EXPECTED);
      await expectRows(await harness.run('gzip-named-as-text.log', gzipSync(text)), EXPECTED);
    });
  });

  describe('standard logging v2 (W3C, JSON lines, Parquet)', () => {
    it('reads v2 W3C with its extra fields (not kept by the table) and the legacy field names', async () => {
      await expectRows(
        await harness.run('v2/E2EXAMPLE1.2024-07-13-01.w3c.log', fixture('v2-w3c.log')),
        EXPECTED,
      );
      await expectRows(
        await harness.run('v2/E2EXAMPLE1.2024-07-13-01.w3c.gz', gzipSync(fixture('v2-w3c.log'))),
        EXPECTED,
      );
    });

    it('reads v2 W3C with a | delimiter, real-time field spellings and the time from timestamp(ms)', async () => {
      const run = await harness.run('v2-pipe.log', fixture('v2-w3c-timestamp-pipe.log'));
      await expectRows(
        run,
        expectedWith([
          'client_ip',
          'cs_method',
          'cs_host',
          'cs_uri_stem',
          'sc_status',
          'cs_user_agent',
          'cs_referer',
          'time_taken',
        ]),
      );
    });

    it('reads v2 W3C with a space delimiter, and with the time from timestamp (epoch seconds)', async () => {
      const single = records.map((record) => ({
        ...record,
        'x-forwarded-for': record['x-forwarded-for']!.replace(', ', ','),
      }));
      await expectRows(
        await harness.run('v2-space.log', w3cText(single, V2_FIELDS, { delimiter: ' ' })),
        EXPECTED,
      );

      const seconds = records.map((record) => ({
        ...record,
        timestamp: `${Number(record['timestamp(ms)']) / 1000}.000`,
      }));
      const fields = ['timestamp', 'c-ip', 'sc-status', 'time-taken'];
      await expectRows(
        await harness.run('v2-seconds.log', w3cText(seconds, fields)),
        expectedWith(['client_ip', 'sc_status', 'time_taken']),
      );
    });

    it('reads v2 JSON lines (keys are field names), plain and gzip-compressed', async () => {
      await expectRows(await harness.run('v2/E2EXAMPLE1.2024-07-13-01.json', fixture('v2.jsonl')), EXPECTED);
      await expectRows(
        await harness.run('v2/E2EXAMPLE1.2024-07-13-01.json.gz', gzipSync(fixture('v2.jsonl'))),
        EXPECTED,
      );
    });

    it('reads JSON lines with typed values: numbers, JSON null and a list for x-forwarded-for', async () => {
      const typed = records.map((record) => {
        const json: Record<string, unknown> = { ...record };
        for (const field of ['sc-bytes', 'sc-status', 'cs-bytes', 'time-taken', 'c-port', 'timestamp(ms)']) {
          json[field] = Number(record[field]);
        }
        for (const [field, value] of Object.entries(json)) if (value === '-') json[field] = null;
        const forwarded = record['x-forwarded-for']!;
        json['x-forwarded-for'] = forwarded === '-' ? null : forwarded.split(',').map((part) => part.trim());
        return JSON.stringify(json);
      });
      await expectRows(await harness.run('v2-typed.jsonl', `${typed.join('\n')}\n`), EXPECTED);
    });

    it('normalises a v2 Parquet file through its columns (strings, as CloudFront writes them)', async () => {
      const parquet = await parquetBytes(records, V2_FIELDS);
      expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
      await expectRows(await harness.run('v2/E2EXAMPLE1.2024-07-13-01.parquet', parquet), EXPECTED);
    });

    it('normalises typed Parquet columns (BIGINT, INTEGER, DOUBLE, DATE, a list) to the same rows', async () => {
      const parquet = await parquetBytes(records, V2_FIELDS, { typed: true });
      await expectRows(await harness.run('v2-typed.parquet', parquet), EXPECTED);
    });

    it('takes the time of a Parquet file without date/time columns from timestamp_ms', async () => {
      const fields = ['timestamp(ms)', 'c-ip', 'sc-status', 'x-forwarded-for'];
      await expectRows(
        await harness.run('v2-timestamp.parquet', await parquetBytes(records, fields)),
        expectedWith(['client_ip', 'sc_status', 'forwarded_for']),
      );
    });

    it('reads a Parquet file of many row groups (decoded in bounded batches) in full', async () => {
      const many: LogRecord[] = [];
      for (let index = 0; index < 20_000; index++) {
        const record = records[index % 3]!;
        const second = String(index % 60).padStart(2, '0');
        many.push({
          ...record,
          time: `01:${String(Math.floor(index / 60) % 60).padStart(2, '0')}:${second}`,
        });
      }
      const parquet = await parquetBytes(many, V2_FIELDS, { rowGroupRows: 3_000 });
      const run = await harness.run('v2-many.parquet', parquet);
      expect(run.result.rows).toEqual({ read: 20_000, accepted: 20_000, quarantined: 0 });
      expect(run.result.hours).toEqual(['2024-07-13T01']);
      const rows = await run.rows();
      expect(rows).toHaveLength(20_000);
      expect(rows.filter((row) => row.sc_status === 0)).toHaveLength(6_667);
    });
  });

  describe('format detection and whole-file problems', () => {
    it('recognises the format by content, not by name', async () => {
      await expectRows(await harness.run('json-named.log', fixture('v2.jsonl')), EXPECTED);
      await expectRows(
        await harness.run('parquet-named.gz', await parquetBytes(records, V2_FIELDS)),
        EXPECTED,
      );
      await expectRows(await harness.run('w3c-named.parquet', fixture('v2-w3c.log')), EXPECTED);
      await expectRows(
        await harness.run('w3c-named.json', fixture('legacy-24.log')),
        expectedWithout([...AFTER_24, ...AFTER_26]),
      );
    });

    it('quarantines a Parquet file without date/time or timestamp columns whole', async () => {
      const run = await harness.run('no-time.parquet', await parquetBytes(records, ['c-ip', 'sc-status']));
      expect(run.result.status).toBe('quarantined');
      expect(run.result.reason).toMatch(/Parquet columns lack date and time/);
    });

    it('quarantines a truncated Parquet file whole and publishes none of its rows', async () => {
      const parquet = await parquetBytes(records, V2_FIELDS);
      const run = await harness.run('truncated.parquet', parquet.subarray(0, Math.floor(parquet.length / 2)));
      expect(run.result.status).toBe('quarantined');
      expect(run.result.reason).toMatch(/Parquet/);
      expect(run.result.hours).toEqual([]);
    });

    it('quarantines a Parquet file with a corrupt data page whole (invalid UTF-8 in a string column)', async () => {
      const parquet = await parquetBytes(records, V2_FIELDS, { uncompressed: true });
      const at = parquet.indexOf('r2-Bb3cD1e==');
      expect(at).toBeGreaterThan(0);
      parquet.fill(0xff, at, at + 4);
      const run = await harness.run('corrupt-page.parquet', parquet);
      expect(run.result.status).toBe('quarantined');
      expect(run.result.reason).toMatch(/UTF-8/);
      expect(run.result.hours).toEqual([]);
    });

    it('quarantines a Parquet row whose value does not fit, with its row number and values', async () => {
      const bad = records.map((record, index) => (index === 1 ? { ...record, 'sc-bytes': 'many' } : record));
      const run = await harness.run('bad-row.parquet', await parquetBytes(bad, V2_FIELDS));
      expect(run.result.rows).toEqual({ read: 3, accepted: 2, quarantined: 1 });
      const [record] = await run.quarantine();
      expect(record?.line).toBe(2);
      expect(record?.reason).toBe("sc_bytes: not a valid bigint: 'many'");
      expect(JSON.parse(record?.text ?? '{}')).toMatchObject({ sc_bytes: 'many', c_ip: '2001:db8::1' });
    });

    it('quarantines a line over the line bound in JSON lines and v2 W3C, and reads on after it', async () => {
      const huge = 'x'.repeat(MAX_LINE_BYTES + 10);
      const json = jsonLinesText(records, V2_FIELDS).split('\n');
      json.splice(1, 0, JSON.stringify({ ...records[0], 'cs(User-Agent)': huge }));
      const w3c = fixture('v2-w3c.log').toString().split('\n');
      w3c.splice(3, 0, `${huge}\t${huge}`);
      for (const [name, body] of [
        ['long.jsonl', json.join('\n')],
        ['long.log', w3c.join('\n')],
      ] as const) {
        const run = await harness.run(name, body);
        expect(run.result.rows).toEqual({ read: 4, accepted: 3, quarantined: 1 });
        const [record] = await run.quarantine();
        expect(record?.reason).toBe(`line longer than ${MAX_LINE_BYTES} bytes`);
        expect(record?.line).toBe(name === 'long.jsonl' ? 2 : 4);
        expect((await run.rows()).map(withoutSource)).toEqual(EXPECTED);
      }
    });

    it('quarantines JSON lines that are not objects, do not parse, do not fit or have no time', async () => {
      const good = jsonLinesText(records.slice(0, 1), V2_FIELDS);
      const body = [
        good.trim(),
        '',
        '[1, 2]',
        '{"date": "2024-07-13", "time": "01:02:03", "sc-status": "OK"}',
        '{"date": "2024-07-13", "time": "01:02:',
        '{"c-ip": "192.0.2.1"}',
        '{"date": "2024-02-30", "time": "01:02:03"}',
        '{"timestamp(ms)": "soon"}',
      ].join('\n');
      const run = await harness.run('bad.jsonl', body);
      expect(run.result.rows).toEqual({ read: 7, accepted: 1, quarantined: 6 });
      const reasons = (await run.quarantine()).map((record) => [record.line, record.reason]);
      expect(reasons).toEqual([
        [3, 'not a JSON object'],
        [4, "sc-status: not a valid int: 'OK'"],
        [5, expect.stringMatching(/^not valid JSON: /)],
        [6, 'no date and time (nor timestamp) in the record'],
        [7, "unparseable date/time '2024-02-30 01:02:03'"],
        [8, "unparseable timestamp(ms) 'soon'"],
      ]);
    });
  });
});
