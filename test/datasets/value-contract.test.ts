import { DYNAMODB_SORT_KEY_LIMIT_BYTES } from '#shared/adapters/staging-store';
import { AggregateRowSchema, HOST_MAX_BYTES, HOST_MAX_CHARS, rowKey } from '#shared/core/aggregate-row';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { hostProblem, normalizeHost } from '#shared/datasets/contract';
import {
  jsonLinesText,
  LEGACY_FIELDS,
  type LogRecord,
  parquetBytes,
  w3cText,
} from '../support/cloudfront-logs';
import { transformHarness } from '../support/transform-harness';

function request(id: string, fields: LogRecord): LogRecord {
  return {
    ...Object.fromEntries(LEGACY_FIELDS.map((field) => [field, '-'])),
    date: '2024-07-13',
    time: '10:00:00',
    'x-edge-request-id': id,
    'cs(Host)': 'd1.cloudfront.net',
    'x-host-header': 'www.example.com',
    'sc-status': '200',
    'sc-bytes': '100',
    ...fields,
  };
}

/** Rows the contract keeps, each with the host the aggregate must key it by. */
const KEPT: [LogRecord, string | null][] = [
  [request('plain', {}), 'www.example.com'],
  [request('trailing-space', { 'x-host-header': 'www.example.com ' }), 'www.example.com'],
  [request('leading-space', { 'x-host-header': '  www.example.com' }), 'www.example.com'],
  [request('upper-case', { 'x-host-header': 'WWW.Example.COM' }), 'www.example.com'],
  [request('nfc', { 'x-host-header': 'www.caf\u00e9.example' }), 'www.caf\u00e9.example'],
  [request('nfd', { 'x-host-header': 'www.cafe\u0301.example' }), 'www.caf\u00e9.example'],
  [request('blank-host', { 'x-host-header': ' ' }), null],
  [request('no-status', { 'sc-status': '-' }), 'www.example.com'],
  [request('longest-host', { 'x-host-header': 'h'.repeat(HOST_MAX_CHARS) }), 'h'.repeat(HOST_MAX_CHARS)],
];

/** Rows outside the contract, each with the reason it must be quarantined for. */
const REJECTED: [LogRecord, RegExp][] = [
  [request('status-high', { 'sc-status': '99999' }), /^sc-status: 99999 is outside 0–999$/],
  [request('status-negative', { 'sc-status': '-1' }), /^sc-status: -1 is outside 0–999$/],
  [request('bytes-negative', { 'sc-bytes': '-5000' }), /^sc-bytes: -5000 is outside ≥ 0$/],
  [request('time-negative', { 'time-taken': '-0.5' }), /^time-taken: -0.5 is outside ≥ 0$/],
  [request('host-300', { 'x-host-header': 'h'.repeat(300) }), /^x-host-header: host of 300 characters/],
  [
    request('host-5000', { 'x-host-header': `${'h'.repeat(4990)}.example` }),
    /^x-host-header: host of 4998 char/,
  ],
  [request('long-cs-host', { 'cs(Host)': 'h'.repeat(300) }), /^cs\(Host\): host of 300 characters/],
  // 252 characters (within VARCHAR(255)) but 1,008 UTF-8 bytes: past DynamoDB's sort key.
  [request('host-bytes', { 'x-host-header': '\u{1F600}'.repeat(252) }), /DynamoDB's 1,024-byte sort key/],
];

const RECORDS = [...KEPT.map(([record]) => record), ...REJECTED.map(([record]) => record)];

describe('the value contract (table.json min/max/normalize + the aggregate key limits), in every format', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  beforeAll(async () => {
    harness = await transformHarness();
  });
  afterAll(() => harness.stop());

  const formats: [string, () => Promise<Buffer | string>][] = [
    ['legacy W3C (byte path)', async () => w3cText(RECORDS, LEGACY_FIELDS)],
    // A byte-order mark sends the file through the line parser's string path instead.
    ['W3C through the string path', async () => `\uFEFF${w3cText(RECORDS, LEGACY_FIELDS)}`],
    ['v2 JSON lines', async () => jsonLinesText(RECORDS, LEGACY_FIELDS)],
    ['v2 Parquet', () => parquetBytes(RECORDS, LEGACY_FIELDS)],
  ];

  describe.each(formats)('%s', (format, body) => {
    let rows: Map<unknown, Record<string, unknown>>;
    let reasons: Map<string, string>;
    let counts: { read: number; accepted: number; quarantined: number };

    beforeAll(async () => {
      const run = await harness.run(`contract-${format.replace(/\W+/g, '-')}`, await body());
      counts = run.result.rows;
      rows = new Map((await run.rows()).map((row) => [row.edge_request_id, row]));
      reasons = new Map(
        (await run.quarantine()).map((record) => {
          const id = RECORDS.find((candidate) => record.text.includes(candidate['x-edge-request-id']!))![
            'x-edge-request-id'
          ]!;
          return [id, record.reason];
        }),
      );
    }, 60_000);

    it('keeps every row inside the contract and quarantines every row outside it, counted', () => {
      expect(counts).toEqual({ read: RECORDS.length, accepted: KEPT.length, quarantined: REJECTED.length });
    });

    it.each(KEPT.map(([record, host]) => [record['x-edge-request-id']!, host] as const))(
      'stores host %s normalized (trimmed, lower case, NFC) as %j',
      (id, host) => {
        expect(rows.get(id)?.host_header).toBe(host);
      },
    );

    it.each(REJECTED.map(([record, reason]) => [record['x-edge-request-id']!, reason] as const))(
      'quarantines %s with a reason naming the field and the limit',
      (id, reason) => {
        expect(reasons.get(id)).toMatch(reason);
      },
    );

    it('stores a missing status as null (the aggregate counts it 0, never NULL)', () => {
      expect(rows.get('no-status')?.sc_status).toBeNull();
    });
  });
});

