import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CONFORMANCE } from '../support/cloudfront-logs';
import { transformHarness } from '../support/transform-harness';

interface Expectation {
  file: string;
  accepted: number;
  quarantined: number;
  /** The quarantine reason the README names, e.g. `field count 31 ≠ 33`. */
  reason?: string;
}

/**
 * The corpus README's table: one row per file, its last column the expectation, e.g.
 * "11 rows accepted, 1 quarantined (field count 31 ≠ 33)" or "3 rows accepted".
 */
function readmeExpectations(): Expectation[] {
  const expectations: Expectation[] = [];
  for (const line of readFileSync(join(CONFORMANCE, 'README.md'), 'utf8').split('\n')) {
    const file = /^\|\s*`([^`]+)`\s*\|/.exec(line)?.[1];
    const expected = line
      .split('|')
      .map((cell) => cell.trim())
      .filter(Boolean)
      .at(-1);
    if (file === undefined || expected === undefined) continue;
    const match = /^(\d+) rows? accepted(?:, (\d+) quarantined(?: \(([^)]+)\))?)?$/.exec(expected);
    if (!match) throw new Error(`cannot read the expectation for ${file}: '${expected}'`);
    expectations.push({
      file,
      accepted: Number(match[1]),
      quarantined: Number(match[2] ?? 0),
      ...(match[3] !== undefined && { reason: match[3] }),
    });
  }
  return expectations;
}

describe('conformance corpus (test/fixtures/conformance) through the transform, plain and gzip-compressed', () => {
  const expectations = readmeExpectations();
  let harness: Awaited<ReturnType<typeof transformHarness>>;
  beforeAll(async () => {
    harness = await transformHarness();
  });
  afterAll(() => harness.stop());

  it('has an expectation in its README for every file in it', () => {
    const files = readdirSync(CONFORMANCE).filter((name) => name !== 'README.md');
    expect(files.length).toBeGreaterThan(0);
    expect(expectations.map((expectation) => expectation.file).sort()).toEqual(files.sort());
  });

  const cases = expectations.flatMap((expectation) =>
    (['plain', 'gzip'] as const).map((compression) => ({ ...expectation, compression })),
  );
  it.each(cases)(
    'reads $file ($compression): $accepted accepted, $quarantined quarantined',
    async (expectation) => {
      const compression = expectation.compression;
      const text = readFileSync(join(CONFORMANCE, expectation.file));
      const body = compression === 'gzip' ? gzipSync(text) : text;
      const run = await harness.run(`conformance/${compression}/${expectation.file}`, body);
      expect(run.result.status).toBe('transformed');
      expect(run.result.rows).toEqual({
        read: expectation.accepted + expectation.quarantined,
        accepted: expectation.accepted,
        quarantined: expectation.quarantined,
      });
      expect(await run.rows()).toHaveLength(expectation.accepted);
      const quarantine = await run.quarantine();
      expect(quarantine).toHaveLength(expectation.quarantined);
      if (expectation.reason !== undefined) {
        for (const record of quarantine) expect(record.reason).toContain(expectation.reason);
      }
    },
  );

  it('reads the whole corpus as one multi-member gzip file (the files one after another)', async () => {
    const members = expectations.map((expectation) => {
      const text = readFileSync(join(CONFORMANCE, expectation.file));
      // A file without a final newline must not run into the next file's #Version line.
      return gzipSync(text.at(-1) === 0x0a ? text : Buffer.concat([text, Buffer.from('\n')]));
    });
    const run = await harness.run('conformance/all.gz', Buffer.concat(members));
    const accepted = expectations.reduce((sum, expectation) => sum + expectation.accepted, 0);
    const quarantined = expectations.reduce((sum, expectation) => sum + expectation.quarantined, 0);
    expect(run.result.rows).toEqual({ read: accepted + quarantined, accepted, quarantined });
  });
});
