import { gzipSync } from 'node:zlib';
import { generateLogLines } from '#local/sample/index';
import { chance, integerBetween, pick, type Random, randomFor } from '#local/sample/random';
import { keys } from '#shared/core/run-files';
import { LEGACY_FIELDS, type LogRecord, parquetBytes } from '../support/cloudfront-logs';
import { BUCKET, type TransformRun, transformHarness } from '../support/transform-harness';

const SEED = 20240713;

/**
 * What counts as a data line, by the documented rules (independent of the code under test): lines
 * are split at `\n`, a trailing `\r` is dropped; W3C text skips empty lines and `#` lines; JSON
 * lines skips blank lines. Parquet and gzip have no oracle here: only the invariants hold.
 */
type Oracle = 'w3c' | 'json-lines' | 'none';

interface FuzzCase {
  name: string;
  body: Buffer;
  oracle: Oracle;
  /** The content the oracle counts lines of, when `body` is compressed. */
  plain?: Buffer;
  /** The file cannot be read to its end (e.g. truncated gzip): it must be quarantined whole. */
  wholeFileProblem?: boolean;
}

function dataLines(body: Buffer, oracle: Oracle): number | undefined {
  if (oracle === 'none') return undefined;
  let count = 0;
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    let last = end;
    if (last > start && body[last - 1] === 0x0d) last--;
    const line = body.subarray(start, last);
    if (oracle === 'w3c') {
      if (line.length > 0 && line[0] !== 0x23) count++;
    } else {
      const text = new TextDecoder().decode(line).replace(/^\uFEFF/, '');
      if (text.trim().length > 0) count++;
    }
    start = end + 1;
  }
  return count;
}

function randomBytes(random: Random, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = Math.floor(random() * 256);
  return bytes;
}

/** Text the oracle would classify differently from the first byte: avoid a random leading `{`, PAR1 or gzip. */
function neutralStart(bytes: Buffer): Buffer {
  if ([0x7b, 0x50, 0x1f, 0x20, 0x09, 0x0a, 0x0d, 0xef].includes(bytes[0] ?? 0)) bytes[0] = 0x41;
  return bytes;
}

function validW3c(seed: number, rows: number): string[] {
  return [...generateLogLines({ seed, start: new Date('2024-07-13T00:00:00Z'), rows, rowsPerSecond: 0.05 })];
}

function recordsOf(lines: readonly string[]): LogRecord[] {
  return lines
    .filter((line) => !line.startsWith('#'))
    .map((line) => Object.fromEntries(line.split('\t').map((value, index) => [LEGACY_FIELDS[index], value])));
}

const ODD_TEXT = [
  '\t',
  '\0',
  '\r',
  '#',
  '{',
  '"',
  '%',
  '%E0%A4%A',
  '-',
  '\u00a0',
  '€',
  '\uFFFD',
  ',',
  ' ',
  '\n',
];

/** One random edit of a line: characters inserted or deleted, fields dropped, doubled, swapped or junked. */
function mutateLine(random: Random, line: string): string {
  const fields = line.split('\t');
  const at = integerBetween(random, 0, Math.max(0, line.length - 1));
  switch (integerBetween(random, 0, 7)) {
    case 0:
      return line.slice(0, at) + line.slice(at + integerBetween(random, 1, 8));
    case 1:
      return line.slice(0, at) + pick(random, ODD_TEXT) + line.slice(at);
    case 2:
      fields.splice(integerBetween(random, 0, fields.length - 1), 1);
      return fields.join('\t');
    case 3: {
      const index = integerBetween(random, 0, fields.length - 1);
      fields.splice(index, 0, fields[index] ?? '');
      return fields.join('\t');
    }
    case 4: {
      const a = integerBetween(random, 0, fields.length - 1);
      const b = integerBetween(random, 0, fields.length - 1);
      [fields[a], fields[b]] = [fields[b] ?? '', fields[a] ?? ''];
      return fields.join('\t');
    }
    case 5:
      fields[integerBetween(random, 0, fields.length - 1)] = randomBytes(
        random,
        integerBetween(random, 0, 12),
      ).toString('latin1');
      return fields.join('\t');
    case 6:
      return line.slice(0, at);
    default:
      return line.replaceAll('\t', pick(random, [' ', '\t\t', '|', '']));
  }
}

