import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { generateLogLines, generateSample, type SampleFile, writeSampleDirectory } from '#local/sample/index';
import { decompressed, textLines } from '#shared/core/lines';
import { cloudfront } from '#shared/datasets/cloudfront/index';

const OPTIONS = { seed: 42, day: '2024-07-13', filesPerHour: 3, rowsPerFile: 120 };
const FILE_NAME = /^[A-Z0-9]+\.\d{4}-\d{2}-\d{2}-\d{2}\.[a-z0-9]+\.gz$/;
const REPO = join(__dirname, '..', '..');
const column = (name: string) => cloudfront.table.columns.findIndex((c) => c.name === name);
const SC_BYTES = column('sc_bytes');
const USER_AGENT = column('cs_user_agent');
const STATUS = column('sc_status');
const CLIENT_IP = column('client_ip');
const EDGE = column('edge_location');
const TIME_TAKEN = column('time_taken');

/** An accepted row as the parser returned it, with the hour it belongs to. */
interface ParsedRow {
  hour: string;
  timeMs: number;
  values: ReadonlyArray<unknown>;
  rawTimeTaken: string;
}

/** What the project's own reader and parser make of one generated file. */
type ParsedFile =
  | { name: string; readable: false; error: string }
  | { name: string; readable: true; text: Buffer; accepted: ParsedRow[]; rejected: string[] };

/** Gunzips with Node's zlib and parses with the real CloudFront parser, line by line as the transform does. */
async function parse(file: SampleFile): Promise<ParsedFile> {
  let text: Buffer;
  try {
    text = gunzipSync(file.body);
  } catch (error) {
    return { name: file.name, readable: false, error: String(error) };
  }
  const parser = cloudfront.createParser(file.name.replace(/\.gz$/, ''));
  const accepted: ParsedRow[] = [];
  const rejected: string[] = [];
  for await (const line of textLines(Readable.from([text]))) {
    const result = parser.parse(line);
    if (result.kind === 'fatal') throw new Error(`${file.name}: ${result.reason}`);
    if (result.kind === 'reject') rejected.push(result.reason);
    if (result.kind !== 'row') continue;
    accepted.push({
      hour: new Date(result.timeMs).toISOString().slice(0, 13),
      timeMs: result.timeMs,
      values: result.values,
      rawTimeTaken: line.replace(/\r$/, '').split('\t')[18] ?? '',
    });
  }
  return { name: file.name, readable: true, text, accepted, rejected };
}

/** The expectation recounted from the parser's results (never from the generator's bookkeeping). */
function recount(parsed: readonly ParsedFile[]) {
  const acceptedByHour: Record<string, number> = {};
  const bytesByHour: Record<string, number> = {};
  let rowsAccepted = 0;
  let rowsQuarantined = 0;
  for (const file of parsed) {
    if (!file.readable) continue;
    rowsQuarantined += file.rejected.length;
    for (const row of file.accepted) {
      rowsAccepted++;
      acceptedByHour[row.hour] = (acceptedByHour[row.hour] ?? 0) + 1;
      bytesByHour[row.hour] = (bytesByHour[row.hour] ?? 0) + Number(row.values[SC_BYTES]);
    }
  }
  const unreadable = parsed.filter((file) => !file.readable).map((file) => file.name);
  return {
    files: parsed.length,
    rowsRead: rowsAccepted + rowsQuarantined,
    rowsAccepted,
    rowsQuarantined,
    filesQuarantined: unreadable.length,
    quarantinedFileNames: unreadable.sort(),
    acceptedByHour,
    bytesByHour,
  };
}

/** True when the gzip bytes are two or more members (a second member starts where the first ends). */
function isMultiMember(body: Buffer): boolean {
  for (let offset = body.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), 1); offset > 0; ) {
    try {
      gunzipSync(body.subarray(0, offset));
      gunzipSync(body.subarray(offset));
      return true;
    } catch {
      offset = body.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), offset + 1);
    }
  }
  return false;
}

const hourOfName = (name: string) => {
  const match = /\.(\d{4}-\d{2}-\d{2})-(\d{2})\./.exec(name);
  return match ? `${match[1]}T${match[2]}` : '';
};
const shiftHour = (hour: string, by: number) =>
  new Date(Date.parse(`${hour}:00:00Z`) + by * 3_600_000).toISOString().slice(0, 13);

