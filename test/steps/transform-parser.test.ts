import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { generateSample } from '#local/sample/index';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { CloudFrontLineParser, parseTimestamp } from '#shared/datasets/cloudfront/parser';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';

const CONFORMANCE = join(__dirname, '..', 'fixtures', 'conformance');
const NOW = Date.UTC(2024, 6, 13, 12);
const HEADER = '#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-uri-stem\n';

/**
 * Every line of `text` through both ways in; the results and the rows must be the same, and the
 * byte path's hour hint names every row's hour.
 */
function bothPaths(text: Buffer) {
  const strings = new CloudFrontLineParser(cloudfront.table, 'file-1', { nowMs: NOW });
  const bytes = new CloudFrontLineParser(cloudfront.table, 'file-1', { nowMs: NOW });
  const fromStrings = new RecordBatchBuilder(cloudfront.table);
  const fromBytes = new RecordBatchBuilder(cloudfront.table);
  const outcomes: Array<[string, string]> = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(10, start);
    if (end < 0) end = text.length;
    const line = text.toString('utf8', start, end);
    const viaString = strings.parse(line);
    // The hour hint first, as the transform asks it: it must not change what parseBytes reads.
    const hint = bytes.hourOf(text, start, end);
    const viaBytes = bytes.parseBytes(text, start, end);
    if (viaString.kind === 'row') {
      fromStrings.append(viaString.values);
      expect(viaBytes).toEqual({ kind: 'pending', timeMs: viaString.timeMs });
      expect(hint).toBe(Math.floor(viaString.timeMs / 3_600_000));
      bytes.appendPending(fromBytes);
    } else {
      expect(viaBytes).toEqual(viaString);
    }
    outcomes.push([viaString.kind, 'reason' in viaString ? viaString.reason : '']);
    start = end + 1;
  }
  const rows = (builder: RecordBatchBuilder) =>
    builder
      .flush()
      .toArray()
      .map((row) => JSON.stringify(row, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value)));
  return { outcomes, stringRows: rows(fromStrings), byteRows: rows(fromBytes) };
}

describe('CloudFront line parser: the byte path reads exactly as parse() does', () => {
  it.each(['elastic-test-cloudfront.log', 'claygregory-web-1-0-2019-12.txt', 'claygregory-web-1-0.txt'])(
    'on conformance file %s',
    (name) => {
      const { outcomes, stringRows, byteRows } = bothPaths(readFileSync(join(CONFORMANCE, name)));
      expect(byteRows).toEqual(stringRows);
      expect(outcomes.filter(([kind]) => kind === 'row').length).toBeGreaterThan(0);
    },
  );

  it('on a generated day with every planted row problem (bad counts, numbers, dates, invalid UTF-8)', () => {
    const { files } = generateSample({
      seed: 7,
      day: '2024-07-12',
      filesPerHour: 1,
      rowsPerFile: 300,
      hours: 6,
    });
    const readable = files.flatMap((file) => {
      try {
        return [gunzipSync(file.body)];
      } catch {
        return []; // the planted truncated file
      }
    });
    const reasons = new Set<string>();
    for (const text of readable) {
      const { outcomes, stringRows, byteRows } = bothPaths(Buffer.from(text.toString('utf8')));
      expect(byteRows).toEqual(stringRows);
      for (const [kind, reason] of outcomes) if (kind === 'reject') reasons.add(reason.split(':')[0]!);
    }
    expect(reasons.size).toBeGreaterThanOrEqual(4);
  });

  it('on hand-made edge cases: decoding, numbers, lists, empty and trailing fields', () => {
    const header =
      '#Version: 1.0\n#Fields: date time sc-bytes cs-uri-stem sc-status cs(User-Agent) time-taken x-forwarded-for time-to-first-byte cs-uri-query\n';
    const lines = [
      ['2024-07-13', '10:00:00', '1', '/a%20b', '000', 'x%2520y', '0.001', '1.2.3.4, 5.6.7.8', '.5', '-'],
      [
        '2024-07-13',
        '10:00:00.1',
        '12',
        '/%E6%97%A5',
        '200',
        '%zz',
        '5.',
        ' , ,',
        '123456789012345678',
        'q=%C3',
      ],
      ['2024-07-13', '10:00:00.12', '9007199254740991', '', '-', 'caf%C3%A9', '-0.000', '-', '1e3', '%FF'],
      ['2024-07-13', '10:00:00', '1', '/x', '200', 'a', '0.1', '\u00a01.1.1.1\u00a0', '0.2', 'p=1', ''],
      ['2024-07-13', '10:00:00', '9007199254740993', '/x', '200', 'a', '0.1', '-', '0.2', 'p=1'],
      ['2024-07-13', '10:00:00', '1', '/x', '2147483648', 'a', '0.1', '-', '0.2', 'p=1'],
      ['2024-07-13', '10:00:00', '1', '/x', '200', 'a', '0.1.2', '-', '0.2', 'p=1'],
    ].map((fields) => fields.join('\t'));
    const { outcomes, stringRows, byteRows } = bothPaths(Buffer.from(`${header}${lines.join('\r\n')}\n`));
    expect(byteRows).toEqual(stringRows);
    expect(outcomes.slice(2).map(([kind]) => kind)).toEqual([
      'row',
      'row',
      'reject',
      'row',
      'reject',
      'reject',
      'reject',
    ]);
  });
});

