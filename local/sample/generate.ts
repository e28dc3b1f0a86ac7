import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chance, integerBetween, pick, type Random, randomFor, randomText, WeightedChoice } from './random';
import {
  buildWorld,
  type Distribution,
  distributionIdFor,
  fieldIndex,
  generateRow,
  HEADER_LINES,
  nextGapMs,
  type World,
} from './world';

export interface SampleOptions {
  seed: number;
  /** The UTC day the logs cover, `YYYY-MM-DD`. */
  day: string;
  /** All files from this distribution; by default a few seeded distributions share the files. */
  distributionId?: string;
  /** Default 4. */
  filesPerHour?: number;
  /** Data rows in each file (planted bad rows included). Default 250. */
  rowsPerFile?: number;
  /** Hours 00 to hours-1 of the day. Default 24. */
  hours?: number;
  /** Plant the problems real log buckets have (see `generateSample`). Default true. */
  plant?: boolean;
}

export interface SampleFile {
  /** `<distribution-id>.YYYY-MM-DD-HH.<unique-id>.gz`, like CloudFront. */
  name: string;
  /** gzip bytes. */
  body: Buffer;
}

/** What a correct transform makes of the sample, counted while generating it (not by parsing it). */
export interface SampleExpectation {
  files: number;
  /** Data rows in readable files (accepted + quarantined). */
  rowsRead: number;
  rowsAccepted: number;
  rowsQuarantined: number;
  filesQuarantined: number;
  quarantinedFileNames: string[];
  /** Accepted rows per `YYYY-MM-DDTHH` of each row's own timestamp. */
  acceptedByHour: Record<string, number>;
  /** Sum of sc-bytes of accepted rows, per hour. */
  bytesByHour: Record<string, number>;
}

export interface LogLinesOptions {
  seed: number;
  /** Time of the first row; later rows follow at `rowsPerSecond` on average. */
  start: Date;
  rows: number;
  /** Default 50. */
  rowsPerSecond?: number;
  distributionId?: string;
  /** Begin with the `#Version` and `#Fields` lines. Default true. */
  header?: boolean;
}

/** Problems planted in whole files, one file each. */
type FilePlant = 'truncated-gzip' | 'late-delivery' | 'crlf' | 'multi-member-gzip' | 'no-final-newline';

/** Problems planted in single rows: all quarantined but the invalid UTF-8, which must be kept. */
type RowPlant =
  | 'short-row'
  | 'extra-field'
  | 'unparseable-bytes'
  | 'impossible-date'
  | 'impossible-time'
  | 'unparseable-time-taken'
  | 'invalid-utf8-agent';

const ROW_PLANTS: readonly RowPlant[] = [
  'short-row',
  'extra-field',
  'unparseable-bytes',
  'impossible-date',
  'impossible-time',
  'unparseable-time-taken',
  'invalid-utf8-agent',
];

/** Not UTF-8: a two-byte lead followed by ASCII, then a byte that never occurs in UTF-8. */
const INVALID_UTF8 = Buffer.from([0xc3, 0x28, 0xff]);

const DEFAULT_FILES_PER_HOUR = 4;
const DEFAULT_ROWS_PER_FILE = 250;
const DEFAULT_ROWS_PER_SECOND = 50;
const HOUR_MS = 3_600_000;
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** One file to be: which hour its name carries, whose it is, and its name's unique part. */
interface FileSlot {
  index: number;
  hour: number;
  distribution: Distribution;
  name: string;
}

interface ProblemPlan {
  files: Map<number, FilePlant>;
  /** Slot index → data-row position → problem. */
  rows: Map<number, Map<number, RowPlant>>;
}

/** A data line and what the parser must make of it. */
interface DataLine {
  text: string | Buffer;
  accepted: boolean;
  timeMs: number;
  scBytes: number;
}

/**
 * A day of CloudFront standard logs, deterministic for `seed`: `filesPerHour` gzip files for each
 * hour, each of `rowsPerFile` rows with roughly sorted timestamps in its hour. With `plant`, the
 * problems real buckets have: bad rows (wrong field count, `12x` bytes, `2024-02-30`, `25:61:00`,
 * a malformed time-taken), invalid UTF-8 inside a user agent (accepted, its invalid bytes kept as `%XX`), a
 * truncated gzip file, a late-delivered file holding rows of the hour before and after its name's,
 * CRLF line ends, a multi-member gzip file and a file without a final newline. `expected` counts
 * each of them as the transform must.
 */