describe('the contract agrees with every later step', () => {
  const column = (name: string) => cloudfront.table.columns.find((candidate) => candidate.name === name)!;

  it('admits only statuses the aggregate row admits', () => {
    const { min, max } = column('sc_status');
    const at = (status: number) =>
      AggregateRowSchema.safeParse({
        hour: '2024-07-13T10',
        host: 'a',
        status,
        requests: 1,
        bytesSent: 0,
        clientErrors: 0,
        serverErrors: 0,
        meanTimeTaken: null,
        p95TimeTaken: null,
        distinctClientIps: 1,
      }).success;
    expect([at(min!), at(max!), at(min! - 1), at(max! + 1)]).toEqual([true, true, false, false]);
  });

  it('admits no negative bytes or time-taken (the aggregate sums and averages them as non-negative)', () => {
    expect([column('sc_bytes').min, column('time_taken').min]).toEqual([0, 0]);
  });

  it('admits only hosts whose staging row key fits DynamoDB and whose text fits the warehouse column', () => {
    const widest = '\u{1F600}'.repeat(Math.floor(HOST_MAX_BYTES / 4));
    expect(hostProblem(widest)).toBeUndefined();
    expect(
      Buffer.byteLength(rowKey({ hour: '2024-07-13T10', host: widest, status: 999 })),
    ).toBeLessThanOrEqual(DYNAMODB_SORT_KEY_LIMIT_BYTES);
    expect(hostProblem(`${widest}xyz`)).toBeDefined();
    expect(hostProblem('h'.repeat(HOST_MAX_CHARS))).toBeUndefined();
    expect(hostProblem('h'.repeat(HOST_MAX_CHARS + 1))).toBeDefined();
  });

  it('normalizes a host to one spelling: case, surrounding white space and Unicode forms', () => {
    const spellings = [
      'Caf\u00e9.Example',
      ' cafe\u0301.example',
      'CAF\u00c9.EXAMPLE\t',
      'cafe\u0301.example\u00a0',
    ];
    expect(new Set(spellings.map(normalizeHost))).toEqual(new Set(['caf\u00e9.example']));
    expect([normalizeHost(' '), normalizeHost('-'), normalizeHost(' - ')]).toEqual([null, null, null]);
  });
});
