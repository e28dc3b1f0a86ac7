/** Seeded key sets of mixed lengths and characters, to page through against their sorted list. */

/** UTF-8 byte order, computed independently of the server: sort by the encoded bytes. */
export function utf8Sorted(keys: Iterable<string>): string[] {
  return [...new Set(keys)]
    .map((key) => ({ key, bytes: Buffer.from(key, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.bytes, b.bytes))
    .map((entry) => entry.key);
}

/** Characters S3 keys hold in the wild: separators, punctuation, spaces, accents, CJK, emoji, fullwidth. */
const ALPHABET = [
  ...'abcXYZ019',
  '/',
  '/',
  '-',
  '_',
  '.',
  ' ',
  '+',
  '%',
  '=',
  '&',
  '!',
  '~',
  'é',
  'ß',
  '中',
  '\uff01',
  '\ue000',
  '😀',
  '𝄞',
];

/** `count` distinct keys under `prefix`, deterministic for a seed. */
export function generatedKeys(count: number, seed: number, prefix: string): string[] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const keys = new Set<string>();
  while (keys.size < count) {
    const length = 1 + (next() % 24);
    let key = prefix;
    for (let index = 0; index < length; index++) key += ALPHABET[next() % ALPHABET.length];
    // S3 accepts `//` and a trailing `/`, but not a key that is only the prefix.
    keys.add(key);
  }
  return [...keys];
}
