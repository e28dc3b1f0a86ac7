/**
 * S3's listing semantics over a sorted key set: UTF-8 binary order, prefix, delimiter with common
 * prefixes, and an exclusive start that may be a key or a common prefix already returned, so paging
 * by the last returned entry never skips or repeats one.
 */

/** UTF-8 byte order, which is code point order (JavaScript's `<` compares UTF-16 units). */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    // Surrogates (U+D800–U+DFFF) encode code points above U+FFFF: they sort after U+E000–U+FFFF.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Keys in S3 order, with insertion and removal by binary search. */
export class SortedKeys {
  private readonly keys: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key greater than `key` (or ≥ with `inclusive`). */
  bound(key: string, inclusive = false): number {
    let low = 0;
    let high = this.keys.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = compareKeys(this.keys[middle]!, key);
      if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  add(key: string): void {
    const index = this.bound(key, true);
    if (this.keys[index] !== key) this.keys.splice(index, 0, key);
  }

  remove(key: string): void {
    const index = this.bound(key, true);
    if (this.keys[index] === key) this.keys.splice(index, 1);
  }

  at(index: number): string | undefined {
    return this.keys[index];
  }
}

export interface ListRequest {
  prefix: string;
  delimiter: string;
  /** Exclusive start: a key or a common prefix (V1 Marker, V2 StartAfter or continuation). */
  after: string;
  /** 0 to 1,000. */
  maxKeys: number;
}

export interface ListPage {
  keys: string[];
  commonPrefixes: string[];
  truncated: boolean;
  /** The last entry returned (key or common prefix): where the next page starts after. */
  last: string | undefined;
}

export function listKeys(sorted: SortedKeys, request: ListRequest): ListPage {
  const { prefix, delimiter, after, maxKeys } = request;
  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let index = compareKeys(after, prefix) < 0 ? sorted.bound(prefix, true) : sorted.bound(after);
  for (let key = sorted.at(index); key !== undefined; key = sorted.at(index)) {
    if (!key.startsWith(prefix)) {
      if (compareKeys(key, prefix) > 0) break;
      index++;
      continue;
    }
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const group = cut === -1 ? undefined : key.slice(0, cut + delimiter.length);
    // A group not after the start was returned on an earlier page (or starts before it).
    if (group !== undefined && compareKeys(group, after) <= 0) {
      index++;
      continue;
    }
    if (keys.length + commonPrefixes.length >= maxKeys) {
      return { keys, commonPrefixes, truncated: maxKeys > 0, last };
    }
    if (group === undefined) {
      keys.push(key);
      last = key;
      index++;
    } else {
      commonPrefixes.push(group);
      last = group;
      while (sorted.at(index)?.startsWith(group)) index++;
    }
  }
  return { keys, commonPrefixes, truncated: false, last };
}
