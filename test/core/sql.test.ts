import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { glueName, renderSql, SqlParameterError } from '#shared/core/sql';

describe('SQL templates', () => {
  const template = readFileSync(join(__dirname, '..', '..', 'sql', 'hourly_aggregate.sql'), 'utf8');

  it('fills the hourly aggregate for one partition', () => {
    const sql = renderSql(template, {
      database: 'cf_etl_prod',
      table: 'cloudfront_logs',
      dt: '2024-07-13',
      hour: '05',
    });
    expect(sql).toContain('FROM "cf_etl_prod"."cloudfront_logs"');
    expect(sql).toContain("WHERE dt = '2024-07-13' AND hour = '05'");
    expect(sql).not.toMatch(/\{\{/);
  });

  it('refuses values of the wrong shape (no injection through a placeholder)', () => {
    expect(() =>
      renderSql(template, { database: 'x', table: 't', dt: "2024-07-13' OR '1'='1", hour: '05' }),
    ).toThrow(SqlParameterError);
    expect(() => renderSql('{{nope}}', {})).toThrow(/Unknown SQL placeholder/);
    expect(() => renderSql('{{dt}}', {})).toThrow(/No value/);
  });

  it('maps stage names to valid Glue names', () => {
    expect(glueName('cf-etl_Feature-X')).toBe('cf_etl_feature_x');
  });
});
