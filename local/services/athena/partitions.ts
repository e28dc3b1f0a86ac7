import { withTrailingSlash } from './catalog';
import { isIntegerType, isStringType, parseHiveTypeString } from './hive-types';
import type { StoredTable } from './store';

/**
 * Which S3 objects belong to which partition of a table, and which partitions a query needs.
 *
 * Layout: `<location>/<key>=<value>/…` (the Hive layout, which is also where partition projection
 * points by default) or, with projection enabled, `storage.location.template`. Partitions added
 * with ALTER TABLE ADD PARTITION map their own locations. Objects that fit no layout are ignored,
 * as Athena never looks at them.
 */

export interface ObjectPartition {
  /** Partition values in partition-key order; `null` for Hive's default partition. */
  values: (string | null)[];
}

export interface TableLayout {
  /** Values of the partition an object (`s3://bucket/key`) belongs to, or undefined if none. */
  partitionOf(objectUrl: string): ObjectPartition | undefined;
  /** Whether partition projection would generate this partition at all. */
  projected(values: readonly (string | null)[]): boolean;
  /** Keys whose projection type is `injected` (queries must pin them with equality). */
  injectedKeys: string[];
}

const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

export function tableLayout(table: StoredTable, now = new Date()): TableLayout {
  const keys = table.partitionKeys.map((key) => key.name);
  const projection = projectionConfig(table, now);
  const explicit = table.partitions.map((partition) => ({
    prefix: withTrailingSlash(partition.location),
    values: partition.values,
  }));
  const template = projection.enabled ? table.parameters['storage.location.template'] : undefined;
  const matcher =
    template === undefined ? hiveMatcher(table.location, keys) : templateMatcher(template, keys);

  return {
    partitionOf(objectUrl) {
      if (keys.length === 0) return objectUrl.startsWith(table.location) ? { values: [] } : undefined;
      // With projection on, Athena ignores partitions registered in the catalog.
      if (!projection.enabled) {
        const added = explicit.find((partition) => objectUrl.startsWith(partition.prefix));
        if (added !== undefined) return { values: added.values };
      }
      return matcher(objectUrl);
    },
    projected(values) {
      return projection.accepts(values);
    },
    injectedKeys: projection.injected,
  };
}

/** `<location>k1=v1/k2=v2/<anything>`, keys in declared order, values unescaped as Hive does. */
function hiveMatcher(location: string, keys: readonly string[]) {
  return (objectUrl: string): ObjectPartition | undefined => {
    if (!objectUrl.startsWith(location)) return undefined;
    const segments = objectUrl.slice(location.length).split('/');
    // The last segment is the object name: partition directories come before it.
    if (segments.length <= keys.length) return undefined;
    const values: (string | null)[] = [];
    for (const [i, key] of keys.entries()) {
      const segment = segments[i] ?? '';
      const separator = segment.indexOf('=');
      if (separator === -1 || segment.slice(0, separator).toLowerCase() !== key) return undefined;
      const value = unescapePathValue(segment.slice(separator + 1));
      values.push(value === HIVE_DEFAULT_PARTITION ? null : value);
    }
    return { values };
  };
}

/** `s3://bucket/prefix/${dt}/${hour}/` → one capture per key, each a single path segment. */
function templateMatcher(template: string, keys: readonly string[]) {
  const order: string[] = [];
  const source = withTrailingSlash(template)
    .split(/(\$\{[^}]+\})/)
    .map((part) => {
      const placeholder = /^\$\{([^}]+)\}$/.exec(part);
      if (placeholder?.[1] === undefined) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      order.push(placeholder[1].toLowerCase());
      return '([^/]+)';
    })
    .join('');
  const regex = new RegExp(`^${source}.+`);
  return (objectUrl: string): ObjectPartition | undefined => {
    const match = regex.exec(objectUrl);
    if (match === null) return undefined;
    const byKey = new Map(order.map((key, i) => [key, match[i + 1] ?? '']));
    return { values: keys.map((key) => byKey.get(key) ?? null) };
  };
}

