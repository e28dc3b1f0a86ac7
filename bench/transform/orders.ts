import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip, createGzip } from 'node:zlib';
import { withHour } from '#local/sample/index';
import { mulberry32 } from '#local/sample/random';
import type { BenchInput } from './input';

/**
 * Row orders a raw file arrives in, made from one generated input: the same rows, each given the
 * hour its order calls for (the date and hour fields rewritten in place, same byte lengths; minutes,
 * seconds and every other field kept), written in the input's order. So each variant holds the same
 * bytes to parse and the same values to encode; only which hour each row falls in differs.
 */
export const ORDERS = {
  sorted: 'as generated: time order',
  'round-robin-5': '5 hours round-robin (consecutive rows in different hours)',
  'round-robin-48': '48 hours round-robin over two days',
  'random-24': '24 hours in random order, 1 % of rows from the previous day',
} as const;
/**
 * Files spanning a year of hours (8,760), for `bench:transform:ab -- --orders year-sorted,year-random`
 * (not in `bench:transform`'s rounds: minutes per run). A year's export in one file, and the same
 * rows in random hours: thousands of hours of a few rows each (docs/transform.md, "Many hours in one file").
 */
export const YEAR_ORDERS = {
  'year-sorted': 'the 8,760 hours of 2024 in time order, the same number of rows in each',
  'year-random': 'each row in a random hour of 2024',
} as const;

export const ALL_ORDERS = { ...ORDERS, ...YEAR_ORDERS };
export type RowOrder = keyof typeof ALL_ORDERS;

const YEAR_HOURS = 8_760;

const DAY = '2024-07-13';
const PREVIOUS_DAY = '2024-07-12';
const NEXT_DAY = '2024-07-14';

/** The hour (day, hour of day) row `index` gets in `order`; undefined keeps the row's own. */
function hourFor(
  order: RowOrder,
  index: number,
  rows: number,
  random: () => number,
): { day: string; hour: number } | undefined {
  switch (order) {
    case 'sorted':
      return undefined;
    case 'round-robin-5':
      return { day: DAY, hour: 10 + (index % 5) };
    case 'round-robin-48': {
      const slot = index % 48;
      return { day: slot < 24 ? DAY : NEXT_DAY, hour: slot % 24 };
    }
    case 'random-24':
      return random() < 0.01
        ? { day: PREVIOUS_DAY, hour: Math.floor(random() * 24) }
        : { day: DAY, hour: Math.floor(random() * 24) };
    case 'year-sorted':
      return yearHour(Math.floor((index * YEAR_HOURS) / rows));
    case 'year-random':
      return yearHour(Math.floor(random() * YEAR_HOURS));
  }
}

/** Hour `slot` of 2024 (0 is 2024-01-01T00). */
function yearHour(slot: number): { day: string; hour: number } {
  const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(slot / 24) * 86_400_000).toISOString().slice(0, 10);
  return { day, hour: slot % 24 };
}

/** The input rewritten to `order` (made once, reused while the input is the same file). */
export async function orderedInput(input: BenchInput, order: RowOrder, seed: number): Promise<BenchInput> {
  if (order === 'sorted') return input;
  const path = input.path.replace(/\.gz$/, `.${order}.gz`);
  const metaPath = `${path}.json`;
  if (existsSync(path) && existsSync(metaPath)) {
    return { ...JSON.parse(readFileSync(metaPath, 'utf8')), path, generated: false };
  }
  const started = performance.now();
  const random = mulberry32(seed);
  const partial = `${path}.partial`;
  const gzip = createGzip({ level: 6 });
  const file = createWriteStream(partial);
  gzip.pipe(file);
  const lines = createInterface({
    input: createReadStream(input.path).pipe(createGunzip()),
    crlfDelay: Infinity,
  });
  let index = 0;
  let pending = '';
  for await (const line of lines) {
    let text = line;
    if (!line.startsWith('#')) {
      const target = hourFor(order, index++, input.rows, random);
      if (target !== undefined) text = withHour(line, target.day, target.hour);
    }
    pending += `${text}\n`;
    if (pending.length > 1 << 20) {
      if (!gzip.write(pending)) await once(gzip, 'drain');
      pending = '';
    }
  }
  gzip.end(pending);
  await once(file, 'close');
  renameSync(partial, path);
  const result = {
    rows: input.rows,
    textBytes: input.textBytes,
    gzipBytes: statSync(path).size,
    generateMs: Math.round(performance.now() - started),
  };
  writeFileSync(metaPath, JSON.stringify(result));
  return { ...result, path, generated: true };
}
