import { ByteWriter } from './byte-writer';

const INITIAL_SLOTS = 1024;
/** The cache has 2^(32 − 20) = 4,096 slots, picked by the top bits of a multiplicative hash. */
const CACHE_SHIFT = 20;
const CACHE_SLOTS = 1 << (32 - CACHE_SHIFT);

/**
 * The distinct byte strings of one column chunk, in order of first appearance, kept as the
 * dictionary page's PLAIN body (a 4-byte little-endian length before each value), with an
 * open-addressing hash table over them. `indexOf` gives a value's index, adding it when new.
 * No JavaScript string per value: values are hashed and compared as bytes where they lie.
 */
export class ByteDictionary {
  /** The dictionary page body: PLAIN-encoded entries. */
  readonly entries = new ByteWriter(64 * 1024);
  size = 0;
  /** Where each entry's bytes start in `entries` (after its length), and their length. */
  private starts = new Int32Array(INITIAL_SLOTS);
  private lengths = new Int32Array(INITIAL_SLOTS);
  private hashes = new Int32Array(INITIAL_SLOTS);
  /** Entry index + 1 per slot (0: empty); a power of two, at most half full. */
  private slots = new Int32Array(INITIAL_SLOTS * 2);
  /**
   * A recently seen value per slot (see `indexOf`): its entry index + 1 (0: empty), its length and
   * its first and last four bytes.
   */
  private readonly cacheEntries = new Int32Array(CACHE_SLOTS);
  private readonly cacheLengths = new Int32Array(CACHE_SLOTS);
  private readonly cacheHeads = new Int32Array(CACHE_SLOTS);
  private readonly cacheTails = new Int32Array(CACHE_SLOTS);
  private entriesView = new DataView(this.entries.bytes.buffer);

  /**
   * The index of `source[start, end)`, added as a new entry if absent. `view` is a DataView over
   * `source` (words are read four bytes at a time through it).
   */
  indexOf(source: Uint8Array, view: DataView, start: number, end: number): number {
    const length = end - start;
    // Most columns repeat a few values: a small direct-mapped cache keyed by the value's length and
    // its first and last four bytes finds them without hashing every byte. Up to 8 bytes those
    // cover the whole value; a longer one is compared in between. A wrong guess costs that
    // comparison and the hash below; the cache never decides on a hash alone.
    let head = 0;
    let tail = 0;
    if (length >= 4) {
      head = view.getInt32(start, true);
      tail = view.getInt32(end - 4, true);
    } else for (let index = start; index < end; index++) head = (head << 8) | source[index]!;
    const slot = Math.imul(head ^ Math.imul(tail, 0x9e3779b1) ^ length, 0x85ebca6b) >>> CACHE_SHIFT;
    const cached = this.cacheEntries[slot]! - 1;
    if (
      cached >= 0 &&
      this.cacheLengths[slot] === length &&
      this.cacheHeads[slot] === head &&
      this.cacheTails[slot] === tail &&
      (length <= 8 || this.equals(cached, source, view, start + 4, end - 4, 4))
    ) {
      return cached;
    }
    const entry = this.lookup(source, view, start, end);
    this.cacheEntries[slot] = entry + 1;
    this.cacheLengths[slot] = length;
    this.cacheHeads[slot] = head;
    this.cacheTails[slot] = tail;
    return entry;
  }

  private lookup(source: Uint8Array, view: DataView, start: number, end: number): number {
    const length = end - start;
    const hash = hashBytes(source, view, start, end);
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const found = slots[slot]!;
      if (found === 0) break;
      const entry = found - 1;
      if (
        this.hashes[entry] === hash &&
        this.lengths[entry] === length &&
        this.equals(entry, source, view, start, end, 0)
      ) {
        return entry;
      }
      slot = (slot + 1) & mask;
    }
    return this.add(source, start, end, hash, slot);
  }

  /**
   * Whether entry `entry` (of the same length) holds `source[start, end)` from its byte `skip` on
   * (the bytes before `start` and after `end` are known to match).
   */
  private equals(
    entry: number,
    source: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    skip: number,
  ): boolean {
    const bytes = this.entries.bytes;
    if (this.entriesView.buffer !== bytes.buffer) {
      this.entriesView = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    }
    const entries = this.entriesView;
    let at = this.starts[entry]! + skip;
    let index = start;
    for (const pairs = end - 7; index < pairs; index += 8, at += 8) {
      if (
        entries.getInt32(at, true) !== view.getInt32(index, true) ||
        entries.getInt32(at + 4, true) !== view.getInt32(index + 4, true)
      ) {
        return false;
      }
    }
    if (index < end - 3) {
      if (entries.getInt32(at, true) !== view.getInt32(index, true)) return false;
      at += 4;
      index += 4;
    }
    while (index < end && bytes[at] === source[index]) {
      at++;
      index++;
    }
    return index === end;
  }

  private add(source: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const entry = this.size++;
    if (entry === this.starts.length) this.growEntries();
    this.entries.uint32(end - start);
    this.starts[entry] = this.entries.length;
    this.lengths[entry] = end - start;
    this.hashes[entry] = hash;
    this.entries.append(source, start, end);
    this.slots[slot] = entry + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return entry;
  }

  /** Entry `index`'s bytes: `[start, start + length)` of `entries.bytes`. */
  entryStart(index: number): number {
    return this.starts[index]!;
  }

  entryLength(index: number): number {
    return this.lengths[index]!;
  }

  /** Bytes of the dictionary page body. */
  get byteLength(): number {
    return this.entries.length;
  }

  private growEntries(): void {
    const grow = (array: Int32Array) => {
      const next = new Int32Array(array.length * 2);
      next.set(array);
      return next;
    };
    this.starts = grow(this.starts);
    this.lengths = grow(this.lengths);
    this.hashes = grow(this.hashes);
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.size; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
  }

  /** Empties the dictionary for the next column chunk, keeping its memory. */
  reset(): void {
    if (this.size === 0) return;
    this.slots.fill(0);
    this.cacheEntries.fill(0);
    this.size = 0;
    this.entries.reset();
  }
}

/**
 * A 32-bit hash of bytes: four at a time (a multiply-xorshift step per word, so a 100-byte user
 * agent is 25 dependent multiplies, not 100), the last 0–3 one at a time, then a final mix so the
 * low bits, which pick the slot, depend on every byte.
 */
export function hashBytes(source: Uint8Array, view: DataView, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  let index = start;
  for (const words = end - 3; index < words; index += 4) {
    hash = Math.imul(hash ^ view.getInt32(index, true), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  for (; index < end; index++) hash = Math.imul(hash ^ source[index]!, 0x01000193);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  hash ^= hash >>> 12;
  return hash;
}