export function generateSample(options: SampleOptions): { files: SampleFile[]; expected: SampleExpectation } {
  const settings = validated(options);
  const world = worldFor(settings.seed, settings.distributionId);
  const slots = fileSlots(settings, world);
  const plan: ProblemPlan = settings.plant
    ? planProblems(randomFor(settings.seed, 'plant'), slots, settings.rowsPerFile)
    : { files: new Map(), rows: new Map() };

  const files: SampleFile[] = [];
  const tally = new ExpectationTally();
  for (const slot of slots) {
    const filePlant = plan.files.get(slot.index);
    const random = randomFor(settings.seed, 'file', slot.index);
    const times = rowTimes(
      random,
      settings.dayStartMs,
      slot.hour,
      settings.rowsPerFile,
      filePlant === 'late-delivery',
    );
    const rowPlants = plan.rows.get(slot.index);
    const lines = times.map((timeMs, position) => {
      const row = generateRow(world, slot.distribution, random, timeMs);
      return plantInRow(row.fields, row.scBytes, timeMs, rowPlants?.get(position));
    });
    const text = render(lines, filePlant === 'crlf' ? '\r\n' : '\n', filePlant !== 'no-final-newline');
    files.push({ name: slot.name, body: compress(text, filePlant) });
    if (filePlant === 'truncated-gzip') tally.unreadableFile(slot.name);
    else tally.readableFile(lines);
  }
  files.sort((a, b) => a.name.localeCompare(b.name));
  return { files, expected: tally.result(files.length) };
}

/** Writes the sample's files and `expected.json` (the returned expectation) into `dir`. */
export function writeSampleDirectory(dir: string, options: SampleOptions): SampleExpectation {
  const { files, expected } = generateSample(options);
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file.name), file.body);
  writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
  return expected;
}

/**
 * Raw log lines (no line ends) for benchmarks: the header, then `rows` rows one after another from
 * `start`. Lazy: each row is made when asked for, so millions stream in constant memory. Rows are
 * drawn from the same seeded pools as `generateSample`'s, without planted problems.
 */
export function* generateLogLines(options: LogLinesOptions): Generator<string, void, undefined> {
  const rowsPerSecond = options.rowsPerSecond ?? DEFAULT_ROWS_PER_SECOND;
  if (!(rowsPerSecond > 0)) throw new RangeError(`rowsPerSecond must be positive, got ${rowsPerSecond}`);
  if (!(options.rows >= 0)) throw new RangeError(`rows must be 0 or more, got ${options.rows}`);
  const world = worldFor(options.seed, options.distributionId);
  const distribution = world.distributions[0];
  if (distribution === undefined) throw new RangeError('no distribution');
  const random = randomFor(options.seed, 'lines');
  if (options.header ?? true) yield* HEADER_LINES;
  let timeMs = options.start.getTime();
  for (let row = 0; row < options.rows; row++) {
    yield generateRow(world, distribution, random, Math.floor(timeMs)).fields.join('\t');
    timeMs += nextGapMs(random, rowsPerSecond);
  }
}

type Settings = Required<Omit<SampleOptions, 'distributionId'>> & {
  distributionId: string | undefined;
  dayStartMs: number;
};

