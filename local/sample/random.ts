/**
 * A small seeded PRNG and the distributions the sample generator draws from. Own code rather than a
 * dependency: the generator's output must be byte-identical for a seed on every machine and Node
 * version, which `Math.random` never is and a library upgrade might not be.
 */

/** A seeded source of uniform numbers in [0, 1). */
export type Random = () => number;

// Bound once: under Jest's VM context every `Math.x` goes through the sandbox's global object, which
// made the generator ten times slower there than under tsx.
const { imul, floor, log, sqrt, cos, exp, PI } = Math;

/** mulberry32: 32 bits of state, fast, and good enough for synthetic data (not for cryptography). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A seed for an independent sub-stream (`deriveSeed(seed, 'file', 7)`), so each file's content
 * depends only on the seed and the file's slot, not on how many numbers other parts drew before it.
 */
export function deriveSeed(seed: number, ...labels: ReadonlyArray<string | number>): number {
  // FNV-1a over the seed's decimal text and the labels, then a murmur3 finaliser to spread the bits.
  let hash = 0x811c9dc5;
  for (const char of [String(seed), ...labels.map(String)].join('\u0001')) {
    hash = imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  }
  hash = imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** A seeded PRNG for the sub-stream named by `labels`. */
export function randomFor(seed: number, ...labels: ReadonlyArray<string | number>): Random {
  return mulberry32(deriveSeed(seed, ...labels));
}

/** An integer in [min, max], both inclusive. */
export function integerBetween(random: Random, min: number, max: number): number {
  return min + floor(random() * (max - min + 1));
}

/** True with probability `p`. */
export function chance(random: Random, p: number): boolean {
  return random() < p;
}

/** One element, uniformly. */
export function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[floor(random() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

/** Random text over an alphabet (ids, hashes). */
export function randomText(random: Random, alphabet: string, length: number): string {
  let text = '';
  for (let index = 0; index < length; index++) text += alphabet[floor(random() * alphabet.length)];
  return text;
}

/**
 * Sampling by weight in O(log n): cumulative weights and a binary search, so a Zipf choice among
 * thousands of paths costs the same per row as a choice among three methods.
 */
export class WeightedChoice<T> {
  private readonly items: T[];
  private readonly cumulative: Float64Array;
  private readonly total: number;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new RangeError('WeightedChoice needs at least one entry');
    this.items = entries.map(([item]) => item);
    this.cumulative = new Float64Array(entries.length);
    let total = 0;
    entries.forEach(([, weight], index) => {
      if (!(weight >= 0)) throw new RangeError(`negative or NaN weight ${weight}`);
      total += weight;
      this.cumulative[index] = total;
    });
    if (total <= 0) throw new RangeError('WeightedChoice needs a positive total weight');
    this.total = total;
  }

  /** Items weighted by Zipf's law: the k-th (from 1) has weight 1/k^exponent. */
  static zipf<T>(items: readonly T[], exponent: number): WeightedChoice<T> {
    return new WeightedChoice(items.map((item, index) => [item, 1 / (index + 1) ** exponent] as const));
  }

  sample(random: Random): T {
    const target = random() * this.total;
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.cumulative[middle] ?? 0) > target) high = middle;
      else low = middle + 1;
    }
    return this.items[low] as T;
  }
}

/** A standard normal deviate (Box–Muller; one of the pair is dropped to keep the state trivial). */
export function standardNormal(random: Random): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  return sqrt(-2 * log(u)) * cos(2 * PI * random());
}

/** Log-normal with the given median and sigma of the underlying normal: sizes and latencies. */
export function logNormal(random: Random, median: number, sigma: number): number {
  return median * exp(sigma * standardNormal(random));
}

/** Exponential with the given mean: gaps between independent arrivals. */
export function exponential(random: Random, mean: number): number {
  return -mean * log(1 - random());
}