describe('CloudFront line parser: timestamps', () => {
  const parse = (date: string, time: string) => {
    const parser = new CloudFrontLineParser(cloudfront.table, 'f', { nowMs: NOW });
    parser.parse(HEADER.split('\n')[1]!);
    const line = [date, time, 'FRA2', '1', '192.0.2.1', '/'].join('\t');
    const viaBytes = parser.parseBytes(Buffer.from(line), 0, Buffer.byteLength(line));
    const viaString = parser.parse(line);
    if (viaString.kind === 'row') expect(viaBytes).toEqual({ kind: 'pending', timeMs: viaString.timeMs });
    else expect(viaBytes).toEqual(viaString);
    return viaString;
  };

  it('reads years 0–99 as written, not as 1900–1999', () => {
    expect(parseTimestamp('0024-07-13', '00:00:00')).toBe(Date.parse('0024-07-13T00:00:00Z'));
    expect(new Date(parseTimestamp('0099-12-31', '23:59:59')!).getUTCFullYear()).toBe(99);
  });

  it('rejects instants that do not exist', () => {
    expect(parseTimestamp('2023-02-29', '00:00:00')).toBeUndefined();
    expect(parseTimestamp('2024-02-29', '00:00:00')).toBe(Date.UTC(2024, 1, 29));
    expect(parseTimestamp('2024-04-31', '00:00:00')).toBeUndefined();
    expect(parseTimestamp('2024-07-13', '24:00:00')).toBeUndefined();
  });

  it('quarantines a row before the partition projection start (2008-01-01) with the reason', () => {
    expect(parse('2007-12-31', '23:59:59')).toEqual({
      kind: 'reject',
      reason:
        "timestamp 2007-12-31T23:59:59.000Z is before 2008-01-01T00:00:00.000Z, where the table's partition projection starts",
    });
    expect(parse('0024-07-13', '00:00:00')).toMatchObject({
      kind: 'reject',
      reason: /^timestamp 0024-07-13T00:00:00.000Z is before/,
    });
    expect(parse('2008-01-01', '00:00:00')).toMatchObject({ kind: 'row', timeMs: Date.UTC(2008, 0, 1) });
  });

  it('quarantines a row more than one day in the future, keeps one just under a day ahead', () => {
    expect(parse('2024-07-14', '12:00:01')).toMatchObject({
      kind: 'reject',
      reason: /more than 1 day in the future/,
    });
    expect(parse('2024-07-14', '12:00:00')).toMatchObject({ kind: 'row' });
  });
});