function mutatedText(random: Random, lines: readonly string[], rate: number, firstData: number): string {
  return lines
    .map((line, index) => (index >= firstData && chance(random, rate) ? mutateLine(random, line) : line))
    .join(pick(random, ['\n', '\r\n']));
}

async function fuzzCases(): Promise<FuzzCase[]> {
  const cases: FuzzCase[] = [];
  const random = randomFor(SEED, 'fuzz');
  const header = Buffer.from('#Version: 1.0\n#Fields: date time sc-status c-ip cs-uri-stem\n');

  for (let index = 0; index < 6; index++) {
    const bytes = neutralStart(randomBytes(random, integerBetween(random, 1, 48 * 1024)));
    cases.push({ name: `random bytes ${index}`, body: bytes, oracle: 'w3c' });
  }
  for (let index = 0; index < 3; index++) {
    cases.push({
      name: `header then random bytes ${index}`,
      body: Buffer.concat([header, randomBytes(random, integerBetween(random, 1, 16 * 1024))]),
      oracle: 'w3c',
    });
    cases.push({
      name: `{ then random bytes ${index}`,
      body: Buffer.concat([Buffer.from('{'), randomBytes(random, integerBetween(random, 1, 16 * 1024))]),
      oracle: 'json-lines',
    });
    cases.push({
      name: `PAR1 then random bytes ${index}`,
      body: Buffer.concat([Buffer.from('PAR1'), randomBytes(random, integerBetween(random, 4, 4 * 1024))]),
      oracle: 'none',
      wholeFileProblem: true,
    });
    cases.push({
      name: `gzip magic then random bytes ${index}`,
      body: Buffer.concat([
        Buffer.from([0x1f, 0x8b]),
        randomBytes(random, integerBetween(random, 1, 4 * 1024)),
      ]),
      oracle: 'none',
    });
  }

  const lines = validW3c(SEED, 300);
  for (let index = 0; index < 10; index++) {
    const text = mutatedText(random, lines, pick(random, [0.05, 0.3, 1]), 2);
    cases.push({ name: `mutated W3C ${index}`, body: Buffer.from(text), oracle: 'w3c' });
    if (index < 3) {
      cases.push({
        name: `mutated W3C ${index}, gzip`,
        body: gzipSync(text),
        oracle: 'w3c',
        plain: Buffer.from(text),
      });
    }
  }
  const records = recordsOf(lines);
  const jsonLines = records.map((record) => JSON.stringify(record));
  for (let index = 0; index < 5; index++) {
    const text = jsonLines
      .map((line) => (chance(random, 0.2) ? mutateLine(random, line) : line))
      .join(pick(random, ['\n', '\r\n']));
    cases.push({ name: `mutated JSON lines ${index}`, body: Buffer.from(text), oracle: 'json-lines' });
  }
  const parquet = await parquetBytes(records, LEGACY_FIELDS);
  for (let index = 0; index < 5; index++) {
    const mutated = Buffer.from(parquet);
    const flips = integerBetween(random, 1, 20);
    for (let flip = 0; flip < flips; flip++) {
      mutated[integerBetween(random, 4, mutated.length - 5)] = Math.floor(random() * 256);
    }
    cases.push({ name: `Parquet with ${flips} random bytes ${index}`, body: mutated, oracle: 'none' });
  }
  for (let index = 0; index < 3; index++) {
    const cut = integerBetween(random, 4, parquet.length - 1);
    cases.push({
      name: `Parquet cut at ${cut}`,
      body: parquet.subarray(0, cut),
      oracle: 'none',
      wholeFileProblem: true,
    });
  }

  const text = Buffer.from(`${lines.join('\n')}\n`);
  const gz = gzipSync(text);
  for (let index = 0; index < 4; index++) {
    const cut = integerBetween(random, 10, gz.length - 1);
    cases.push({
      name: `gzip cut at ${cut}/${gz.length}`,
      body: gz.subarray(0, cut),
      oracle: 'none',
      wholeFileProblem: true,
    });
  }
  const members = Buffer.concat([gzipSync(text), gz.subarray(0, integerBetween(random, 10, gz.length - 1))]);
  cases.push({
    name: 'multi-member gzip, second member cut',
    body: members,
    oracle: 'none',
    wholeFileProblem: true,
  });

  const huge = 'A'.repeat(integerBetween(random, 3, 5) * 1024 * 1024);
  const withHugeAgent = lines.map((line, index) =>
    index === 10 ? line.split('\t').with(10, `Mozilla/5.0%20${huge}`).join('\t') : line,
  );
  cases.push({
    name: 'W3C row with a multi-MB user agent',
    body: Buffer.from(withHugeAgent.join('\n')),
    oracle: 'w3c',
  });
  cases.push({
    name: 'W3C ending in a multi-MB line without tabs or newline',
    body: Buffer.from(`${lines.join('\n')}\n${huge}`),
    oracle: 'w3c',
  });
  cases.push({
    name: 'JSON line with a multi-MB value',
    body: Buffer.from(
      [...jsonLines.slice(0, 5), JSON.stringify({ ...records[0], 'cs(User-Agent)': huge })].join('\n'),
    ),
    oracle: 'json-lines',
  });

  const withNuls = lines.map((line, index) =>
    index >= 2 && index % 7 === 0 ? line.replaceAll('-', '\0') : line,
  );
  cases.push({ name: 'W3C with NUL bytes in fields', body: Buffer.from(withNuls.join('\n')), oracle: 'w3c' });
  cases.push({ name: 'NUL bytes only', body: Buffer.alloc(64 * 1024), oracle: 'w3c' });
  cases.push({
    name: 'W3C with NUL lines between rows',
    body: Buffer.from(lines.flatMap((line) => [line, '\0\0\0']).join('\n')),
    oracle: 'w3c',
  });
  return cases;
}

