import { ddlError } from './errors';
import { isSymbol, type Token, tokenize } from './sql-lexer';

/** A column type as Glue stores it for Athena (Hive type names). */
export type HiveType =
  | { kind: 'primitive'; name: PrimitiveName; length?: number }
  | { kind: 'decimal'; precision: number; scale: number }
  | { kind: 'array'; element: HiveType }
  | { kind: 'map'; key: HiveType; value: HiveType }
  | { kind: 'struct'; fields: { name: string; type: HiveType }[] };

type PrimitiveName =
  | 'string'
  | 'varchar'
  | 'char'
  | 'tinyint'
  | 'smallint'
  | 'int'
  | 'bigint'
  | 'float'
  | 'double'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'binary';

const PRIMITIVE_ALIASES: Record<string, PrimitiveName> = {
  string: 'string',
  varchar: 'varchar',
  char: 'char',
  tinyint: 'tinyint',
  smallint: 'smallint',
  int: 'int',
  integer: 'int',
  bigint: 'bigint',
  float: 'float',
  real: 'float',
  double: 'double',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp',
  binary: 'binary',
};

const DUCKDB_PRIMITIVES: Record<PrimitiveName, string> = {
  string: 'VARCHAR',
  varchar: 'VARCHAR',
  char: 'VARCHAR',
  tinyint: 'TINYINT',
  smallint: 'SMALLINT',
  int: 'INTEGER',
  bigint: 'BIGINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  // DuckDB keeps microseconds; results are rendered with Athena's millisecond precision.
  timestamp: 'TIMESTAMP',
  binary: 'BLOB',
};

/** Parses a type starting at `tokens[index]`; returns the type and the index after it. */
export function parseHiveType(tokens: readonly Token[], index: number): [HiveType, number] {
  const token = tokens[index];
  const name = token?.kind === 'word' ? token.value : undefined;
  const fail = (what: string) =>
    ddlError(`ParseException line ${token?.line ?? 1}:${token?.column ?? 1} ${what}`);
  if (name === undefined)
    throw fail(`cannot recognize input near '${token?.text ?? '<EOF>'}' in column type`);

  const expect = (i: number, symbol: string) => {
    if (!isSymbol(tokens[i], symbol))
      throw fail(`mismatched input '${tokens[i]?.text ?? '<EOF>'}' expecting ${symbol}`);
    return i + 1;
  };
  const integer = (i: number): number => {
    const value = tokens[i];
    if (value?.kind !== 'number' || !/^\d+$/.test(value.value))
      throw fail(`expected a number in type ${name}`);
    return Number(value.value);
  };

  if (name === 'array') {
    const [element, after] = parseHiveType(tokens, expect(index + 1, '<'));
    return [{ kind: 'array', element }, expect(after, '>')];
  }
  if (name === 'map') {
    const [key, afterKey] = parseHiveType(tokens, expect(index + 1, '<'));
    const [value, afterValue] = parseHiveType(tokens, expect(afterKey, ','));
    return [{ kind: 'map', key, value }, expect(afterValue, '>')];
  }
  if (name === 'struct') {
    const fields: { name: string; type: HiveType }[] = [];
    let i = expect(index + 1, '<');
    while (!isSymbol(tokens[i], '>')) {
      const fieldToken = tokens[i];
      if (fieldToken === undefined || fieldToken.kind === 'symbol' || fieldToken.kind === 'number') {
        throw fail(`expected a field name in struct`);
      }
      const [type, after] = parseHiveType(tokens, expect(i + 1, ':'));
      fields.push({ name: fieldToken.value.toLowerCase(), type });
      i = isSymbol(tokens[after], ',') ? after + 1 : after;
    }
    return [{ kind: 'struct', fields }, i + 1];
  }
  if (name === 'decimal' || name === 'numeric') {
    if (!isSymbol(tokens[index + 1], '(')) return [{ kind: 'decimal', precision: 10, scale: 0 }, index + 1];
    const precision = integer(index + 2);
    if (isSymbol(tokens[index + 3], ',')) {
      const scale = integer(index + 4);
      return [{ kind: 'decimal', precision, scale }, expect(index + 5, ')')];
    }
    return [{ kind: 'decimal', precision, scale: 0 }, expect(index + 3, ')')];
  }
  const primitive = PRIMITIVE_ALIASES[name];
  if (primitive === undefined) throw fail(`Unknown type '${token?.text}'`);
  if ((primitive === 'varchar' || primitive === 'char') && isSymbol(tokens[index + 1], '(')) {
    const length = integer(index + 2);
    return [{ kind: 'primitive', name: primitive, length }, expect(index + 3, ')')];
  }
  return [{ kind: 'primitive', name: primitive }, index + 1];
}

/** Parses a type string as stored in the catalog (`array<string>`, `decimal(10,2)`). */
export function parseHiveTypeString(text: string): HiveType {
  const tokens = tokenize(text, 'hive');
  const [type, end] = parseHiveType(tokens, 0);
  if (end !== tokens.length) throw ddlError(`ParseException: trailing input in type '${text}'`);
  return type;
}

/** The Glue/Hive spelling: lower case, no spaces (`struct<a:int,b:string>`). */
export function formatHiveType(type: HiveType): string {
  switch (type.kind) {
    case 'primitive':
      return type.length === undefined ? type.name : `${type.name}(${type.length})`;
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'array':
      return `array<${formatHiveType(type.element)}>`;
    case 'map':
      return `map<${formatHiveType(type.key)},${formatHiveType(type.value)}>`;
    case 'struct':
      return `struct<${type.fields.map((field) => `${field.name}:${formatHiveType(field.type)}`).join(',')}>`;
  }
}

export function toDuckDbType(type: HiveType): string {
  switch (type.kind) {
    case 'primitive':
      return DUCKDB_PRIMITIVES[type.name];
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'array':
      return `${toDuckDbType(type.element)}[]`;
    case 'map':
      return `MAP(${toDuckDbType(type.key)}, ${toDuckDbType(type.value)})`;
    case 'struct':
      return `STRUCT(${type.fields.map((field) => `${quoteIdentifier(field.name)} ${toDuckDbType(field.type)}`).join(', ')})`;
  }
}

export function isStringType(type: HiveType): boolean {
  return (
    type.kind === 'primitive' && (type.name === 'string' || type.name === 'varchar' || type.name === 'char')
  );
}

export function isIntegerType(type: HiveType): boolean {
  return type.kind === 'primitive' && ['tinyint', 'smallint', 'int', 'bigint'].includes(type.name);
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A DuckDB SQL expression for a string that may hold control characters (Hive delimiters such as
 * `\001`): DuckDB string literals take no escapes, so those characters are spelled with `chr()`.
 */
export function sqlStringExpression(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return quoteString(value);
  const parts: string[] = [];
  let plain = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x20 && code !== 0x7f) {
      plain += char;
      continue;
    }
    if (plain !== '') parts.push(quoteString(plain));
    plain = '';
    parts.push(`chr(${code})`);
  }
  if (plain !== '') parts.push(quoteString(plain));
  return parts.length === 1 ? (parts[0] ?? "''") : `(${parts.join(' || ')})`;
}
