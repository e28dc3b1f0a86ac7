import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPortableSql } from '#shared/core/sql-dialect';

const SQL = join(__dirname, '..', '..', 'sql');
const files = readdirSync(SQL).filter((name) => name.endsWith('.sql'));

describe('SQL portability (Trino on Athena, DuckDB locally)', () => {
  it('finds the SQL files', () => {
    expect(files).toContain('hourly_aggregate.sql');
  });

  it.each(files)('%s uses no construct known to differ between the engines', (name) => {
    expect(checkPortableSql(readFileSync(join(SQL, name), 'utf8'))).toEqual([]);
  });

  it.each([
    ['SELECT x::bigint FROM t', 'cast-operator'],
    ['SELECT * FROM t WHERE a ILIKE $$x$$', 'ilike'],
    ['SELECT a FROM t QUALIFY row_number() OVER () = 1', 'qualify'],
    ['SELECT a, count(*) FROM t GROUP BY ALL', 'group-by-all'],
    ['SELECT * EXCLUDE (a) FROM t', 'select-exclude'],
    ["SELECT strftime(ts, '%H') FROM t", 'strftime'],
    ['SELECT approx_count_distinct(ip) FROM t', 'duckdb-functions'],
    ['SELECT `a` FROM t', 'backtick-identifier'],
    ['SELECT avg(time_taken) FROM t', 'double-avg'],
    ['SELECT a FROM t LIMIT 10', 'limit-without-order'],
    ['SELECT approx_distinct(ip, 0.01) FROM t', 'approx-distinct-error'],
  ])('rejects %s (%s)', (sql, rule) => {
    expect(checkPortableSql(sql).map((problem) => problem.split(':')[0])).toContain(rule);
  });

  it('ignores comments and string literals', () => {
    expect(checkPortableSql("-- avg(x) LIMIT 1\nSELECT 'a::b ILIKE' AS s FROM t ORDER BY s LIMIT 1")).toEqual(
      [],
    );
  });
});
