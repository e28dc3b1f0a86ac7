import type { Catalog } from './catalog';
import { at, notSupported, userError } from './errors';
import { quoteIdentifier, quoteString } from './hive-types';
import type { PartitionConstraint, PredicateLiteral } from './partitions';
import { tableLayout } from './partitions';
import {
  isSymbol,
  isWord,
  matchingParen,
  SqlLexError,
  splitTopLevel,
  type Token,
  tokenize,
} from './sql-lexer';
import type { StoredTable } from './store';

/**
 * Trino (Athena engine version 3) SQL in, DuckDB SQL out. The statement is tokenized, table
 * references are swapped for per-query views over the table's S3 objects, Trino functions that
 * DuckDB lacks or spells differently are rewritten (see docs/athena-local.md), and what cannot be
 * run faithfully is rejected with NOT_SUPPORTED instead of returning a subtly different answer.
 */

export type StatementType = 'DDL' | 'DML' | 'UTILITY';

export interface StatementClass {
  statementType: StatementType;
  /** How the stand-in runs it: a query through DuckDB, DDL against the catalog, or a rejection. */
  route: 'query' | 'ddl' | 'unsupported';
  substatementType: string;
}

/** Classifies a statement at StartQueryExecution time (Athena reports the type at once). */
export function classifyStatement(sql: string): StatementClass {
  let tokens: Token[];
  try {
    tokens = tokenize(sql, 'hive');
  } catch {
    return { statementType: 'DML', route: 'query', substatementType: 'SELECT' };
  }
  const words = tokens.slice(0, 6).map((token) => token.value);
  const [first, second] = words;
  switch (first) {
    case 'select':
    case 'with':
    case 'values':
    case '(':
    case 'table':
      return { statementType: 'DML', route: 'query', substatementType: 'SELECT' };
    case 'create': {
      if (second === 'database' || second === 'schema') return ddl('CREATE_DATABASE');
      if (words.includes('view'))
        return { statementType: 'DDL', route: 'unsupported', substatementType: 'CREATE_VIEW' };
      const isCtas = tokens.some(
        (token, i) => isWord(token, 'as') && isWord(tokens[i + 1], 'select', 'with'),
      );
      if (isCtas)
        return { statementType: 'DML', route: 'unsupported', substatementType: 'CREATE_TABLE_AS_SELECT' };
      return ddl('CREATE_TABLE');
    }
    case 'drop':
      if (second === 'view')
        return { statementType: 'DDL', route: 'unsupported', substatementType: 'DROP_VIEW' };
      return ddl(second === 'table' ? 'DROP_TABLE' : 'DROP_DATABASE');
    case 'alter':
    case 'msck':
      return ddl(first === 'msck' ? 'REPAIR_TABLE' : 'ALTER_TABLE');
    case 'show':
      return {
        statementType: 'UTILITY',
        route: 'ddl',
        substatementType: `SHOW_${(second ?? '').toUpperCase()}`,
      };
    case 'describe':
    case 'desc':
      return { statementType: 'UTILITY', route: 'ddl', substatementType: 'DESCRIBE_TABLE' };
    case 'insert':
    case 'delete':
    case 'update':
    case 'merge':
    case 'unload':
      return { statementType: 'DML', route: 'unsupported', substatementType: (first ?? '').toUpperCase() };
    default:
      return {
        statementType: 'UTILITY',
        route: 'unsupported',
        substatementType: (first ?? '').toUpperCase(),
      };
  }
}

function ddl(substatementType: string): StatementClass {
  return { statementType: 'DDL', route: 'ddl', substatementType };
}

/** A table in the statement, replaced by the view `viewName` the engine creates over its objects. */
export interface TableReference {
  viewName: string;
  database: string;
  table: StoredTable;
  /** WHERE conjuncts on partition keys that every returned row satisfies (for pruning). */
  constraints: PartitionConstraint[];
}

export interface TranslatedQuery {
  sql: string;
  references: TableReference[];
  /** The statement's tokens, to place DuckDB errors at the user's line and column. */
  tokens: Token[];
  /** Athena's output column names given DuckDB's: `_colN` for unnamed expressions. */
  outputNames(engineNames: readonly string[]): string[];
}

export interface TranslationContext {
  defaultDatabase: string;
  catalog: Catalog;
}

/** Words that end a FROM clause or a WHERE clause at the same nesting level. */
const CLAUSE_END = new Set([
  'where',
  'group',
  'having',
  'order',
  'limit',
  'offset',
  'fetch',
  'union',
  'intersect',
  'except',
  'window',
]);

/** Keywords that cannot be a table alias or a column name without quotes. */
const RESERVED = new Set([
  ...CLAUSE_END,
  'join',
  'on',
  'using',
  'left',
  'right',
  'inner',
  'outer',
  'full',
  'cross',
  'natural',
  'tablesample',
  'for',
  'as',
  'select',
  'from',
  'lateral',
  'unnest',
  'when',
  'then',
  'else',
  'end',
  'and',
  'or',
  'not',
  'is',
  'null',
  'in',
  'like',
  'between',
  'case',
  'values',
  'with',
  'distinct',
  'all',
  'true',
  'false',
  'exists',
  'cast',
  // Niladic functions: `SELECT current_date` is an expression (`_col0`), not a column.
  'current_date',
  'current_time',
  'current_timestamp',
  'localtime',
  'localtimestamp',
  'current_user',
]);

const COMPARISONS = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);

export function translateQuery(sql: string, context: TranslationContext): TranslatedQuery {
  let tokens: Token[];
  try {
    tokens = tokenize(sql, 'trino');
  } catch (error) {
    if (error instanceof SqlLexError) {
      throw userError('SYNTAX_ERROR', `line ${error.line}:${error.column}: ${error.message}`);
    }
    throw error;
  }
  while (isSymbol(tokens.at(-1), ';')) tokens = tokens.slice(0, -1);
  const statementEnd = tokens.findIndex((token) => isSymbol(token, ';'));
  if (statementEnd !== -1) {
    throw userError('SYNTAX_ERROR', `${at(tokens[statementEnd])}Only one sql statement is allowed`);
  }
  if (tokens.length === 0) throw userError('SYNTAX_ERROR', "line 1:1: mismatched input '<EOF>'");
  const backquoted = tokens.find((token) => token.kind === 'backquoted');
  if (backquoted !== undefined) {
    throw userError(
      'SYNTAX_ERROR',
      `${at(backquoted)}backquoted identifiers are not supported; use double quotes to quote identifiers`,
    );
  }
  return new Translator(tokens, context).translate();
}

type FromItem =
  | { kind: 'table'; start: number; end: number; parts: Token[]; alias?: string; hasAlias: boolean }
  | { kind: 'other' };

class Translator {
  private readonly match: number[];
  /** Index of the `(` enclosing each token, -1 at top level. */
  private readonly group: number[];
  private readonly cteNames = new Set<string>();
  private readonly replacements = new Map<number, { end: number; text: string }>();
  private readonly references: TableReference[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly context: TranslationContext,
  ) {
    this.match = new Array<number>(tokens.length).fill(-1);
    this.group = new Array<number>(tokens.length).fill(-1);
    const stack: number[] = [];
    tokens.forEach((token, i) => {
      if (isSymbol(token, ')')) {
        const open = stack.pop();
        if (open === undefined) throw userError('SYNTAX_ERROR', `${at(token)}mismatched input ')'`);
        this.match[open] = i;
        this.match[i] = open;
      }
      this.group[i] = stack.at(-1) ?? -1;
      if (isSymbol(token, '(')) stack.push(i);
    });
    const unclosed = stack.pop();
    if (unclosed !== undefined)
      throw userError('SYNTAX_ERROR', `${at(tokens.at(-1))}mismatched input '<EOF>'. Expecting: ')'`);
  }

