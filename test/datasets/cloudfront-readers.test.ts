import {
  epochMillisFromText,
  epochSecondsFromText,
  FieldMap,
  fieldKey,
} from '#shared/datasets/cloudfront/fields';
import { detectFormat } from '#shared/datasets/cloudfront/formats';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { JsonLinesParser } from '#shared/datasets/cloudfront/json-lines';
import { CloudFrontLineParser } from '#shared/datasets/cloudfront/parser';
import { W3cLogParser } from '#shared/datasets/cloudfront/w3c';
import type { LineResult } from '#shared/datasets/dataset';
import { recordsAsLines } from '#shared/datasets/source';

const table = cloudfront.table;
const column = (name: string) => table.columns.findIndex((candidate) => candidate.name === name);
const cell = (result: LineResult, name: string) =>
  result.kind === 'row' ? result.values[column(name)] : undefined;

function w3cParser() {
  // A fixed "now" keeps the parser's time bounds independent of the day the test runs.
  return new W3cLogParser(
    new CloudFrontLineParser(table, 'file-1', { nowMs: Date.UTC(2025, 0, 1) }),
    new FieldMap(table),
  );
}

describe('CloudFront field names: one mapping for every spelling', () => {
  it('reduces W3C, real-time and Parquet spellings to one key', () => {
    for (const name of ['cs(User-Agent)', 'cs-user-agent', 'cs_user_agent', 'CS(USER-AGENT)']) {
      expect(fieldKey(name)).toBe('cs_user_agent');
    }
    expect(fieldKey('timestamp(ms)')).toBe('timestamp_ms');
    expect(fieldKey('DistributionId')).toBe('distributionid');
  });

  it('maps names to the table’s columns and time fields, and ignores fields the table lacks', () => {
    const fields = new FieldMap(table);
    expect(fields.slot('cs_referer')).toMatchObject({ kind: 'column', index: column('cs_referer') });
    expect(fields.slot('x-edge-location')).toMatchObject({ kind: 'column', index: column('edge_location') });
    expect(fields.slot('timestamp(ms)')).toEqual({ kind: 'epoch-ms' });
    expect(fields.slot('timestamp')).toEqual({ kind: 'epoch-seconds' });
    for (const name of ['c-country', 'asn', 'DistributionId', 'origin-fbl', 'source_file']) {
      expect(fields.slot(name)).toBeUndefined();
    }
    expect(fields.legacyName('cs-host')).toBe('cs(Host)');
    expect(fields.legacyName('DATE')).toBe('date');
    expect(fields.legacyName('asn')).toBeUndefined();
  });

  it('reads v2 timestamps: epoch milliseconds, and epoch seconds with a fraction, exactly', () => {
    expect(epochMillisFromText('1720832523456')).toBe(1720832523456);
    expect(epochSecondsFromText('1720832523.456')).toBe(1720832523456);
    expect(epochSecondsFromText('1720832523.4')).toBe(1720832523400);
    expect(epochSecondsFromText('1720832523')).toBe(1720832523000);
    for (const bad of ['', '-', '-1', '1.2.3', '1e12', ' 1', '99999999999999999']) {
      expect(epochMillisFromText(bad) ?? epochSecondsFromText(bad)).toBeUndefined();
    }
  });
});

describe('format detection by content', () => {
  it.each([
    ['PAR1\u0015\u0004', 'parquet'],
    ['{"date":"2024-07-13"}', 'json-lines'],
    ['\n  \r\n{"date":"2024-07-13"}', 'json-lines'],
    ['\uFEFF{"date":"2024-07-13"}', 'json-lines'],
    ['#Version: 1.0\n', 'w3c'],
    ['2024-07-13\t01:02:03', 'w3c'],
    ['', 'w3c'],
    ['PAR', 'w3c'],
  ])('%j is %s', (head, format) => {
    expect(detectFormat(Buffer.from(head))).toBe(format);
  });
});

