import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { generateLogLines } from '#local/sample/index';

export interface BenchInput {
  path: string;
  rows: number;
  /** Uncompressed bytes (header included). */
  textBytes: number;
  gzipBytes: number;
  /** Whether this call generated it (false: reused from an earlier run). */
  generated: boolean;
  generateMs: number;
}

export interface InputOptions {
  folder: string;
  seed: number;
  /** Stop after this many data rows… */
  rows?: number;
  /** …or once the uncompressed text reaches this many bytes. */
  textBytes?: number;
  /** Request rate of the generated traffic: with 300/s a million rows span about 56 minutes. */
  rowsPerSecond: number;
  start: Date;
}

/**
 * The benches' input of `rows` rows (300 requests/s from 2024-07-13 10:30: a million rows span
 * two hours), generated once per seed and size and reused by every transform bench.
 */
export function rowsInput(folder: string, seed: number, rows: number): Promise<BenchInput> {
  return benchInput({ folder, seed, rows, rowsPerSecond: 300, start: new Date('2024-07-13T10:30:00Z') });
}

/**
 * A seeded gzip CloudFront log made by the sample generator's `generateLogLines` (the same pools:
 * Zipf paths and clients, real agents, status mix, TLS, ranges, 33 fields), written once and reused
 * while the generator's source and the options are unchanged (the name carries a digest of both).
 */
export async function benchInput(options: InputOptions): Promise<BenchInput> {
  const digest = createHash('sha256')
    .update(JSON.stringify({ ...options, folder: undefined }))
    .update(generatorSource())
    .digest('hex')
    .slice(0, 12);
  const size = options.rows !== undefined ? `${options.rows}rows` : `${options.textBytes}bytes`;
  const path = join(options.folder, `E2BENCH.${size}.seed${options.seed}.${digest}.gz`);
  const metaPath = `${path}.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    return { ...JSON.parse(readFileSync(metaPath, 'utf8')), path, generated: false };
  }
  const started = performance.now();
  const partial = `${path}.partial`;
  const gzip = createGzip({ level: 6 });
  const file = createWriteStream(partial);
  gzip.pipe(file);
  const maxRows = options.rows ?? Number.MAX_SAFE_INTEGER;
  const maxBytes = options.textBytes ?? Number.MAX_SAFE_INTEGER;
  let rows = -2; // the two header lines come first
  let textBytes = 0;
  let pending = '';
  for (const line of generateLogLines({
    seed: options.seed,
    start: options.start,
    rows: maxRows,
    rowsPerSecond: options.rowsPerSecond,
  })) {
    pending += `${line}\n`;
    textBytes += Buffer.byteLength(line) + 1;
    rows++;
    if (pending.length > 1 << 20) {
      if (!gzip.write(pending)) await once(gzip, 'drain');
      pending = '';
    }
    if (textBytes >= maxBytes) break;
  }
  gzip.end(pending);
  await once(file, 'close');
  renameSync(partial, path);
  const result = {
    rows,
    textBytes,
    gzipBytes: statSync(path).size,
    generateMs: Math.round(performance.now() - started),
  };
  writeFileSync(metaPath, JSON.stringify(result));
  return { ...result, path, generated: true };
}

function generatorSource(): string {
  const folder = join(__dirname, '..', '..', 'local', 'sample');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => readFileSync(join(folder, name), 'utf8'))
    .join('\n');
}
