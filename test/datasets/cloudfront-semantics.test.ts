import {
  jsonLinesText,
  LEGACY_FIELDS,
  type LogRecord,
  parquetBytes,
  w3cText,
} from '../support/cloudfront-logs';
import { transformHarness } from '../support/transform-harness';

/** A request with every field '-' except those given: the rules below are about the given ones. */
function request(fields: LogRecord): LogRecord {
  return { ...Object.fromEntries(LEGACY_FIELDS.map((field) => [field, '-'])), ...fields };
}

/** Requests planting each documented rule, each identified by its x-edge-request-id. */
const REQUESTS: LogRecord[] = [
  request({
    date: '2024-07-13',
    time: '05:06:07',
    'x-edge-request-id': 'decoding',
    'cs-uri-stem': '/a%20b/%E2%82%AC',
    'cs(User-Agent)': 'Mozilla/5.0%2520(double%2520encoded)',
    'cs(Referer)': 'https://example.com/p?x=1%26y%3D2',
    'cs-uri-query': 'q=%2520&r=caf%C3%A9',
    'cs(Cookie)': 'a=b%20c',
    'x-forwarded-for': '203.0.113.9, 198.51.100.2',
    'c-ip': '2001:db8:85a3::8a2e:370:7334',
    'sc-status': '000',
    'time-taken': '0.001',
    'time-to-first-byte': '12.5',
  }),
  request({
    date: '2024-07-13',
    time: '05:59:59',
    'x-edge-request-id': 'malformed',
    'cs-uri-stem': '/bad%E0%A4%A',
    'x-forwarded-for': '203.0.113.9,198.51.100.2',
    'c-ip': '192.0.2.1',
    'sc-status': '504',
    'time-taken': '30.000',
    'sc-bytes': '0',
  }),
  request({
    date: '2024-12-31',
    time: '23:59:59',
    'x-edge-request-id': 'nulls',
    'cs-uri-stem': '/%25',
    'c-ip': '192.0.2.2',
    'sc-status': '200',
    'time-taken': '0.000',
  }),
];

describe('CloudFront field semantics, the same in every format (transform → curated Parquet → DuckDB)', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  beforeAll(async () => {
    harness = await transformHarness();
  });
  afterAll(() => harness.stop());

  const formats: [string, () => Promise<Buffer | string>][] = [
    ['legacy W3C', async () => w3cText(REQUESTS, LEGACY_FIELDS)],
    ['v2 JSON lines', async () => jsonLinesText(REQUESTS, LEGACY_FIELDS)],
    ['v2 Parquet', () => parquetBytes(REQUESTS, LEGACY_FIELDS)],
  ];

  describe.each(formats)('%s', (format, body) => {
    let rows: Map<unknown, Record<string, unknown>>;
    let hours: string[];

    beforeAll(async () => {
      const run = await harness.run(`semantics-${format.replaceAll(' ', '-')}`, await body());
      expect(run.result.rows).toEqual({ read: 3, accepted: 3, quarantined: 0 });
      hours = run.result.hours;
      rows = new Map((await run.rows()).map((row) => [row.edge_request_id, row]));
    });

    it('makes one UTC timestamp of date + time and partitions by its hour', () => {
      expect(rows.get('decoding')?.request_time).toBe('2024-07-13 05:06:07');
      expect(rows.get('nulls')?.request_time).toBe('2024-12-31 23:59:59');
      expect(hours).toEqual(['2024-07-13T05', '2024-12-31T23']);
    });

    it('stores - as null, in text and in numeric columns', () => {
      const row = rows.get('nulls');
      expect(row?.cs_user_agent).toBeNull();
      expect(row?.cs_referer).toBeNull();
      expect(row?.cs_uri_query).toBeNull();
      expect(row?.forwarded_for).toBeNull();
      expect(row?.sc_bytes).toBeNull();
      expect(row?.time_to_first_byte).toBeNull();
      expect(row?.client_port).toBeNull();
    });

    it('decodes cs-uri-stem, cs(User-Agent), cs(Referer) and cs-uri-query once', () => {
      const row = rows.get('decoding');
      expect(row?.cs_uri_stem).toBe('/a b/€');
      expect(row?.cs_referer).toBe('https://example.com/p?x=1&y=2');
      expect(row?.cs_uri_query).toBe('q=%20&r=café');
      expect(rows.get('nulls')?.cs_uri_stem).toBe('/%');
    });

    it('keeps double-encoded values recognisable: %2520 is stored as %20, not as a space', () => {
      expect(rows.get('decoding')?.cs_user_agent).toBe('Mozilla/5.0%20(double%20encoded)');
    });

    it('keeps a malformed percent sequence as it came, and does not decode cs(Cookie)', () => {
      expect(rows.get('malformed')?.cs_uri_stem).toBe('/bad%E0%A4%A');
      expect(rows.get('decoding')?.cs_cookie).toBe('a=b%20c');
    });

    it('makes x-forwarded-for a list, with or without a space after the comma', () => {
      expect(rows.get('decoding')?.forwarded_for).toEqual(['203.0.113.9', '198.51.100.2']);
      expect(rows.get('malformed')?.forwarded_for).toEqual(['203.0.113.9', '198.51.100.2']);
    });

    it('keeps IPv6 clients and status 000 (a request that got no response) as 0', () => {
      expect(rows.get('decoding')?.client_ip).toBe('2001:db8:85a3::8a2e:370:7334');
      expect(rows.get('decoding')?.sc_status).toBe(0);
      expect(rows.get('malformed')?.sc_status).toBe(504);
    });

    it('reads time-taken and time-to-first-byte as decimal seconds', () => {
      expect(rows.get('decoding')?.time_taken).toBe(0.001);
      expect(rows.get('decoding')?.time_to_first_byte).toBe(12.5);
      expect(rows.get('malformed')?.time_taken).toBe(30);
      expect(rows.get('nulls')?.time_taken).toBe(0);
    });
  });

  it('keeps the milliseconds of a v2 timestamp(ms) when a record has no date and time', async () => {
    const body = `${JSON.stringify({ 'timestamp(ms)': '1720832523456', 'c-ip': '192.0.2.3', 'sc-status': '200' })}\n`;
    const run = await harness.run('semantics-ms.jsonl', body);
    expect((await run.rows()).map((row) => row.request_time)).toEqual(['2024-07-13 01:02:03.456']);
  });
});