function unescapePathValue(value: string): string {
  return value.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

// ---------------------------------------------------------------------------------------------
// Partition projection (`projection.<key>.type` = enum | integer | date | injected)
// ---------------------------------------------------------------------------------------------

interface Projection {
  enabled: boolean;
  accepts(values: readonly (string | null)[]): boolean;
  injected: string[];
}

function projectionConfig(table: StoredTable, now: Date): Projection {
  const parameters = table.parameters;
  const enabled = (parameters['projection.enabled'] ?? '').toLowerCase() === 'true';
  if (!enabled) return { enabled, accepts: () => true, injected: [] };
  const checks = table.partitionKeys.map((key) => projectionCheck(parameters, key.name, now));
  return {
    enabled,
    accepts: (values) => checks.every((check, i) => check(values[i] ?? null)),
    injected: table.partitionKeys
      .map((key) => key.name)
      .filter((name) => (parameters[`projection.${name}.type`] ?? '').toLowerCase() === 'injected'),
  };
}

function projectionCheck(
  parameters: Record<string, string>,
  key: string,
  now: Date,
): (value: string | null) => boolean {
  const setting = (name: string) => parameters[`projection.${key}.${name}`];
  const type = (setting('type') ?? '').toLowerCase();
  if (type === 'enum') {
    const values = new Set((setting('values') ?? '').split(',').map((value) => value.trim()));
    return (value) => value !== null && values.has(value);
  }
  if (type === 'integer') {
    const [low, high] = (setting('range') ?? '').split(',').map((bound) => Number(bound.trim()));
    const digits = Number(setting('digits') ?? '0');
    return (value) => {
      if (value === null || !/^-?\d+$/.test(value)) return false;
      const number = Number(value);
      // Projection generates `5` or, with `digits`, `05`; any other spelling is never looked at.
      const spelled = digits > 0 ? String(Math.abs(number)).padStart(digits, '0') : String(Math.abs(number));
      if (value.replace('-', '') !== spelled) return false;
      return (
        (low === undefined || Number.isNaN(low) || number >= low) &&
        (high === undefined || Number.isNaN(high) || number <= high)
      );
    };
  }
  if (type === 'date') {
    const format = setting('format') ?? 'yyyy-MM-dd';
    const parse = javaDateParser(format);
    if (parse === undefined) return () => true;
    const [lowText, highText] = (setting('range') ?? '').split(',').map((bound) => bound.trim());
    const low = lowText === undefined ? undefined : dateBound(lowText, parse, now);
    const high = highText === undefined ? undefined : dateBound(highText, parse, now);
    return (value) => {
      if (value === null) return false;
      const time = parse(value);
      if (time === undefined) return false;
      return (low === undefined || time >= low) && (high === undefined || time <= high);
    };
  }
  return () => true;
}

const UNIT_MS: Record<string, number> = {
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
  WEEK: 7 * 86_400_000,
};

/** `2020-01-01` (in the projection format) or `NOW`, `NOW-3DAYS`, `NOW+1MONTH`. */
function dateBound(
  text: string,
  parse: (value: string) => number | undefined,
  now: Date,
): number | undefined {
  const relative = /^NOW(?:\s*([+-])\s*(\d+)\s*(YEAR|MONTH|WEEK|DAY|HOUR|MINUTE|SECOND)S?)?$/i.exec(text);
  if (relative === null) return parse(text);
  const amount = relative[2] === undefined ? 0 : Number(relative[2]) * (relative[1] === '-' ? -1 : 1);
  const unit = (relative[3] ?? 'DAY').toUpperCase();
  const date = new Date(now.getTime());
  if (unit === 'YEAR') date.setUTCFullYear(date.getUTCFullYear() + amount);
  else if (unit === 'MONTH') date.setUTCMonth(date.getUTCMonth() + amount);
  else date.setTime(date.getTime() + amount * (UNIT_MS[unit] ?? 0));
  return date.getTime();
}

/** A strict parser for the Java date patterns projection uses (yyyy MM dd HH mm ss and literals). */
function javaDateParser(format: string): ((value: string) => number | undefined) | undefined {
  const fields: string[] = [];
  let source = '';
  const tokens = format.match(/'[^']*'|y+|M+|d+|H+|m+|s+|S+|[^a-zA-Z']+|[a-zA-Z]/g) ?? [];
  for (const token of tokens) {
    if (token.startsWith("'")) source += escapeRegex(token.slice(1, -1));
    else if (/^[yMdHmsS]+$/.test(token)) {
      fields.push(token[0] ?? '');
      source += token.length === 1 ? '(\\d+)' : `(\\d{${token.length}})`;
    } else if (/^[a-zA-Z]$/.test(token)) return undefined;
    else source += escapeRegex(token);
  }
  const regex = new RegExp(`^${source}$`);
  return (value) => {
    const match = regex.exec(value);
    if (match === null) return undefined;
    const parts: Record<string, number> = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 };
    fields.forEach((field, i) => {
      parts[field] = Number(match[i + 1]);
    });
    return Date.UTC(
      parts.y ?? 1970,
      (parts.M ?? 1) - 1,
      parts.d ?? 1,
      parts.H ?? 0,
      parts.m ?? 0,
      parts.s ?? 0,
      parts.S ?? 0,
    );
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// Partition pruning
// ---------------------------------------------------------------------------------------------

