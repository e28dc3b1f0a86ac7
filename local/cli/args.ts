import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a CLI's flags the same way for every command: `--help` (which `options` must declare)
 * prints this command's usage and exits 0; an unknown flag or a missing value prints the problem
 * and the usage and exits 2.
 */
export function parseCli<T extends Options & { help: { type: 'boolean' } }>(
  usage: string,
  options: T,
  argv: string[] = process.argv.slice(2),
) {
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true as const });
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error), usage);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(usage);
    process.exit(0);
  }
  return parsed.values;
}

/** A usage error found after parsing (a bad value): the message and the usage, exit 2. */
export function usageError(message: string, usage: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}
