/**
 * One tokenizer for the two SQL dialects Athena accepts: Hive DDL (backquoted identifiers, strings
 * in single or double quotes with backslash escapes) and Trino DML (double-quoted identifiers,
 * strings with doubled single quotes). Tokens keep their source position because Athena reports
 * errors as `line L:C` (1-based) and users look there.
 */

export type TokenKind = 'word' | 'quoted' | 'backquoted' | 'string' | 'number' | 'symbol';

export interface Token {
  readonly kind: TokenKind;
  /** Source text of the token. */
  readonly text: string;
  /** Words lower-cased; identifiers and strings unescaped; numbers and symbols as written. */
  readonly value: string;
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly column: number;
  /** Whitespace and comments between the previous token and this one (comments become spaces). */
  readonly leading: string;
}

export type Dialect = 'trino' | 'hive';

export class SqlLexError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'SqlLexError';
  }
}

const MULTI_CHAR_SYMBOLS = ['<>', '!=', '<=', '>=', '||', '->', '=>', '::'];
const WORD_START = /[\p{L}_]/u;
const WORD_PART = /[\p{L}\p{N}_]/u;

/** Splits SQL into significant tokens; whitespace and comments are folded into `leading`. */
export function tokenize(sql: string, dialect: Dialect): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  let lineStart = 0;
  let leading = '';

  const advanceTo = (end: number) => {
    for (let i = index; i < end; i++) {
      if (sql[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    index = end;
  };

  while (index < sql.length) {
    const char = sql[index] ?? '';
    const next = sql[index + 1] ?? '';
    if (/\s/.test(char)) {
      leading += char;
      advanceTo(index + 1);
      continue;
    }
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      advanceTo(end === -1 ? sql.length : end);
      leading += ' ';
      continue;
    }
    if (char === '/' && next === '*') {
      const end = sql.indexOf('*/', index + 2);
      if (end === -1) throw new SqlLexError('unterminated comment', line, index - lineStart + 1);
      advanceTo(end + 2);
      leading += ' ';
      continue;
    }

    const start = index;
    const position = { line, column: index - lineStart + 1 };
    let kind: TokenKind;
    let value: string;
    if (char === "'" || (char === '"' && dialect === 'hive')) {
      const [end, unescaped] = dialect === 'hive' ? readHiveString(sql, index) : readTrinoString(sql, index);
      if (end === -1) throw new SqlLexError('unterminated string literal', position.line, position.column);
      kind = 'string';
      value = unescaped;
      advanceTo(end);
    } else if (char === '"' || char === '`') {
      const end = readDelimited(sql, index, char);
      if (end === -1) throw new SqlLexError('unterminated quoted identifier', position.line, position.column);
      kind = char === '"' ? 'quoted' : 'backquoted';
      value = sql.slice(index + 1, end - 1).replaceAll(char + char, char);
      advanceTo(end);
    } else if (/[0-9]/.test(char) || (char === '.' && /[0-9]/.test(next))) {
      const match = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(sql.slice(index));
      const text = match?.[0] ?? char;
      kind = 'number';
      value = text;
      advanceTo(index + text.length);
    } else if (WORD_START.test(char)) {
      let end = index + 1;
      while (end < sql.length && WORD_PART.test(sql[end] ?? '')) end++;
      kind = 'word';
      value = sql.slice(index, end).toLowerCase();
      advanceTo(end);
    } else {
      const symbol = MULTI_CHAR_SYMBOLS.find((candidate) => sql.startsWith(candidate, index)) ?? char;
      kind = 'symbol';
      value = symbol;
      advanceTo(index + symbol.length);
    }
    tokens.push({ kind, text: sql.slice(start, index), value, start, end: index, ...position, leading });
    leading = '';
  }
  return tokens;
}

/** Trino strings: `'it''s'`; no backslash escapes. Returns [end index, value]. */
function readTrinoString(sql: string, start: number): [number, string] {
  let value = '';
  let index = start + 1;
  while (index < sql.length) {
    const char = sql[index];
    if (char === "'") {
      if (sql[index + 1] === "'") {
        value += "'";
        index += 2;
        continue;
      }
      return [index + 1, value];
    }
    value += char;
    index++;
  }
  return [-1, value];
}

/** Hive strings: single or double quotes, backslash escapes as Hive's `unescapeSQLString`. */
function readHiveString(sql: string, start: number): [number, string] {
  const quote = sql[start];
  let value = '';
  let index = start + 1;
  while (index < sql.length) {
    const char = sql[index] ?? '';
    if (char === quote) return [index + 1, value];
    if (char !== '\\') {
      value += char;
      index++;
      continue;
    }
    const rest = sql.slice(index + 1);
    const octal = /^[0-7]{3}/.exec(rest);
    const unicode = /^u([0-9a-fA-F]{4})/.exec(rest);
    if (octal) {
      // `FIELDS TERMINATED BY '\001'` is the classic Hive spelling of the ^A delimiter.
      value += String.fromCharCode(Number.parseInt(octal[0], 8));
      index += 4;
    } else if (unicode?.[1] !== undefined) {
      value += String.fromCharCode(Number.parseInt(unicode[1], 16));
      index += 6;
    } else {
      const escaped = rest[0] ?? '';
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', '0': '\0', Z: '\u001a' };
      value += simple[escaped] ?? escaped;
      index += 2;
    }
  }
  return [-1, value];
}

function readDelimited(sql: string, start: number, delimiter: string): number {
  let index = start + 1;
  while (index < sql.length) {
    if (sql[index] === delimiter) {
      if (sql[index + 1] === delimiter) {
        index += 2;
        continue;
      }
      return index + 1;
    }
    index++;
  }
  return -1;
}

/** Index of the `)` matching the `(` at `open`, or -1. */
export function matchingParen(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const token = tokens[i];
    if (token?.kind !== 'symbol') continue;
    if (token.value === '(') depth++;
    else if (token.value === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Splits `[start, end)` at top-level commas (inside parentheses and brackets commas do not count). */
export function splitTopLevel(
  tokens: readonly Token[],
  start: number,
  end: number,
  separator = ',',
): [number, number][] {
  const parts: [number, number][] = [];
  let depth = 0;
  let partStart = start;
  for (let i = start; i < end; i++) {
    const token = tokens[i];
    if (token?.kind !== 'symbol') continue;
    if (token.value === '(' || token.value === '[') depth++;
    else if (token.value === ')' || token.value === ']') depth--;
    else if (token.value === separator && depth === 0) {
      parts.push([partStart, i]);
      partStart = i + 1;
    }
  }
  if (end > partStart || parts.length > 0) parts.push([partStart, end]);
  return parts;
}

export function isWord(token: Token | undefined, ...words: string[]): boolean {
  return token?.kind === 'word' && (words.length === 0 || words.includes(token.value));
}

export function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token?.kind === 'symbol' && token.value === symbol;
}

/** Re-assembles tokens `[start, end)` with their original spacing. */
export function sourceText(tokens: readonly Token[], start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) {
    const token = tokens[i];
    if (token === undefined) break;
    text += (i === start ? '' : token.leading) + token.text;
  }
  return text;
}