/** A literal in a predicate: `'x'`, `12`, `DATE 'x'`, `TIMESTAMP 'x'`. */
export interface PredicateLiteral {
  kind: 'string' | 'number' | 'date' | 'timestamp';
  value: string;
}

/**
 * A WHERE conjunct on a partition key that the query must satisfy, so partitions failing it can be
 * skipped (and their bytes not counted). Only simple null-rejecting forms are recognised; anything
 * else simply does not prune.
 */
export interface PartitionConstraint {
  key: string;
  operator: '=' | '<>' | '<' | '<=' | '>' | '>=' | 'in' | 'between';
  literals: PredicateLiteral[];
}

/** Whether a partition may hold rows satisfying every constraint (unknown comparisons keep it). */
export function partitionMayMatch(
  table: StoredTable,
  values: readonly (string | null)[],
  constraints: readonly PartitionConstraint[],
): boolean {
  return constraints.every((constraint) => {
    const index = table.partitionKeys.findIndex((key) => key.name === constraint.key);
    const key = table.partitionKeys[index];
    if (key === undefined) return true;
    const value = values[index] ?? null;
    // Every recognised form is null-rejecting: a NULL partition value never satisfies it.
    if (value === null) return false;
    const type = parseHiveTypeString(key.type);
    const compare = (literal: PredicateLiteral): number | undefined =>
      comparePartitionValue(type, value, literal);
    const [first, second] = constraint.literals;
    if (first === undefined) return true;
    if (constraint.operator === 'in') {
      const results = constraint.literals.map(compare);
      return results.some((result) => result === undefined || result === 0);
    }
    const low = compare(first);
    if (low === undefined) return true;
    switch (constraint.operator) {
      case '=':
        return low === 0;
      case '<>':
        return low !== 0;
      case '<':
        return low < 0;
      case '<=':
        return low <= 0;
      case '>':
        return low > 0;
      case '>=':
        return low >= 0;
      case 'between': {
        const high = second === undefined ? undefined : compare(second);
        return low >= 0 && (high === undefined || high <= 0);
      }
    }
    return true;
  });
}

/** Sign of (partition value − literal), or undefined when the comparison is not understood. */
function comparePartitionValue(
  type: ReturnType<typeof parseHiveTypeString>,
  value: string,
  literal: PredicateLiteral,
): number | undefined {
  if (isStringType(type)) {
    if (literal.kind !== 'string') return undefined;
    return value < literal.value ? -1 : value > literal.value ? 1 : 0;
  }
  if (
    isIntegerType(type) ||
    (type.kind === 'primitive' && type.name === 'double') ||
    type.kind === 'decimal'
  ) {
    if (literal.kind !== 'number') return undefined;
    const number = Number(value.trim());
    // The engine reads an unparseable value as NULL, which satisfies no comparison.
    if (value.trim() === '' || Number.isNaN(number)) return Number.NaN;
    return Math.sign(number - Number(literal.value));
  }
  if (type.kind === 'primitive' && type.name === 'date') {
    if (
      literal.kind !== 'date' ||
      !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
      !/^\d{4}-\d{2}-\d{2}$/.test(literal.value)
    ) {
      return undefined;
    }
    return value < literal.value ? -1 : value > literal.value ? 1 : 0;
  }
  return undefined;
}