describe('W3C reader (legacy and v2) over the legacy line parser', () => {
  it('passes legacy lines through, tab-separated, with the legacy reasons', () => {
    const parser = w3cParser();
    expect(parser.parse('2024-07-13\t01:02:03')).toEqual({
      kind: 'reject',
      reason: 'data row before any #Fields line',
    });
    expect(parser.parse('#Version: 1.0')).toEqual({ kind: 'skip' });
    expect(parser.parse('#Fields: date time sc-status')).toEqual({ kind: 'skip' });
    expect(cell(parser.parse('2024-07-13\t01:02:03\t200'), 'sc_status')).toBe(200);
    expect(parser.parse('2024-07-13\t01:02:03')).toEqual({
      kind: 'reject',
      reason: 'field count 2 ≠ 3 in #Fields',
    });
  });

  it('recognises another delimiter from the first row that fits the header, and keeps it', () => {
    const parser = w3cParser();
    parser.parse('#Fields: date time sc-status cs-uri-stem');
    expect(parser.parse('2024-07-13 01:02:03')).toEqual({
      kind: 'reject',
      reason: 'field count 1 ≠ 4 in #Fields',
    });
    expect(cell(parser.parse('2024-07-13|01:02:03|404|/a%20b'), 'cs_uri_stem')).toBe('/a b');
    expect(parser.parse('2024-07-13|01:02:03|404')).toEqual({
      kind: 'reject',
      reason: 'field count 3 ≠ 4 in #Fields',
    });
    expect(cell(parser.parse('2024-07-13|01:02:04|200|/x|'), 'sc_status')).toBe(200); // trailing empty field
  });

  it('makes date and time from timestamp(ms) when the header has neither, and says when it cannot', () => {
    const parser = w3cParser();
    parser.parse('#Fields: timestamp(ms)\tcs-user-agent');
    const row = parser.parse('1720832523456\tcurl/8.0');
    expect(row).toMatchObject({ kind: 'row', timeMs: 1720832523456 });
    expect(cell(row, 'cs_user_agent')).toBe('curl/8.0');
    expect(parser.parse('soon\tcurl/8.0')).toEqual({
      kind: 'reject',
      reason: "unparseable timestamp(ms) 'soon'",
    });
  });

  it('still refuses a header with neither date/time nor a timestamp, as the legacy parser does', () => {
    expect(w3cParser().parse('#Fields: c-ip sc-status')).toEqual({
      kind: 'fatal',
      reason: '#Fields lacks date and time',
    });
  });

  it('reads a file that starts with a byte-order mark', () => {
    const parser = w3cParser();
    expect(parser.parse('\uFEFF#Version: 1.0')).toEqual({ kind: 'skip' });
    parser.parse('#Fields: date time');
    expect(parser.parse('2024-07-13\t01:02:03')).toMatchObject({ kind: 'row' });
  });
});

describe('JSON lines reader', () => {
  const parser = () => new JsonLinesParser(table, 'file-1', new FieldMap(table));

  it('skips blank lines and reads a record keyed by any spelling of the field names', () => {
    expect(parser().parse('  \r')).toEqual({ kind: 'skip' });
    const row = parser().parse(
      '\uFEFF{"date":"2024-07-13","time":"01:02:03","cs-user-agent":"a%20b","asn":"3320"}',
    );
    expect(cell(row, 'cs_user_agent')).toBe('a b');
  });

  it('refuses values that do not fit their column, whatever their JSON type', () => {
    const time = '"date":"2024-07-13","time":"01:02:03"';
    expect(parser().parse(`{${time},"sc-status":2.5}`)).toEqual({
      kind: 'reject',
      reason: 'sc-status: not a valid int: 2.5',
    });
    expect(parser().parse(`{${time},"x-forwarded-for":[1,2]}`)).toEqual({
      kind: 'reject',
      reason: 'x-forwarded-for: not a valid array<string>: [1,2]',
    });
    expect(parser().parse(`{${time},"cs-uri-stem":{"a":1}}`)).toEqual({
      kind: 'reject',
      reason: 'cs-uri-stem: not a valid string: {"a":1}',
    });
  });
});

describe('records as lines (how a Parquet reader feeds the transform)', () => {
  it('hands back each record’s result in step, and refuses a parse out of step', async () => {
    async function* records() {
      yield { result: { kind: 'skip' } as const, text: '' };
      yield { result: { kind: 'reject', reason: 'bad' } as const, text: '{"a":1}' };
    }
    const { lines, parser } = recordsAsLines('test', records());
    const results: LineResult[] = [];
    for await (const line of lines) results.push(parser.parse(line));
    expect(results).toEqual([{ kind: 'skip' }, { kind: 'reject', reason: 'bad' }]);
    expect(() => parser.parse('')).toThrow(/out of step/);
  });
});
