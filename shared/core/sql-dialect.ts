/**
 * The project's SQL must mean the same on Athena (Trino, engine v3) and on the local stand-in
 * (DuckDB behind a Trino translation). These constructs are known to differ, or to exist in only
 * one engine, so `sql/` may not use them. Each rule says what to write instead.
 */
export interface DialectRule {
  id: string;
  pattern: RegExp;
  why: string;
}

export const NON_PORTABLE_SQL: readonly DialectRule[] = [
  { id: 'cast-operator', pattern: /::/, why: '`x::type` is DuckDB/PostgreSQL only; write CAST(x AS type)' },
  { id: 'ilike', pattern: /\bilike\b/i, why: 'ILIKE is DuckDB only; write lower(x) LIKE …' },
  {
    id: 'qualify',
    pattern: /\bqualify\b/i,
    why: 'QUALIFY is not in Trino; filter a window function in a subquery',
  },
  { id: 'group-by-all', pattern: /\bgroup\s+by\s+all\b/i, why: 'GROUP BY ALL is DuckDB only; list the keys' },
  {
    id: 'select-exclude',
    pattern: /\*\s*(exclude|replace)\s*\(/i,
    why: 'SELECT * EXCLUDE/REPLACE is DuckDB only; list the columns',
  },
  {
    id: 'strftime',
    pattern: /\b(strftime|strptime)\s*\(/i,
    why: 'DuckDB names; Trino has date_format / date_parse (MySQL-style patterns)',
  },
  {
    id: 'duckdb-functions',
    pattern:
      /\b(regexp_matches|list_\w+|struct_\w+|approx_count_distinct|approx_quantile|quantile_\w+)\s*\(/i,
    why: 'DuckDB function names; use the Trino ones (regexp_like, approx_distinct, approx_percentile)',
  },
  {
    id: 'backtick-identifier',
    pattern: /`/,
    why: 'backticks quote identifiers only in Hive DDL; Trino queries use "double quotes"',
  },
  {
    id: 'double-avg',
    pattern: /\bavg\s*\(/i,
    why: 'a floating-point avg() depends on row order, so a re-run could change the last digits; sum exact integers and divide',
  },
  {
    id: 'limit-without-order',
    pattern: /^(?![\s\S]*\border\s+by\b)[\s\S]*\blimit\b/i,
    why: 'LIMIT without ORDER BY picks different rows on different engines (and runs)',
  },
  {
    id: 'approx-distinct-error',
    pattern: /\bapprox_distinct\s*\([^,)]*,/i,
    why: 'approx_distinct with an explicit error bound has no local equivalent (the stand-in counts exactly)',
  },
];

/** Problems of one SQL text (comments and string literals ignored), each naming the rule. */
export function checkPortableSql(sql: string): string[] {
  const code = sql
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/'(?:[^']|'')*'/g, "''");
  return NON_PORTABLE_SQL.filter((rule) => rule.pattern.test(code)).map((rule) => `${rule.id}: ${rule.why}`);
}