describe('transform fuzz (seeded): never crashes, never loses a line without counting it', () => {
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  let cases: FuzzCase[];
  beforeAll(async () => {
    harness = await transformHarness();
    cases = await fuzzCases();
  });
  afterAll(() => harness.stop());

  async function checkRun(fuzz: FuzzCase, run: TransformRun) {
    const { result } = run;
    if (result.status === 'quarantined') {
      expect(result.reason).toEqual(expect.stringMatching(/\S/));
      expect(result.hours).toEqual([]);
      expect(await harness.s3.store.head(BUCKET, keys.quarantinedFile(run.fileId))).toBeDefined();
      return;
    }
    expect(fuzz.wholeFileProblem).toBeFalsy();
    expect(result.rows.read).toBe(result.rows.accepted + result.rows.quarantined);
    const expected = dataLines(fuzz.plain ?? fuzz.body, fuzz.oracle);
    if (expected !== undefined) expect(result.rows.read).toBe(expected);
    const quarantine = await run.quarantine();
    expect(quarantine).toHaveLength(result.rows.quarantined);
    for (const record of quarantine) expect(record.reason).toEqual(expect.stringMatching(/\S/));
    // Each quarantined line once (lines of interleaved hours are parsed by hour, so not in line order).
    const lineNumbers = quarantine.map((record) => record.line);
    expect(new Set(lineNumbers).size).toBe(lineNumbers.length);
    expect(await run.rows()).toHaveLength(result.rows.accepted);
  }

  it('handles every seeded case: rows read = accepted + quarantined (each with a reason), or the file quarantined whole', async () => {
    const started = Date.now();
    const seen = { transformed: 0, quarantined: 0, acceptedRows: 0, quarantinedRows: 0 };
    for (const fuzz of cases) {
      const run = await harness.run(`fuzz/${fuzz.name.replaceAll(/[^A-Za-z0-9]+/g, '-')}`, fuzz.body);
      try {
        await checkRun(fuzz, run);
      } catch (error) {
        throw new Error(
          `fuzz case '${fuzz.name}': ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      seen[run.result.status]++;
      seen.acceptedRows += run.result.rows.accepted;
      seen.quarantinedRows += run.result.rows.quarantined;
    }
    // The cases reach both outcomes and both kinds of row, or the fuzzing tests little.
    expect(seen.transformed).toBeGreaterThan(20);
    expect(seen.quarantined).toBeGreaterThan(10);
    expect(seen.acceptedRows).toBeGreaterThan(1_000);
    expect(seen.quarantinedRows).toBeGreaterThan(500);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