describe('sample CloudFront logs (local/sample)', () => {
  const sample = generateSample(OPTIONS);
  let parsed: ParsedFile[];

  beforeAll(async () => {
    parsed = await Promise.all(sample.files.map(parse));
  });

  it('gives the same bytes for the same seed and other bytes for another seed', () => {
    const again = generateSample(OPTIONS);
    expect(again.files.map((file) => file.name)).toEqual(sample.files.map((file) => file.name));
    for (const [index, file] of again.files.entries())
      expect(file.body.equals(sample.files[index]!.body)).toBe(true);
    expect(again.expected).toEqual(sample.expected);

    const other = generateSample({ ...OPTIONS, seed: 43 });
    expect(other.files.map((file) => file.name)).not.toEqual(sample.files.map((file) => file.name));
    const otherBodies = new Set(other.files.map((file) => file.body.toString('base64')));
    expect(sample.files.some((file) => otherBodies.has(file.body.toString('base64')))).toBe(false);
  });

  it('names files <distribution-id>.YYYY-MM-DD-HH.<unique-id>.gz, filesPerHour for each hour of the day', () => {
    const names = sample.files.map((file) => file.name);
    for (const name of names) expect(name).toMatch(FILE_NAME);
    expect(new Set(names).size).toBe(24 * OPTIONS.filesPerHour);
    const perHour = new Map<string, number>();
    for (const name of names) perHour.set(hourOfName(name), (perHour.get(hourOfName(name)) ?? 0) + 1);
    expect([...perHour.keys()].sort()).toEqual(
      Array.from({ length: 24 }, (_, hour) => `2024-07-13T${String(hour).padStart(2, '0')}`),
    );
    expect(new Set(perHour.values())).toEqual(new Set([OPTIONS.filesPerHour]));
    const single = generateSample({ ...OPTIONS, distributionId: 'E2EXAMPLE123', hours: 2 });
    expect(single.files.every((file) => file.name.startsWith('E2EXAMPLE123.2024-07-13-0'))).toBe(true);
  });

  it('expects exactly what the real gunzip and CloudFront parser make of every file', () => {
    expect(recount(parsed)).toEqual(sample.expected);
    // Not a vacuous match: the planted problems are all there and counted.
    expect(sample.expected.files).toBe(72);
    expect(sample.expected.filesQuarantined).toBe(1);
    expect(sample.expected.rowsQuarantined).toBe(6);
    expect(sample.expected.rowsRead).toBe(71 * OPTIONS.rowsPerFile);
  });

  it('quarantines a handful of bad rows, each for its own reason', () => {
    const reasons = parsed.flatMap((file) => (file.readable ? file.rejected : []));
    const expected = [
      /^field count 20 ≠ 33 in #Fields$/,
      /^field count 34 ≠ 33 in #Fields$/,
      /^sc-bytes: not a valid bigint: '12x'$/,
      /^unparseable date\/time '2024-02-30 \d{2}:\d{2}:\d{2}'$/,
      /^unparseable date\/time '2024-07-13 25:61:00'$/,
      /^time-taken: not a valid double: '0\.0\.1'$/,
    ];
    expect(reasons).toHaveLength(expected.length);
    for (const pattern of expected) expect(reasons.filter((reason) => pattern.test(reason))).toHaveLength(1);
  });

  it('truncates one gzip file so that zlib and the streaming reader both fail on it', async () => {
    const unreadable = parsed.filter((file) => !file.readable);
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]!.error).toMatch(/unexpected end of file/);
    const body = sample.files.find((file) => file.name === unreadable[0]!.name)!.body;
    expect(body.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // still looks like gzip
    await expect(
      (async () => {
        for await (const _ of decompressed(Readable.from([body]))) {
          // drain
        }
      })(),
    ).rejects.toThrow(/unexpected end of file/);
  });

  it('keeps invalid UTF-8 in one user agent as U+FFFD in an accepted row', () => {
    const rows = parsed.flatMap((file) => (file.readable ? file.accepted : []));
    const broken = rows.filter((row) => String(row.values[USER_AGENT]).includes('\uFFFD'));
    expect(broken).toHaveLength(1);
    const invalid = parsed.filter((file) => {
      if (!file.readable) return false;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(file.text);
        return false;
      } catch {
        return true;
      }
    });
    expect(invalid).toHaveLength(1);
  });

  it('plants one late file with rows of its hour, the one before and the one after', () => {
    const spans = parsed.flatMap((file) => {
      if (!file.readable) return [];
      const hours = [...new Set(file.accepted.map((row) => row.hour))].sort();
      return hours.length > 1 ? [{ name: file.name, hours }] : [];
    });
    expect(spans).toHaveLength(1);
    const named = hourOfName(spans[0]!.name);
    expect(spans[0]!.hours).toEqual([shiftHour(named, -1), named, shiftHour(named, 1)]);
  });

  it('plants one CRLF file, one without a final newline and one multi-member gzip', () => {
    const readable = parsed.filter((file) => file.readable);
    const crlf = readable.filter((file) => file.text.includes('\r\n'));
    expect(crlf).toHaveLength(1);
    expect(
      crlf[0]!.text
        .toString('latin1')
        .split('\r\n')
        .every((line) => !line.includes('\n')),
    ).toBe(true);
    expect(readable.filter((file) => !file.text.toString('latin1').endsWith('\n'))).toHaveLength(1);
    expect(sample.files.filter((file) => isMultiMember(file.body))).toHaveLength(1);
  });

  it('writes rows roughly sorted within their file hour', () => {
    for (const file of parsed) {
      if (!file.readable || new Set(file.accepted.map((row) => row.hour)).size > 1) continue;
      expect(file.accepted.every((row) => row.hour === hourOfName(file.name))).toBe(true);
      const times = file.accepted.map((row) => row.timeMs);
      const inversions = times.filter((time, index) => index > 0 && time < times[index - 1]!).length;
      expect(inversions).toBeLessThan(times.length * 0.1);
    }
  });

  it('draws realistic values: status mix, clients incl. IPv6, ~10 edges, 3-decimal time-taken, encoded agents', () => {
    const rows = parsed.flatMap((file) => (file.readable ? file.accepted : []));
    const statuses = rows.map((row) => row.values[STATUS]);
    const share = (test: (status: unknown) => boolean) => statuses.filter(test).length / rows.length;
    expect(share((status) => status === 200 || status === 304 || status === 206)).toBeGreaterThan(0.8);
    expect(share((status) => typeof status === 'number' && status >= 400)).toBeGreaterThan(0.02);
    expect(share((status) => status === 0)).toBeGreaterThan(0);
    expect(share((status) => status === 0)).toBeLessThan(0.01);
    const clients = new Set(rows.map((row) => String(row.values[CLIENT_IP])));
    expect(clients.size).toBeGreaterThan(1_000);
    expect([...clients].some((ip) => ip.includes(':'))).toBe(true);
    const edges = new Set(rows.map((row) => row.values[EDGE]));
    expect(edges.size).toBeGreaterThanOrEqual(8);
    expect(edges.size).toBeLessThanOrEqual(12);
    for (const row of rows) {
      expect(row.rawTimeTaken).toMatch(/^\d\.\d{3}$/);
      expect(row.values[TIME_TAKEN]).toBeGreaterThanOrEqual(0.001);
      expect(row.values[TIME_TAKEN]).toBeLessThanOrEqual(5);
    }
    const agents = rows.map((row) => String(row.values[USER_AGENT]));
    // Decoded once: plain agents have spaces, double-encoded ones keep a recognisable `%20`.
    expect(agents.filter((agent) => agent.includes(' ')).length).toBeGreaterThan(rows.length / 2);
    expect(agents.some((agent) => agent.includes('%20'))).toBe(true);
  });

  it('plants nothing when plant is false: every row accepted, every file readable', async () => {
    const clean = generateSample({ ...OPTIONS, seed: 7, plant: false, hours: 3 });
    const cleanParsed = await Promise.all(clean.files.map(parse));
    expect(recount(cleanParsed)).toEqual(clean.expected);
    expect(clean.expected).toMatchObject({
      files: 9,
      rowsRead: 9 * OPTIONS.rowsPerFile,
      rowsQuarantined: 0,
      filesQuarantined: 0,
    });
  });

  it('refuses to plant problems in a sample too small to hold them', () => {
    expect(() => generateSample({ ...OPTIONS, hours: 1, filesPerHour: 4 })).toThrow(RangeError);
    expect(() => generateSample({ ...OPTIONS, day: '2024-02-30' })).toThrow(/real date/);
  });

  it('writes the files and expected.json to a directory, and so does the CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sample-'));
    const expected = writeSampleDirectory(dir, OPTIONS);
    expect(expected).toEqual(sample.expected);
    expect(JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'))).toEqual(expected);
    for (const file of sample.files) expect(readFileSync(join(dir, file.name)).equals(file.body)).toBe(true);

    const cliDir = mkdtempSync(join(tmpdir(), 'sample-cli-'));
    const args = ['--dir', cliDir, '--seed', '42', '--day', '2024-07-13', '--files-per-hour', '3'];
    const output = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'local', 'sample', 'cli.ts'), ...args, '--rows-per-file', '120'],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(JSON.parse(output)).toEqual({ dir: cliDir, ...sample.expected });
    expect(readdirSync(cliDir).sort()).toEqual(
      [...sample.files.map((file) => file.name), 'expected.json'].sort(),
    );
  });

  it('streams raw lines for benchmarks: 200k rows, lazily, all accepted by the parser', () => {
    const start = new Date('2024-07-13T00:00:00Z');
    const lines = generateLogLines({ seed: 42, start, rows: 200_000 });
    expect(Array.isArray(lines)).toBe(false);
    const parser = cloudfront.createParser('bench');
    let headers = 0;
    let rows = 0;
    let backwards = 0;
    let previous = 0;
    for (const line of lines) {
      const result = parser.parse(line);
      if (result.kind === 'skip') headers++;
      else if (result.kind === 'row') {
        rows++;
        if (result.timeMs < previous) backwards++;
        previous = result.timeMs;
      } else throw new Error(`line ${headers + rows + 1}: ${JSON.stringify(result)}`);
    }
    expect({ headers, rows, backwards }).toEqual({ headers: 2, rows: 200_000, backwards: 0 });

    // A generator that built its rows up front could never return the first of 2^53 rows.
    const endless = generateLogLines({ seed: 42, start, rows: Number.MAX_SAFE_INTEGER });
    const first = Array.from({ length: 5 }, () => endless.next().value);
    endless.return();
    const again = generateLogLines({ seed: 42, start, rows: 3 });
    expect(first.slice(0, 5)).toEqual([...again]);
  });
});
