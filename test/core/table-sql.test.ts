import { addColumnsStatement, createTableDdl, migrationsOf, sqlStringLiteral } from '#shared/core/table-sql';
import { cloudfrontHourly } from '#shared/tables/cloudfront-hourly';
import { loadLedger } from '#shared/tables/writer-tables';
import { cloudfrontHourlyV2, everyType } from '../support/declared-tables';

describe('warehouse SQL derived from a declaration', () => {
  it('creates cloudfront_hourly with the columns, types and key the writer has always used', () => {
    expect(createTableDdl(cloudfrontHourly, 1)).toBe(`CREATE TABLE IF NOT EXISTS \`cloudfront_hourly\` (
  \`hour_start\` DATETIME NOT NULL COMMENT 'UTC start of the hour',
  \`host\` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  \`status\` SMALLINT NOT NULL,
  \`requests\` BIGINT NOT NULL,
  \`bytes_sent\` BIGINT NOT NULL,
  \`client_errors\` BIGINT NOT NULL,
  \`server_errors\` BIGINT NOT NULL,
  \`mean_time_taken\` DOUBLE NULL COMMENT 'seconds',
  \`p95_time_taken\` DOUBLE NULL COMMENT 'seconds',
  \`distinct_client_ips\` BIGINT NOT NULL,
  \`updated_at\` DATETIME(3) NOT NULL COMMENT 'UTC; changes only when a value changes',
  \`loaded_by_run\` VARCHAR(128) NOT NULL COMMENT 'run that last changed the row',
  PRIMARY KEY (\`hour_start\`, \`host\`, \`status\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    expect(createTableDdl(loadLedger, 1, { bookkeeping: false })).toContain(
      "`digest` CHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'SHA-256 of the batch rows: same content, same digest'",
    );
  });

  it('spells every declared type as MySQL does', () => {
    const ddl = createTableDdl(everyType, 1, { physicalName: 'copy_of_every_type', bookkeeping: false });
    for (const definition of [
      '`id` BIGINT UNSIGNED NOT NULL',
      '`small` TINYINT NULL',
      '`price` DECIMAL(12,2) NULL',
      '`born_on` DATE NULL',
      '`created_at` DATETIME NOT NULL',
      '`updated_at_micros` DATETIME(6) NULL',
      '`note` TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
      '`body` MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL',
      '`payload` BLOB NULL',
      'PRIMARY KEY (`id`, `code`)',
    ]) {
      expect(ddl).toContain(definition);
    }
    expect(ddl).toMatch(/^CREATE TABLE IF NOT EXISTS `copy_of_every_type`/);
    expect(ddl).not.toContain('loaded_by_run');
  });

  it('derives the migrations of a column added by version 2: the table at version 1, then the new columns in place', () => {
    const migrations = migrationsOf(cloudfrontHourlyV2, { physicalName: 'hourly' });
    expect(migrations.map(({ version, kind, description }) => ({ version, kind, description }))).toEqual([
      { version: 1, kind: 'create', description: 'create hourly' },
      { version: 2, kind: 'add-columns', description: 'add cached_requests, top_edge to hourly' },
    ]);
    const [create, add] = migrations;
    expect(create?.kind === 'create' && create.statement).toBe(
      createTableDdl(cloudfrontHourly, 1, { physicalName: 'hourly' }),
    );
    if (add?.kind !== 'add-columns') throw new Error('expected an add-columns migration');
    expect(addColumnsStatement('hourly', add.columns)).toBe(
      "ALTER TABLE `hourly` ADD COLUMN `cached_requests` BIGINT NOT NULL DEFAULT 0 COMMENT 'edge cache hits' AFTER `distinct_client_ips`, " +
        'ADD COLUMN `top_edge` VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER `cached_requests`',
    );
    expect(migrationsOf(cloudfrontHourly)).toHaveLength(1);
  });

  it('quotes literals as mysql2 does', () => {
    expect(sqlStringLiteral("o'brien \\ \n \u0000")).toBe("'o\\'brien \\\\ \\n \\0'");
  });
});