function validated(options: SampleOptions): Settings {
  const positiveInteger = (name: string, value: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
    }
    return value;
  };
  const dayStartMs = Date.parse(`${options.day}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(options.day) ||
    new Date(dayStartMs).toISOString().slice(0, 10) !== options.day
  ) {
    throw new RangeError(`day must be a real date as YYYY-MM-DD, got '${options.day}'`);
  }
  if (options.distributionId !== undefined && !/^[A-Z0-9]+$/.test(options.distributionId)) {
    throw new RangeError(`distributionId is upper-case letters and digits, got '${options.distributionId}'`);
  }
  if (!Number.isInteger(options.seed)) throw new RangeError(`seed must be an integer, got ${options.seed}`);
  return {
    seed: options.seed,
    day: options.day,
    dayStartMs,
    distributionId: options.distributionId,
    filesPerHour: positiveInteger('filesPerHour', options.filesPerHour ?? DEFAULT_FILES_PER_HOUR),
    rowsPerFile: positiveInteger('rowsPerFile', options.rowsPerFile ?? DEFAULT_ROWS_PER_FILE),
    hours: positiveInteger('hours', options.hours ?? 24, 24),
    plant: options.plant ?? true,
  };
}

/** The pools depend only on the seed (and a given distribution id), so samples and lines share them. */
function worldFor(seed: number, distributionId: string | undefined): World {
  const idRandom = randomFor(seed, 'distributions');
  const ids =
    distributionId !== undefined ? [distributionId] : [0, 1, 2].map(() => distributionIdFor(idRandom));
  return buildWorld(randomFor(seed, 'world'), ids);
}

function fileSlots(settings: Settings, world: World): FileSlot[] {
  const random = randomFor(settings.seed, 'slots');
  // The first distribution is the busy site, the others smaller ones logging to the same bucket.
  const distributions = new WeightedChoice(
    world.distributions.map((d, i) => [d, [6, 3, 1][i] ?? 1] as const),
  );
  const names = new Set<string>();
  const slots: FileSlot[] = [];
  for (let hour = 0; hour < settings.hours; hour++) {
    for (let file = 0; file < settings.filesPerHour; file++) {
      const distribution = distributions.sample(random);
      const stamp = `${settings.day}-${String(hour).padStart(2, '0')}`;
      let name: string;
      do name = `${distribution.id}.${stamp}.${randomText(random, LOWER_ALNUM, 8)}.gz`;
      while (names.has(name));
      names.add(name);
      slots.push({ index: slots.length, hour, distribution, name });
    }
  }
  return slots;
}

/** Picks the files and rows that get a problem: each file problem in its own file, rows distinct. */
function planProblems(random: Random, slots: readonly FileSlot[], rowsPerFile: number): ProblemPlan {
  // The late file holds rows of the hour before and after its name's, both inside the day.
  const lateCandidates = slots.filter((slot) => slot.hour >= 1 && slot.hour <= 22);
  if (slots.length < 5 || lateCandidates.length === 0 || rowsPerFile < 3) {
    throw new RangeError(
      'planting problems needs at least 5 files, an hour from 01 to 22 (hours ≥ 2) and 3 rows per file; pass plant: false for smaller samples',
    );
  }
  const late = pick(random, lateCandidates);
  const others = slots.filter((slot) => slot !== late);
  const files = new Map<number, FilePlant>([[late.index, 'late-delivery']]);
  for (const plant of ['truncated-gzip', 'crlf', 'multi-member-gzip', 'no-final-newline'] as const) {
    const free = others.filter((slot) => !files.has(slot.index));
    files.set(pick(random, free).index, plant);
  }
  const readable = slots.filter((slot) => files.get(slot.index) !== 'truncated-gzip');
  const rows = new Map<number, Map<number, RowPlant>>();
  for (const plant of ROW_PLANTS) {
    for (;;) {
      const slot = pick(random, readable);
      const position = integerBetween(random, 0, rowsPerFile - 1);
      const inFile = rows.get(slot.index) ?? new Map<number, RowPlant>();
      if (inFile.has(position)) continue;
      inFile.set(position, plant);
      rows.set(slot.index, inFile);
      break;
    }
  }
  return { files, rows };
}

/**
 * Whole-second timestamps (CloudFront logs no fractions), sorted but for a few neighbours swapped:
 * an edge writes requests as they finish, so the order is only roughly that of the times.
 */
function rowTimes(random: Random, dayStartMs: number, hour: number, rows: number, late: boolean): number[] {
  const times: number[] = [];
  const fill = (count: number, inHour: number) => {
    const hourStart = dayStartMs + inHour * HOUR_MS;
    for (let index = 0; index < count; index++)
      times.push(hourStart + integerBetween(random, 0, 3_599) * 1_000);
  };
  if (late) {
    const edge = Math.max(1, Math.floor(rows / 4));
    fill(edge, hour - 1);
    fill(rows - 2 * edge, hour);
    fill(edge, hour + 1);
  } else {
    fill(rows, hour);
  }
  times.sort((a, b) => a - b);
  for (let index = 1; index < times.length; index++) {
    if (chance(random, 0.03)) {
      const previous = times[index - 1] ?? 0;
      times[index - 1] = times[index] ?? 0;
      times[index] = previous;
    }
  }
  return times;
}

/** The line for one row, with its planted problem if it has one. */
function plantInRow(
  fields: string[],
  scBytes: number,
  timeMs: number,
  plant: RowPlant | undefined,
): DataLine {
  const line = (text: string | Buffer, accepted = false): DataLine => ({ text, accepted, timeMs, scBytes });
  const replaced = (name: Parameters<typeof fieldIndex>[0], value: string) => {
    const copy = [...fields];
    copy[fieldIndex(name)] = value;
    return copy.join('\t');
  };
  switch (plant) {
    case undefined:
      return line(fields.join('\t'), true);
    case 'short-row':
      return line(fields.slice(0, 20).join('\t')); // a line cut short, as by a truncated write
    case 'extra-field':
      return line([...fields, 'extra'].join('\t')); // 34 non-empty fields: not the tolerated stray tab
    case 'unparseable-bytes':
      return line(replaced('sc-bytes', '12x'));
    case 'impossible-date':
      return line(replaced('date', '2024-02-30'));
    case 'impossible-time':
      return line(replaced('time', '25:61:00'));
    case 'unparseable-time-taken':
      return line(replaced('time-taken', '0.0.1'));
    case 'invalid-utf8-agent': {
      const [before, after] = replaced(
        'cs(User-Agent)',
        'Mozilla/5.0%20(compatible;%20Bad\u0000Bytes/1.0)',
      ).split('\u0000');
      return line(Buffer.concat([Buffer.from(before ?? ''), INVALID_UTF8, Buffer.from(after ?? '')]), true);
    }
  }
}

/** The file's text: header, then data lines, joined by `lineEnd`, optionally without the last one. */
function render(lines: readonly DataLine[], lineEnd: string, finalNewline: boolean): Buffer {
  const chunks: Buffer[] = [];
  let pending = '';
  const all: Array<string | Buffer> = [...HEADER_LINES, ...lines.map((line) => line.text)];
  all.forEach((text, index) => {
    const end = index < all.length - 1 || finalNewline ? lineEnd : '';
    if (typeof text === 'string') {
      pending += text + end;
    } else {
      chunks.push(Buffer.from(pending), text);
      pending = end;
    }
  });
  chunks.push(Buffer.from(pending));
  return Buffer.concat(chunks);
}

function compress(text: Buffer, plant: FilePlant | undefined): Buffer {
  if (plant === 'multi-member-gzip') {
    // Members need not end at a line end (a writer may flush anywhere), so split mid-text.
    const middle = Math.floor(text.length / 2);
    return Buffer.concat([gzipSync(text.subarray(0, middle)), gzipSync(text.subarray(middle))]);
  }
  const gzip = gzipSync(text);
  // An upload cut short: the gzip header and part of the deflate stream, no CRC/size trailer.
  if (plant === 'truncated-gzip') return Buffer.from(gzip.subarray(0, Math.floor(gzip.length * 0.6)));
  return gzip;
}

/** Counts what the transform must report, row by row, as the files are made. */
class ExpectationTally {
  private rowsAccepted = 0;
  private rowsQuarantined = 0;
  private readonly quarantinedFiles: string[] = [];
  private readonly acceptedByHour = new Map<string, number>();
  private readonly bytesByHour = new Map<string, number>();

  readableFile(lines: readonly DataLine[]): void {
    for (const line of lines) {
      if (!line.accepted) {
        this.rowsQuarantined++;
        continue;
      }
      this.rowsAccepted++;
      const hour = new Date(line.timeMs).toISOString().slice(0, 13);
      this.acceptedByHour.set(hour, (this.acceptedByHour.get(hour) ?? 0) + 1);
      this.bytesByHour.set(hour, (this.bytesByHour.get(hour) ?? 0) + line.scBytes);
    }
  }

  unreadableFile(name: string): void {
    this.quarantinedFiles.push(name);
  }

  result(files: number): SampleExpectation {
    const sorted = (map: Map<string, number>) =>
      Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
    return {
      files,
      rowsRead: this.rowsAccepted + this.rowsQuarantined,
      rowsAccepted: this.rowsAccepted,
      rowsQuarantined: this.rowsQuarantined,
      filesQuarantined: this.quarantinedFiles.length,
      quarantinedFileNames: [...this.quarantinedFiles].sort(),
      acceptedByHour: sorted(this.acceptedByHour),
      bytesByHour: sorted(this.bytesByHour),
    };
  }
}

/**
 * The log line moved to another hour: its date and hour fields rewritten in place (same length;
 * minutes, seconds and every other field kept). Tests and benchmarks make row orders with it.
 */
export function withHour(line: string, day: string, hour: number): string {
  return `${day}\t${String(hour).padStart(2, '0')}${line.slice(13)}`;
}