  translate(): TranslatedQuery {
    const first = this.tokens[0];
    if (!isWord(first, 'select', 'with', 'values') && !isSymbol(first, '(')) {
      throw userError('SYNTAX_ERROR', `${at(first)}mismatched input '${first?.text ?? '<EOF>'}'`);
    }
    this.collectCteNames();
    this.collectTableReferences();
    const sql = this.emit(0, this.tokens.length);
    return {
      sql,
      references: this.references,
      tokens: this.tokens,
      outputNames: (engineNames) => this.outputNames(engineNames),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Structure: CTEs, FROM items, WHERE conjuncts
  // -------------------------------------------------------------------------------------------

  /** `WITH a AS (…), b (x, y) AS (…)`: names that are not catalog tables. */
  private collectCteNames(): void {
    this.tokens.forEach((token, i) => {
      if (!isWord(token, 'with')) return;
      let j = isWord(this.tokens[i + 1], 'recursive') ? i + 2 : i + 1;
      for (;;) {
        const name = this.tokens[j];
        if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted')) return;
        let k = j + 1;
        if (isSymbol(this.tokens[k], '(')) k = (this.match[k] ?? k) + 1;
        if (!isWord(this.tokens[k], 'as') || !isSymbol(this.tokens[k + 1], '(')) return;
        this.cteNames.add(name.value.toLowerCase());
        const close = this.match[k + 1] ?? -1;
        if (!isSymbol(this.tokens[close + 1], ',')) return;
        j = close + 2;
      }
    });
  }

  private collectTableReferences(): void {
    const firstSelect = new Map<number, number>();
    this.tokens.forEach((token, i) => {
      const group = this.group[i] ?? -1;
      if (isWord(token, 'select') && !firstSelect.has(group)) firstSelect.set(group, i);
    });
    this.tokens.forEach((token, i) => {
      const group = this.group[i] ?? -1;
      // `extract(year FROM ts)` and `substring(s FROM 2)` have no SELECT in their parentheses.
      const select = firstSelect.get(group);
      if (isWord(token, 'from') && select !== undefined && select < i) this.fromClause(i, group);
    });
  }

  private fromClause(fromIndex: number, group: number): void {
    const items: FromItem[] = [];
    let whereStart = -1;
    let j = fromIndex + 1;
    let expectItem = true;
    while (j < this.tokens.length) {
      const token = this.tokens[j];
      if ((this.group[j] ?? -1) !== group || isSymbol(token, ';')) break;
      if (token?.kind === 'word' && CLAUSE_END.has(token.value)) {
        if (token.value === 'where') whereStart = j + 1;
        break;
      }
      if (expectItem) {
        expectItem = false;
        j = this.fromItem(j, items);
        continue;
      }
      if (isSymbol(token, ',') || isWord(token, 'join')) expectItem = true;
      j = isSymbol(token, '(') ? (this.match[j] ?? j) + 1 : j + 1;
    }

    const tableItems = items.filter(
      (item): item is Extract<FromItem, { kind: 'table' }> => item.kind === 'table',
    );
    const resolved = tableItems.map((item) => this.resolve(item));
    const conjuncts = whereStart === -1 ? [] : this.conjuncts(whereStart, this.clauseEnd(whereStart, group));
    resolved.forEach((reference, i) => {
      if (reference === undefined) return;
      const item = tableItems[i];
      if (item === undefined) return;
      const constraints: PartitionConstraint[] = [];
      for (const conjunct of conjuncts) {
        const constraint = this.constraintFor(conjunct, item, reference.table, items, tableItems, resolved);
        if (constraint !== undefined) constraints.push(constraint);
      }
      reference.constraints = constraints;
      this.checkInjectedProjection(reference, item);
    });
  }

  /** Parses one FROM item at `j`, records it, and returns the index after it. */
  private fromItem(j: number, items: FromItem[]): number {
    const token = this.tokens[j];
    if (isSymbol(token, '(')) {
      items.push({ kind: 'other' });
      return this.skipAlias((this.match[j] ?? j) + 1).next;
    }
    if (isWord(token, 'lateral', 'unnest')) {
      let k = j + 1;
      if (isWord(token, 'lateral') && isWord(this.tokens[k], 'unnest')) k++;
      if (isSymbol(this.tokens[k], '(')) k = (this.match[k] ?? k) + 1;
      if (isWord(this.tokens[k], 'with') && isWord(this.tokens[k + 1], 'ordinality')) k += 2;
      items.push({ kind: 'other' });
      return this.skipAlias(k).next;
    }
    if (this.isIdentifier(token) && isSymbol(this.tokens[j + 1], '(')) {
      throw notSupported(`The table function ${token?.text}`, token);
    }
    if (!this.isIdentifier(token) || token === undefined) return j + 1;
    const parts = [token];
    let k = j + 1;
    while (isSymbol(this.tokens[k], '.') && this.isIdentifier(this.tokens[k + 1])) {
      const part = this.tokens[k + 1];
      if (part !== undefined) parts.push(part);
      k += 2;
    }
    if (isWord(this.tokens[k], 'for')) throw notSupported('Time travel (FOR … AS OF)', this.tokens[k]);
    if (isWord(this.tokens[k], 'tablesample')) throw notSupported('TABLESAMPLE', this.tokens[k]);
    const { alias, next } = this.skipAlias(k);
    items.push({
      kind: 'table',
      start: j,
      end: k,
      parts,
      hasAlias: alias !== undefined,
      ...(alias !== undefined && { alias }),
    });
    return next;
  }

  private skipAlias(k: number): { alias?: string; next: number } {
    let alias: string | undefined;
    let next = k;
    if (isWord(this.tokens[next], 'as') && this.isIdentifier(this.tokens[next + 1])) {
      alias = this.tokens[next + 1]?.value.toLowerCase();
      next += 2;
    } else if (this.isIdentifier(this.tokens[next])) {
      alias = this.tokens[next]?.value.toLowerCase();
      next += 1;
    }
    if (alias !== undefined && isSymbol(this.tokens[next], '(')) next = (this.match[next] ?? next) + 1;
    return alias === undefined ? { next } : { alias, next };
  }

  private isIdentifier(token: Token | undefined): boolean {
    return token?.kind === 'quoted' || (token?.kind === 'word' && !RESERVED.has(token.value));
  }

  /** Looks a FROM item up in the catalog; CTE names resolve to nothing. */
  private resolve(item: Extract<FromItem, { kind: 'table' }>): TableReference | undefined {
    const names = item.parts.map((part) => part.value.toLowerCase());
    const first = item.parts[0];
    if (names.length === 1 && this.cteNames.has(names[0] ?? '')) return undefined;
    if (names.length > 3)
      throw userError('SYNTAX_ERROR', `${at(first)}Too many dots in table name: ${names.join('.')}`);
    if (names.length === 3 && names[0] !== 'awsdatacatalog') {
      throw userError('CATALOG_NOT_FOUND', `${at(first)}Catalog '${names[0]}' does not exist`);
    }
    const tableName = names.at(-1) ?? '';
    const databaseName =
      names.length >= 2 ? (names.at(-2) ?? '') : this.context.defaultDatabase.toLowerCase();
    const database = this.context.catalog.database(databaseName);
    if (database === undefined) {
      throw userError('SCHEMA_NOT_FOUND', `${at(first)}Schema '${databaseName}' does not exist`);
    }
    const table = database.tables[tableName];
    if (table === undefined) {
      throw userError(
        'TABLE_NOT_FOUND',
        `${at(first)}Table 'awsdatacatalog.${databaseName}.${tableName}' does not exist`,
      );
    }
    const reference: TableReference = {
      viewName: `__athena_table_${this.references.length + 1}`,
      database: databaseName,
      table,
      constraints: [],
    };
    this.references.push(reference);
    // Keep `t.col` working after `FROM db.t`: the view is aliased to the table's own name.
    const alias = item.hasAlias ? '' : ` AS ${quoteIdentifier(tableName)}`;
    this.replacements.set(item.start, {
      end: item.end,
      text: `${quoteIdentifier(reference.viewName)}${alias}`,
    });
    return reference;
  }

  /** Index where the clause starting at `start` (at nesting `group`) ends. */
  private clauseEnd(start: number, group: number): number {
    for (let j = start; j < this.tokens.length; j++) {
      const token = this.tokens[j];
      if ((this.group[j] ?? -1) !== group || isSymbol(token, ';')) return j;
      if (token?.kind === 'word' && CLAUSE_END.has(token.value)) return j;
      if (isSymbol(token, '(')) j = this.match[j] ?? j;
    }
    return this.tokens.length;
  }

  /** Splits `[start, end)` at top-level AND (not the AND of BETWEEN); unwraps parenthesised ANDs. */
  private conjuncts(start: number, end: number): [number, number][] {
    const parts: [number, number][] = [];
    let partStart = start;
    let inBetween = false;
    for (let j = start; j < end; j++) {
      const token = this.tokens[j];
      if (isSymbol(token, '(')) {
        j = this.match[j] ?? j;
        continue;
      }
      if (isWord(token, 'between')) inBetween = true;
      else if (isWord(token, 'and')) {
        if (inBetween) inBetween = false;
        else {
          parts.push([partStart, j]);
          partStart = j + 1;
        }
      } else if (isWord(token, 'or')) {
        // A top-level OR makes the whole range one disjunction: nothing here can prune.
        return [];
      }
    }
    parts.push([partStart, end]);
    return parts.flatMap(([a, b]) =>
      isSymbol(this.tokens[a], '(') && this.match[a] === b - 1 && b - a > 2
        ? this.conjuncts(a + 1, b - 1)
        : [[a, b]],
    );
  }

  /** A partition constraint for `item` if the conjunct is `key op literal`, `key IN (…)` or BETWEEN. */
  private constraintFor(
    [start, end]: [number, number],
    item: Extract<FromItem, { kind: 'table' }>,
    table: StoredTable,
    items: readonly FromItem[],
    tableItems: readonly Extract<FromItem, { kind: 'table' }>[],
    resolved: readonly (TableReference | undefined)[],
  ): PartitionConstraint | undefined {
    const tokens = this.tokens.slice(start, end);
    const column = (i: number): { qualifier?: string; name: string; next: number } | undefined => {
      const first = tokens[i];
      if (!this.isIdentifier(first) || first === undefined) return undefined;
      if (isSymbol(tokens[i + 1], '.')) {
        const second = tokens[i + 2];
        if (!this.isIdentifier(second) || second === undefined || isSymbol(tokens[i + 3], '.'))
          return undefined;
        return { qualifier: first.value.toLowerCase(), name: second.value.toLowerCase(), next: i + 3 };
      }
      return { name: first.value.toLowerCase(), next: i + 1 };
    };
    const literal = (i: number): { literal: PredicateLiteral; next: number } | undefined => {
      const token = tokens[i];
      if (token?.kind === 'string') return { literal: { kind: 'string', value: token.value }, next: i + 1 };
      if (token?.kind === 'number') return { literal: { kind: 'number', value: token.value }, next: i + 1 };
      if (isSymbol(token, '-') && tokens[i + 1]?.kind === 'number') {
        return { literal: { kind: 'number', value: `-${tokens[i + 1]?.value}` }, next: i + 2 };
      }
      if (isWord(token, 'date', 'timestamp') && tokens[i + 1]?.kind === 'string') {
        const kind = token?.value === 'date' ? 'date' : 'timestamp';
        return { literal: { kind, value: tokens[i + 1]?.value ?? '' }, next: i + 2 };
      }
      return undefined;
    };
    const belongsHere = (ref: { qualifier?: string; name: string }): boolean => {
      if (!table.partitionKeys.some((key) => key.name === ref.name)) return false;
      if (ref.qualifier !== undefined) {
        const itemName = item.alias ?? item.parts.at(-1)?.value.toLowerCase();
        return ref.qualifier === itemName;
      }
      // Unqualified: only when every FROM item is a catalog table and exactly one has the column.
      if (items.some((other) => other.kind !== 'table') || resolved.some((other) => other === undefined))
        return false;
      const owners = resolved.filter((other) =>
        [...(other?.table.columns ?? []), ...(other?.table.partitionKeys ?? [])].some(
          (c) => c.name === ref.name,
        ),
      );
      return owners.length === 1 && tableItems.length === resolved.length;
    };

    const left = column(0);
    if (left !== undefined) {
      const operator = tokens[left.next];
      if (operator?.kind === 'symbol' && COMPARISONS.has(operator.value)) {
        const right = literal(left.next + 1);
        if (right === undefined || right.next !== tokens.length || !belongsHere(left)) return undefined;
        const op = operator.value === '!=' ? '<>' : (operator.value as PartitionConstraint['operator']);
        return { key: left.name, operator: op, literals: [right.literal] };
      }
      if (isWord(operator, 'in') && isSymbol(tokens[left.next + 1], '(')) {
        const literals: PredicateLiteral[] = [];
        let i = left.next + 2;
        for (;;) {
          const value = literal(i);
          if (value === undefined) return undefined;
          literals.push(value.literal);
          i = value.next;
          if (isSymbol(tokens[i], ',')) i++;
          else break;
        }
        if (!isSymbol(tokens[i], ')') || i + 1 !== tokens.length || !belongsHere(left)) return undefined;
        return { key: left.name, operator: 'in', literals };
      }
      if (isWord(operator, 'between')) {
        const low = literal(left.next + 1);
        if (low === undefined || !isWord(tokens[low.next], 'and')) return undefined;
        const high = literal(low.next + 1);
        if (high === undefined || high.next !== tokens.length || !belongsHere(left)) return undefined;
        return { key: left.name, operator: 'between', literals: [low.literal, high.literal] };
      }
      return undefined;
    }
    const value = literal(0);
    const operator = value === undefined ? undefined : tokens[value.next];
    if (value === undefined || operator?.kind !== 'symbol' || !COMPARISONS.has(operator.value))
      return undefined;
    const right = column(value.next + 1);
    if (right === undefined || right.next !== tokens.length || !belongsHere(right)) return undefined;
    const flipped: Record<string, PartitionConstraint['operator']> = {
      '=': '=',
      '<>': '<>',
      '!=': '<>',
      '<': '>',
      '<=': '>=',
      '>': '<',
      '>=': '<=',
    };
    const op = flipped[operator.value];
    return op === undefined ? undefined : { key: right.name, operator: op, literals: [value.literal] };
  }

  /** Athena refuses a query on an `injected` projected key without a static equality on it. */
  private checkInjectedProjection(
    reference: TableReference,
    item: Extract<FromItem, { kind: 'table' }>,
  ): void {
    for (const key of tableLayout(reference.table).injectedKeys) {
      const pinned = reference.constraints.some(
        (constraint) =>
          constraint.key === key && (constraint.operator === '=' || constraint.operator === 'in'),
      );
      if (!pinned) {
        throw userError(
          'CONSTRAINT_VIOLATION',
          `${at(item.parts[0])}For the injected projected partition column ${key}, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.`,
        );
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Emission with rewrites
  // -------------------------------------------------------------------------------------------

  private emit(start: number, end: number): string {
    let out = '';
    let i = start;
    while (i < end) {
      const token = this.tokens[i];
      if (token === undefined) break;
      const lead = i === start ? '' : token.leading;
      const replacement = this.replacements.get(i);
      if (replacement !== undefined) {
        out += lead + replacement.text;
        i = replacement.end;
        continue;
      }
      if (isWord(token, 'values')) {
        const [text, next] = this.rewriteValues(i);
        out += lead + text;
        i = next;
        continue;
      }
      if (token.kind === 'word' && isSymbol(this.tokens[i + 1], '(') && !isSymbol(this.tokens[i - 1], '.')) {
        const close = this.match[i + 1] ?? -1;
        const rewritten = this.rewriteCall(i, close);
        if (rewritten !== undefined) {
          out += lead + rewritten;
          i = close + 1;
          continue;
        }
      }
      if (token.kind === 'number' && token.value.includes('.') && !/[eE]/.test(token.value)) {
        // Athena types decimal literals as DOUBLE (`1.5` is a double, not decimal(2,1)).
        out += `${lead}CAST(${token.value} AS DOUBLE)`;
        i++;
        continue;
      }
      const next = this.tokens[i + 1];
      if (isWord(token, 'x') && next?.kind === 'string' && next.leading === '') {
        // X'0102' is a varbinary literal in Trino.
        out += `${lead}from_hex(${quoteString(next.value)})`;
        i += 2;
        continue;
      }
      if (token.kind === 'quoted' && token.value.startsWith('$')) {
        throw notSupported(`The hidden column "${token.value}"`, token);
      }
      out += lead + token.text;
      i++;
    }
    return out;
  }

  private rewriteCall(nameIndex: number, close: number): string | undefined {
    const name = this.tokens[nameIndex];
    if (name === undefined) return undefined;
    const open = nameIndex + 1;
    const args = open + 1 === close ? [] : splitTopLevel(this.tokens, open + 1, close);
    const call: FunctionCall = {
      name,
      args,
      arg: (k) => {
        const range = args[k];
        return range === undefined ? '' : this.emit(range[0], range[1]);
      },
      argTokens: (k) => {
        const range = args[k];
        return range === undefined ? [] : this.tokens.slice(range[0], range[1]);
      },
      argRange: (k) => args[k],
      emitRange: (a, b) => this.emit(a, b),
      all: () => args.map(([a, b]) => this.emit(a, b)).join(', '),
    };
    // `agg(x) FILTER (WHERE …)` is a clause, not Trino's filter(array, lambda).
    if (name.value === 'filter' && isWord(this.tokens[open + 1], 'where')) return undefined;
    if (name.value === 'cast' || name.value === 'try_cast') return this.rewriteCast(name, open, close);
    if (name.value === 'extract') return this.rewriteExtract(open, close);
    return FUNCTION_REWRITES.get(name.value)?.(call);
  }

  /**
   * `VALUES 1, 2` (Trino allows unparenthesised rows; DuckDB does not) becomes a query whose
   * columns carry Trino's names `_col0`, `_col1`, … (DuckDB would say col0, col1).
   */
  private rewriteValues(index: number): [string, number] {
    const group = this.group[index] ?? -1;
    let end = index + 1;
    while (end < this.tokens.length) {
      const token = this.tokens[end];
      if ((this.group[end] ?? -1) !== group) break;
      if (isWord(token, 'order', 'limit', 'offset', 'fetch', 'union', 'intersect', 'except')) break;
      end = isSymbol(token, '(') ? (this.match[end] ?? end) + 1 : end + 1;
    }
    const rows = splitTopLevel(this.tokens, index + 1, end).map(([a, b]) => {
      const wrapped = isSymbol(this.tokens[a], '(') && this.match[a] === b - 1;
      const inner: [number, number] = wrapped ? [a + 1, b - 1] : [a, b];
      return {
        text: this.emit(inner[0], inner[1]),
        width: splitTopLevel(this.tokens, inner[0], inner[1]).length,
      };
    });
    const width = rows[0]?.width ?? 1;
    const names = Array.from({ length: width }, (_, i) => quoteIdentifier(`_col${i}`)).join(', ');
    const values = rows.map((row) => `(${row.text})`).join(', ');
    return [`SELECT * FROM (VALUES ${values}) AS __athena_values(${names})`, end];
  }

  /** `CAST(x AS <trino type>)`; casts to varchar render timestamps as Athena does. */
  private rewriteCast(name: Token, open: number, close: number): string {
    let asIndex = -1;
    for (let j = open + 1; j < close; j++) {
      if (isSymbol(this.tokens[j], '(')) j = this.match[j] ?? j;
      else if (isWord(this.tokens[j], 'as')) asIndex = j;
    }
    if (asIndex === -1) throw userError('SYNTAX_ERROR', `${at(name)}mismatched input ')'. Expecting: 'AS'`);
    const expression = this.emit(open + 1, asIndex);
    const [type, after] = trinoType(this.tokens, asIndex + 1);
    if (after !== close)
      throw userError(
        'SYNTAX_ERROR',
        `${at(this.tokens[after])}mismatched input '${this.tokens[after]?.text}'`,
      );
    const keyword = name.value === 'cast' ? 'CAST' : 'TRY_CAST';
    const bareLiteral =
      asIndex === open + 2 &&
      (this.tokens[open + 1]?.kind === 'string' || isWord(this.tokens[open + 1], 'null'));
    if (type === 'VARCHAR' && !bareLiteral) return `trino_to_varchar(${expression})`;
    return `${keyword}(${expression} AS ${type})`;
  }

  /** `extract(field FROM x)`: Trino's DOW is ISO (Monday = 1), DuckDB's starts at Sunday = 0. */
  private rewriteExtract(open: number, close: number): string | undefined {
    const field = this.tokens[open + 1];
    if (field?.kind !== 'word' || !isWord(this.tokens[open + 2], 'from')) return undefined;
    const fields: Record<string, string> = {
      dow: 'isodow',
      day_of_week: 'isodow',
      doy: 'doy',
      day_of_year: 'doy',
      yow: 'isoyear',
      year_of_week: 'isoyear',
      timezone_hour: 'timezone_hour',
      timezone_minute: 'timezone_minute',
    };
    return `extract(${fields[field.value] ?? field.value} FROM ${this.emit(open + 3, close)})`;
  }

  // -------------------------------------------------------------------------------------------
  // Output column names
  // -------------------------------------------------------------------------------------------

  /**
   * Athena names a column by its alias or column reference and calls every other expression
   * `_col<position>`; DuckDB names expressions by their text (`count_star()`).
   */
  private outputNames(engineNames: readonly string[]): string[] {
    const names = [...engineNames];
    const items = this.selectItems();
    if (items === undefined) return names;
    if (items === 'values') return names.map((_, i) => `_col${i}`);
    const starCount = items.filter((item) => item.kind === 'star').length;
    const lastStar = items.findLastIndex((item) => item.kind === 'star');
    items.forEach((item, k) => {
      let position: number | undefined;
      if (starCount === 0) position = k;
      else if (k < items.findIndex((candidate) => candidate.kind === 'star')) position = k;
      else if (k > lastStar) position = names.length - (items.length - k);
      if (position === undefined || position < 0 || position >= names.length) return;
      if (item.kind === 'named') names[position] = item.name;
      else if (item.kind === 'expression') names[position] = `_col${position}`;
    });
    return names;
  }

  private selectItems():
    | ({ kind: 'star' } | { kind: 'named'; name: string } | { kind: 'expression' })[]
    | 'values'
    | undefined {
    const top = this.tokens.findIndex(
      (token, i) => (this.group[i] ?? -1) === -1 && isWord(token, 'select', 'values'),
    );
    const first = this.tokens[top];
    if (top === -1 || first === undefined) return undefined;
    if (first.value === 'values') return 'values';
    let start = top + 1;
    if (isWord(this.tokens[start], 'distinct', 'all')) start++;
    let end = start;
    while (end < this.tokens.length) {
      const token = this.tokens[end];
      if (
        (this.group[end] ?? -1) === -1 &&
        (isWord(token, 'from') || (token?.kind === 'word' && CLAUSE_END.has(token.value)))
      )
        break;
      end++;
    }
    return splitTopLevel(this.tokens, start, end).map(([a, b]) => {
      const tokens = this.tokens.slice(a, b);
      const last = tokens.at(-1);
      const beforeLast = tokens.at(-2);
      if (isSymbol(last, '*')) return { kind: 'star' as const };
      const aliasable = last !== undefined && this.isIdentifier(last) && tokens.length >= 2;
      if (aliasable && isWord(beforeLast, 'as')) return { kind: 'named' as const, name: displayName(last) };
      const isQualifiedName = tokens.every((token, i) =>
        i % 2 === 0 ? this.isIdentifier(token) : isSymbol(token, '.'),
      );
      if (isQualifiedName && tokens.length % 2 === 1 && last !== undefined) {
        return { kind: 'named' as const, name: displayName(last) };
      }
      const intervalUnit = isWord(tokens.at(-3), 'interval');
      const endsExpression =
        beforeLast !== undefined &&
        !isSymbol(beforeLast, '.') &&
        (beforeLast.kind !== 'symbol' || isSymbol(beforeLast, ')') || isSymbol(beforeLast, ']'));
      if (aliasable && endsExpression && !intervalUnit)
        return { kind: 'named' as const, name: displayName(last) };
      return { kind: 'expression' as const };
    });
  }
}

/** Athena shows a column heading as the user spelled it (identifiers are matched case-insensitively). */
function displayName(token: Token): string {
  return token.kind === 'quoted' ? token.value : token.text;
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** Parses a Trino type at `index` into DuckDB's spelling; returns [type, index after it]. */
function trinoType(tokens: readonly Token[], index: number): [string, number] {
  const token = tokens[index];
  if (token?.kind !== 'word')
    throw userError('SYNTAX_ERROR', `${at(token)}Unknown type: ${token?.text ?? '<EOF>'}`);
  const name = token.value;
  let next = index + 1;
  const parameters = (): string[] => {
    if (!isSymbol(tokens[next], '(')) return [];
    const close = matchingParen(tokens, next);
    const values = splitTopLevel(tokens, next + 1, close).map(([a, b]) =>
      tokens
        .slice(a, b)
        .map((t) => t.text)
        .join(''),
    );
    next = close + 1;
    return values;
  };
  const withTimeZone = (): boolean => {
    if (
      isWord(tokens[next], 'with') &&
      isWord(tokens[next + 1], 'time') &&
      isWord(tokens[next + 2], 'zone')
    ) {
      next += 3;
      return true;
    }
    if (
      isWord(tokens[next], 'without') &&
      isWord(tokens[next + 1], 'time') &&
      isWord(tokens[next + 2], 'zone')
    )
      next += 3;
    return false;
  };
  switch (name) {
    case 'varchar':
    case 'char':
      parameters();
      return ['VARCHAR', next];
    case 'varbinary':
      return ['BLOB', next];
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
    case 'bigint':
    case 'boolean':
    case 'date':
    case 'uuid':
    case 'json':
      return [name === 'int' ? 'INTEGER' : name.toUpperCase(), next];
    case 'real':
      return ['FLOAT', next];
    case 'double':
      if (isWord(tokens[next], 'precision')) next++;
      return ['DOUBLE', next];
    case 'decimal': {
      const [precision = '38', scale = '0'] = parameters();
      return [`DECIMAL(${precision},${scale})`, next];
    }
    case 'timestamp':
      parameters();
      return [withTimeZone() ? 'TIMESTAMPTZ' : 'TIMESTAMP', next];
    case 'time':
      parameters();
      return [withTimeZone() ? 'TIMETZ' : 'TIME', next];
    case 'interval':
      while (isWord(tokens[next], 'year', 'month', 'day', 'second', 'to')) next++;
      return ['INTERVAL', next];
    case 'array': {
      if (!isSymbol(tokens[next], '(')) break;
      const [element, after] = trinoType(tokens, next + 1);
      if (!isSymbol(tokens[after], ')')) break;
      return [`${element}[]`, after + 1];
    }
    case 'map': {
      if (!isSymbol(tokens[next], '(')) break;
      const [key, afterKey] = trinoType(tokens, next + 1);
      if (!isSymbol(tokens[afterKey], ',')) break;
      const [value, afterValue] = trinoType(tokens, afterKey + 1);
      if (!isSymbol(tokens[afterValue], ')')) break;
      return [`MAP(${key}, ${value})`, afterValue + 1];
    }
    case 'row': {
      if (!isSymbol(tokens[next], '(')) break;
      const fields: string[] = [];
      let i = next + 1;
      for (;;) {
        const field = tokens[i];
        if (field === undefined || (field.kind !== 'word' && field.kind !== 'quoted')) break;
        const [type, after] = trinoType(tokens, i + 1);
        fields.push(`${quoteIdentifier(field.value)} ${type}`);
        i = after;
        if (isSymbol(tokens[i], ',')) i++;
        else break;
      }
      if (!isSymbol(tokens[i], ')')) break;
      return [`STRUCT(${fields.join(', ')})`, i + 1];
    }
    default:
      throw notSupported(`The type ${name}`, token);
  }
  throw userError('SYNTAX_ERROR', `${at(token)}Unknown type: ${name}`);
}

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

interface FunctionCall {
  name: Token;
  args: [number, number][];
  /** Argument k translated to DuckDB SQL. */
  arg(k: number): string;
  argTokens(k: number): Token[];
  /** Token range `[start, end)` of argument k in the statement. */
  argRange(k: number): [number, number] | undefined;
  /** Translates any token range of the statement. */
  emitRange(start: number, end: number): string;
  /** All arguments translated, comma-separated. */
  all(): string;
}

type Rewrite = (call: FunctionCall) => string;

const rename =
  (to: string): Rewrite =>
  (call) =>
    `${to}(${call.all()})`;

const arity =
  (counts: number[], rewrite: Rewrite): Rewrite =>
  (call) => {
    if (!counts.includes(call.args.length)) {
      throw notSupported(`${call.name.value} with ${call.args.length} argument(s)`, call.name);
    }
    return rewrite(call);
  };

const unsupported =
  (why?: string): Rewrite =>
  (call) => {
    throw notSupported(`The function ${call.name.value}${why === undefined ? '' : ` (${why})`}`, call.name);
  };

/** A string-literal argument (a format pattern, a unit) or a NOT_SUPPORTED error. */
function literalArg(call: FunctionCall, k: number): string {
  const tokens = call.argTokens(k);
  const token = tokens[0];
  if (tokens.length !== 1 || token?.kind !== 'string') {
    throw notSupported(`${call.name.value} with a non-literal argument ${k + 1}`, call.name);
  }
  return token.value;
}

/** MySQL-style `date_format` / `date_parse` specifiers → DuckDB strftime / strptime. */
const MYSQL_SPECIFIERS: Record<string, string> = {
  a: '%a',
  b: '%b',
  c: '%-m',
  d: '%d',
  e: '%-d',
  f: '%f',
  H: '%H',
  h: '%I',
  I: '%I',
  i: '%M',
  j: '%j',
  k: '%-H',
  l: '%-I',
  M: '%B',
  m: '%m',
  p: '%p',
  r: '%I:%M:%S %p',
  S: '%S',
  s: '%S',
  T: '%H:%M:%S',
  v: '%V',
  W: '%A',
  x: '%G',
  Y: '%Y',
  y: '%y',
  '%': '%%',
};

export function mysqlToStrftime(format: string, call?: FunctionCall): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const char = format[i] ?? '';
    if (char !== '%') {
      out += char;
      continue;
    }
    const specifier = format[i + 1] ?? '';
    i++;
    const translated = MYSQL_SPECIFIERS[specifier];
    if (translated === undefined) {
      if (/[DUuVwX]/.test(specifier)) {
        throw notSupported(`The ${call?.name.value ?? 'date_format'} specifier %${specifier}`, call?.name);
      }
      out += specifier === '' ? '%%' : specifier;
      continue;
    }
    out += translated;
  }
  return out;
}

/** Joda-Time patterns (`format_datetime`, `parse_datetime`) → strftime. */
export function jodaToStrftime(pattern: string, call?: FunctionCall): string {
  const tokens = pattern.match(/'(?:[^']|'')*'|([a-zA-Z])\1*|[^a-zA-Z']+/g) ?? [];
  const map: Record<string, string> = {
    yyyy: '%Y',
    yy: '%y',
    y: '%Y',
    YYYY: '%Y',
    xxxx: '%G',
    MMMM: '%B',
    MMM: '%b',
    MM: '%m',
    M: '%-m',
    dd: '%d',
    d: '%-d',
    DDD: '%j',
    HH: '%H',
    H: '%-H',
    hh: '%I',
    h: '%-I',
    mm: '%M',
    m: '%-M',
    ss: '%S',
    s: '%-S',
    SSS: '%g',
    SSSSSS: '%f',
    a: '%p',
    EEEE: '%A',
    EEE: '%a',
    E: '%a',
    Z: '%z',
    ZZ: '%z',
    z: '%Z',
  };
  return tokens
    .map((token) => {
      if (token.startsWith("'"))
        return token === "''" ? "'" : token.slice(1, -1).replaceAll("''", "'").replaceAll('%', '%%');
      if (!/^[a-zA-Z]/.test(token)) return token.replaceAll('%', '%%');
      const translated = map[token];
      if (translated === undefined) {
        throw notSupported(
          `The Joda pattern letter '${token}' in ${call?.name.value ?? 'format_datetime'}`,
          call?.name,
        );
      }
      return translated;
    })
    .join('');
}

const HASHES = new Set(['md5', 'sha1', 'sha256', 'sha512']);

const TRUNCATION_WIDTHS: Record<string, string> = {
  millisecond: '1 millisecond',
  second: '1 second',
  minute: '1 minute',
  hour: '1 hour',
  day: '1 day',
  week: '7 days',
  month: '1 month',
  quarter: '3 months',
  year: '1 year',
};

/** Aggregate and window calls: typed macro overloads cannot see their result type. */
const AGGREGATES = new Set([
  'count',
  'count_if',
  'sum',
  'avg',
  'min',
  'max',
  'min_by',
  'max_by',
  'arbitrary',
  'any_value',
  'array_agg',
  'approx_distinct',
  'approx_percentile',
  'bool_and',
  'bool_or',
  'every',
  'stddev',
  'stddev_samp',
  'stddev_pop',
  'variance',
  'var_samp',
  'var_pop',
  'geometric_mean',
  'histogram',
  'corr',
  'covar_samp',
  'covar_pop',
  'first_value',
  'last_value',
  'nth_value',
  'lag',
  'lead',
]);

function isAggregateCall(token: Token | undefined, next: Token | undefined): boolean {
  return (
    (token?.kind === 'word' && AGGREGATES.has(token.value) && isSymbol(next, '(')) || isWord(token, 'over')
  );
}

/**
 * Trino functions that need more than passing through. Functions not listed run under DuckDB's
 * own name when DuckDB has it (most scalar and aggregate functions are spelled alike).
 */
const FUNCTION_REWRITES = new Map<string, Rewrite>(
  Object.entries({
    // Exact instead of approximate: DuckDB's approx_count_distinct was 4–13 % off, worse than
    // Trino's 2.3 % standard error; an exact count is never further from the truth.
    approx_distinct: arity([1, 2], (call) => `count(DISTINCT ${call.arg(0)})`),
    // Trino's count_if counts the rows where the condition is true: 0 for a group where it is never
    // true or always NULL. DuckDB's count_if gives NULL for a group of NULL conditions.
    count_if: arity([1], (call) => `count(CASE WHEN ${call.arg(0)} THEN 1 END)`),
    // quantile_disc returns a value present in the data, with the input's type (bigint stays
    // bigint), as Trino's digest-based estimate does; exact, so never less accurate.
    approx_percentile: (call) => {
      if (call.args.length !== 2)
        throw notSupported('approx_percentile with weights or an accuracy argument', call.name);
      return `quantile_disc(${call.arg(0)}, ${call.arg(1)})`;
    },
    approx_most_frequent: unsupported(),
    approx_set: unsupported('HyperLogLog sketches'),
    merge: unsupported('sketch merging'),
    empty_approx_set: unsupported('HyperLogLog sketches'),
    qdigest_agg: unsupported(),
    tdigest_agg: unsupported(),
    numeric_histogram: unsupported(),
    map_agg: unsupported(),
    multimap_agg: unsupported(),
    reduce_agg: unsupported(),
    listagg: unsupported('use array_join(array_agg(x), sep)'),
    every: rename('bool_and'),
    regexp_like: arity([2], rename('regexp_matches')),
    regexp_extract: arity([2, 3], rename('trino_regexp_extract')),
    regexp_extract_all: arity([2, 3], rename('regexp_extract_all')),
    regexp_split: arity([2], rename('regexp_split_to_array')),
    regexp_count: arity(
      [2],
      (call) => `CAST(len(regexp_extract_all(${call.arg(0)}, ${call.arg(1)})) AS BIGINT)`,
    ),
    regexp_position: unsupported(),
    // Trino replaces every match and refers to groups as $1; DuckDB replaces the first unless 'g'.
    regexp_replace: (call) => {
      if (call.args.length === 2) return `regexp_replace(${call.arg(0)}, ${call.arg(1)}, '', 'g')`;
      if (call.args.length !== 3)
        throw notSupported(`regexp_replace with ${call.args.length} arguments`, call.name);
      const replacement = call.argTokens(2);
      if (replacement.some((token) => isSymbol(token, '->')))
        throw notSupported('regexp_replace with a lambda', call.name);
      const only = replacement[0];
      const text =
        replacement.length === 1 && only?.kind === 'string'
          ? quoteString(
              only.value.replace(/\\\$|\$(\d)/g, (_match, group: string | undefined) =>
                group === undefined ? '$' : `\\${group}`,
              ),
            )
          : call.arg(2);
      return `regexp_replace(${call.arg(0)}, ${call.arg(1)}, ${text}, 'g')`;
    },
    from_iso8601_timestamp: arity([1], (call) => `CAST(${call.arg(0)} AS TIMESTAMPTZ)`),
    from_iso8601_timestamp_nanos: arity([1], (call) => `CAST(${call.arg(0)} AS TIMESTAMPTZ)`),
    from_iso8601_date: arity([1], (call) => `CAST(${call.arg(0)} AS DATE)`),
    to_iso8601: arity([1], rename('trino_to_iso8601')),
    date_format: arity(
      [2],
      (call) => `strftime(${call.arg(0)}, ${quoteString(mysqlToStrftime(literalArg(call, 1), call))})`,
    ),
    date_parse: arity(
      [2],
      (call) => `strptime(${call.arg(0)}, ${quoteString(mysqlToStrftime(literalArg(call, 1), call))})`,
    ),
    format_datetime: arity(
      [2],
      (call) => `strftime(${call.arg(0)}, ${quoteString(jodaToStrftime(literalArg(call, 1), call))})`,
    ),
    parse_datetime: arity(
      [2],
      (call) => `strptime(${call.arg(0)}, ${quoteString(jodaToStrftime(literalArg(call, 1), call))})`,
    ),
    from_unixtime: arity([1], rename('to_timestamp')),
    to_unixtime: arity([1], rename('epoch')),
    // Typed macro overloads keep a date a date, but DuckDB cannot resolve them when the argument is
    // an aggregate or window expression; those get the untyped form (a date becomes a timestamp).
    date_add: arity([3], (call) =>
      call.argTokens(2).some((token, i, tokens) => isAggregateCall(token, tokens[i + 1]))
        ? `(${call.arg(2)} + trino_interval(${call.arg(0)}, ${call.arg(1)}))`
        : `trino_date_add(${call.all()})`,
    ),
    // Trino counts whole units elapsed; DuckDB's date_diff counts boundaries crossed, date_sub does not.
    date_diff: arity([3], rename('date_sub')),
    // time_bucket keeps the argument's type (a date stays a date) and its buckets start where
    // date_trunc's do (weeks on Monday, months and years on the 1st).
    date_trunc: arity([2], (call) => {
      const unit = call.argTokens(0);
      const width =
        unit.length === 1 && unit[0]?.kind === 'string'
          ? TRUNCATION_WIDTHS[unit[0].value.toLowerCase()]
          : undefined;
      return width === undefined
        ? `date_trunc(${call.all()})`
        : `time_bucket(INTERVAL '${width}', ${call.arg(1)})`;
    }),
    day_of_week: arity([1], rename('isodow')),
    dow: arity([1], rename('isodow')),
    day_of_month: arity([1], rename('dayofmonth')),
    day_of_year: arity([1], rename('dayofyear')),
    doy: arity([1], rename('dayofyear')),
    week_of_year: arity([1], rename('weekofyear')),
    year_of_week: arity([1], rename('isoyear')),
    yow: arity([1], rename('isoyear')),
    millisecond: arity([1], (call) => `(millisecond(${call.arg(0)}) % 1000)`),
    last_day_of_month: arity([1], rename('last_day')),
    current_timezone: arity([0], () => `'UTC'`),
    at_timezone: unsupported('the local stand-in runs in UTC only'),
    with_timezone: unsupported('the local stand-in runs in UTC only'),
    cardinality: arity([1], rename('trino_cardinality')),
    element_at: arity([2], (call) => `(${call.arg(0)})[${call.arg(1)}]`),
    contains: arity([2], rename('list_contains')),
    array_join: arity([2, 3], (call) =>
      call.args.length === 2
        ? `array_to_string(${call.arg(0)}, ${call.arg(1)})`
        : `array_to_string(list_transform(${call.arg(0)}, __athena_e -> coalesce(CAST(__athena_e AS VARCHAR), ${call.arg(2)})), ${call.arg(1)})`,
    ),
    array_max: arity([1], rename('list_max')),
    array_min: arity([1], rename('list_min')),
    array_sort: arity([1], rename('list_sort')),
    array_distinct: arity([1], rename('list_distinct')),
    array_position: arity([2], (call) => `coalesce(list_position(${call.arg(0)}, ${call.arg(1)}), 0)`),
    array_remove: arity(
      [2],
      (call) => `list_filter(${call.arg(0)}, __athena_e -> __athena_e IS DISTINCT FROM ${call.arg(1)})`,
    ),
    array_intersect: arity([2], rename('list_intersect')),
    array_union: arity([2], (call) => `list_distinct(list_concat(${call.arg(0)}, ${call.arg(1)}))`),
    array_except: arity(
      [2],
      (call) =>
        `list_filter(list_distinct(${call.arg(0)}), __athena_e -> NOT list_contains(${call.arg(1)}, __athena_e))`,
    ),
    arrays_overlap: arity([2], rename('list_has_any')),
    slice: arity(
      [3],
      (call) => `list_slice(${call.arg(0)}, ${call.arg(1)}, ${call.arg(1)} + ${call.arg(2)} - 1)`,
    ),
    sequence: arity([2, 3], rename('generate_series')),
    transform: arity([2], rename('list_transform')),
    filter: arity([2], rename('list_filter')),
    any_match: arity([2], (call) => `(len(list_filter(${call.arg(0)}, ${call.arg(1)})) > 0)`),
    all_match: arity(
      [2],
      (call) => `(len(list_filter(${call.arg(0)}, ${call.arg(1)})) = len(${call.arg(0)}))`,
    ),
    none_match: arity([2], (call) => `(len(list_filter(${call.arg(0)}, ${call.arg(1)})) = 0)`),
    reduce: unsupported(),
    zip_with: unsupported(),
    transform_keys: unsupported(),
    transform_values: unsupported(),
    map_filter: unsupported(),
    // Trino's concat returns NULL when any argument is NULL (DuckDB's skips NULLs); `||` does both
    // strings and arrays the Trino way.
    concat: (call) => `(${call.args.map((_, k) => call.arg(k)).join(' || ')})`,
    split: arity([2], rename('string_split')),
    split_part: arity([3], rename('trino_split_part')),
    strpos: arity([2], rename('strpos')),
    codepoint: arity([1], rename('unicode')),
    levenshtein_distance: arity([2], rename('levenshtein')),
    hamming_distance: arity([2], rename('hamming')),
    format: rename('printf'),
    to_utf8: arity([1], rename('encode')),
    from_utf8: arity([1], rename('decode')),
    to_hex: arity([1], (call) => {
      // to_hex(md5(to_utf8(x))) is the Trino idiom for a hex digest; DuckDB's md5(x) is that digest.
      const tokens = call.argTokens(0);
      const [hash, open, utf8, innerOpen] = tokens;
      if (
        tokens.length >= 6 &&
        hash?.kind === 'word' &&
        HASHES.has(hash.value) &&
        isSymbol(open, '(') &&
        isWord(utf8, 'to_utf8') &&
        isSymbol(innerOpen, '(') &&
        isSymbol(tokens.at(-1), ')') &&
        isSymbol(tokens.at(-2), ')')
      ) {
        const range = call.argRange(0);
        const inner = range === undefined ? '' : call.emitRange(range[0] + 4, range[1] - 2);
        return `upper(${hash.value}(${inner}))`;
      }
      return `hex(${call.arg(0)})`;
    }),
    md5: unsupported('Trino hashes varbinary; use to_hex(md5(to_utf8(x)))'),
    sha1: unsupported('Trino hashes varbinary; use to_hex(sha1(to_utf8(x)))'),
    sha256: unsupported('Trino hashes varbinary; use to_hex(sha256(to_utf8(x)))'),
    sha512: unsupported('Trino hashes varbinary; use to_hex(sha512(to_utf8(x)))'),
    json_extract_scalar: arity([2], rename('trino_json_extract_scalar')),
    json_parse: arity([1], rename('json')),
    json_format: arity([1], (call) => `CAST(${call.arg(0)} AS VARCHAR)`),
    json_array_get: arity([2], (call) => `json_extract(${call.arg(0)}, '$[' || ${call.arg(1)} || ']')`),
    json_size: unsupported(),
    url_extract_host: arity([1], rename('trino_url_extract_host')),
    url_extract_path: arity([1], rename('trino_url_extract_path')),
    url_extract_port: arity([1], rename('trino_url_extract_port')),
    url_extract_protocol: arity([1], rename('trino_url_extract_protocol')),
    url_extract_query: arity([1], rename('trino_url_extract_query')),
    url_extract_fragment: arity([1], rename('trino_url_extract_fragment')),
    url_extract_parameter: arity([2], rename('trino_url_extract_parameter')),
    rand: arity([0], () => 'random()'),
    random: (call) =>
      call.args.length === 0 ? 'random()' : `CAST(floor(random() * (${call.arg(0)})) AS BIGINT)`,
    truncate: arity([1], rename('trunc')),
    is_nan: arity([1], rename('isnan')),
    is_finite: arity([1], rename('isfinite')),
    is_infinite: arity([1], rename('isinf')),
    nan: arity([0], () => `CAST('NaN' AS DOUBLE)`),
    infinity: arity([0], () => `CAST('Infinity' AS DOUBLE)`),
    if: (call) => {
      if (call.args.length === 2) return `(CASE WHEN ${call.arg(0)} THEN ${call.arg(1)} END)`;
      if (call.args.length === 3)
        return `(CASE WHEN ${call.arg(0)} THEN ${call.arg(1)} ELSE ${call.arg(2)} END)`;
      throw notSupported(`if with ${call.args.length} arguments`, call.name);
    },
    // Table-valued DuckDB functions would read the local disk; Athena has no such functions.
    read_csv: unsupported(),
    read_parquet: unsupported(),
    read_json: unsupported(),
    read_text: unsupported(),
  } satisfies Record<string, Rewrite>),
);

/** The DuckDB macros the rewrites above call, created once per engine instance. */
export const TRINO_MACROS = [
  `CREATE MACRO trino_regexp_extract(s, p) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p) END,
     (s, p, g) AS CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END`,
  `CREATE MACRO trino_split_part(s, d, i) AS
     CASE WHEN i >= 1 AND i <= len(string_split(s, d)) THEN split_part(s, d, i) END`,
  // Arrays and maps alike: DuckDB has len() for lists and cardinality() for maps only, and macro
  // overloads cannot tell a list from a map of any element type; their JSON form can.
  `CREATE MACRO trino_cardinality(x) AS CAST(CASE json_type(to_json(x))
     WHEN 'ARRAY' THEN json_array_length(to_json(x)) ELSE len(json_keys(to_json(x))) END AS BIGINT)`,
  `CREATE MACRO trino_interval(u, n) AS CASE lower(u)
     WHEN 'millisecond' THEN to_milliseconds(CAST(n AS DOUBLE)) WHEN 'second' THEN to_seconds(CAST(n AS DOUBLE))
     WHEN 'minute' THEN to_minutes(CAST(n AS BIGINT)) WHEN 'hour' THEN to_hours(CAST(n AS BIGINT))
     WHEN 'day' THEN to_days(CAST(n AS INTEGER)) WHEN 'week' THEN to_days(CAST(7 * n AS INTEGER))
     WHEN 'month' THEN to_months(CAST(n AS INTEGER)) WHEN 'quarter' THEN to_months(CAST(3 * n AS INTEGER))
     WHEN 'year' THEN to_years(CAST(n AS INTEGER)) END`,
  `CREATE MACRO trino_date_add(u, n, x DATE) AS CAST(x + trino_interval(u, n) AS DATE),
     (u, n, x TIMESTAMP) AS x + trino_interval(u, n),
     (u, n, x TIMESTAMPTZ) AS x + trino_interval(u, n)`,
  // Dispatch on typeof(): every branch is VARCHAR, so it binds for any argument (aggregates too).
  `CREATE MACRO trino_to_varchar(x) AS CASE typeof(x)
     WHEN 'TIMESTAMP' THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMP), '%Y-%m-%d %H:%M:%S.%g')
     WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ), '%Y-%m-%d %H:%M:%S.%g UTC')
     ELSE CAST(x AS VARCHAR) END`,
  `CREATE MACRO trino_to_iso8601(x) AS CASE typeof(x)
     WHEN 'TIMESTAMP' THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g')
     WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')
     ELSE CAST(x AS VARCHAR) END`,
  `CREATE MACRO trino_json_extract_scalar(j, p) AS
     CASE WHEN json_type(json_extract(j, p)) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END`,
  `CREATE MACRO trino_url_extract_protocol(u) AS nullif(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*):', 1), '')`,
  `CREATE MACRO trino_url_extract_host(u) AS
     nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\\[[^\\]]*\\]|[^:/?#]*)', 1), '')`,
  `CREATE MACRO trino_url_extract_port(u) AS TRY_CAST(nullif(regexp_extract(u,
     '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(?:\\[[^\\]]*\\]|[^:/?#]*):([0-9]+)', 1), '') AS BIGINT)`,
  `CREATE MACRO trino_url_extract_path(u) AS regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)`,
  `CREATE MACRO trino_url_extract_query(u) AS CASE WHEN strpos(u, '?') > 0 THEN regexp_extract(u, '\\?([^#]*)', 1) END`,
  `CREATE MACRO trino_url_extract_fragment(u) AS CASE WHEN strpos(u, '#') > 0 THEN regexp_extract(u, '#(.*)$', 1) END`,
  `CREATE MACRO trino_url_extract_parameter(u, name) AS
     CASE WHEN regexp_matches(u, '[?&]' || regexp_escape(name) || '=')
     THEN regexp_extract(u, '[?&]' || regexp_escape(name) || '=([^&#]*)', 1) END`,
];
