/**
 * `npx tsx local/sample/cli.ts --dir DIR --seed N --day YYYY-MM-DD [--files-per-hour N]
 * [--rows-per-file N] [--hours N] [--distribution-id ID] [--no-plant]`: writes a sample day of
 * CloudFront logs and `expected.json` into DIR, and prints the expectation.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type SampleOptions, writeSampleDirectory } from './index';

export const USAGE = `Usage: npx tsx local/sample/cli.ts --dir DIR --seed N --day YYYY-MM-DD
         [--files-per-hour N] [--rows-per-file N] [--hours N] [--distribution-id ID] [--no-plant]
Writes a seeded sample day of CloudFront logs and expected.json into DIR and prints the expectation.`;

/** Parses the flags; a missing required flag or a non-integer fails with the usage text. */
export function parseSampleArgs(argv: string[]): { dir: string; options: SampleOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string' },
      seed: { type: 'string' },
      day: { type: 'string' },
      'files-per-hour': { type: 'string' },
      'rows-per-file': { type: 'string' },
      hours: { type: 'string' },
      'distribution-id': { type: 'string' },
      'no-plant': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const required = (name: 'dir' | 'seed' | 'day'): string => {
    const value = values[name];
    if (value === undefined) throw new Error(`--${name} is required\n${USAGE}`);
    return value;
  };
  const integer = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
      throw new Error(`--${flag} must be an integer, got '${text}'\n${USAGE}`);
    }
    return value;
  };
  return {
    dir: resolve(required('dir')),
    options: {
      seed: integer('seed', required('seed')) ?? 0,
      day: required('day'),
      filesPerHour: integer('files-per-hour', values['files-per-hour']),
      rowsPerFile: integer('rows-per-file', values['rows-per-file']),
      hours: integer('hours', values.hours),
      distributionId: values['distribution-id'],
      plant: !values['no-plant'],
    },
  };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  try {
    const { dir, options } = parseSampleArgs(argv);
    const expected = writeSampleDirectory(dir, options);
    console.log(JSON.stringify({ dir, ...expected }, null, 2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    // A flag parseArgs does not know (or a missing value) is a usage error: exit 2 with the usage.
    const code = (error as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
    process.exitCode =
      code?.startsWith('ERR_PARSE_ARGS') || (error instanceof Error && error.message.includes('Usage:'))
        ? 2
        : 1;
  }
}
