import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '#shared/core/errors';
import { parseSyncConfig, syncTableNamed, targetReadOf } from '#shared/core/sync-config';
import {
  CURSOR_KEY,
  CURSOR_WATERMARK,
  cursorOf,
  rowFromSource,
  SyncSourceRowError,
} from '#shared/core/sync-rows';
import { TableValueError } from '#shared/core/table-values';

const table = (target: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  tables: [{ source: 'people', watermark: 'updated_at', target, ...extra }],
});

const BORN_REQUIRED = { name: 'born', type: 'date' };

const PEOPLE = {
  name: 'people_copy',
  key: ['id'],
  columns: [
    { name: 'id', type: 'int', unsigned: true },
    { name: 'full_name', source: 'name', type: 'varchar', length: 10, nullable: true },
    { name: 'age', type: 'varchar', length: 3 },
    { name: 'born', type: 'date', nullable: true },
  ],
};

describe('db-sync config', () => {
  it('parses the repository config (config/db-sync.json)', () => {
    const config = JSON.parse(readFileSync(join(__dirname, '..', '..', 'config', 'db-sync.json'), 'utf8'));
    const tables = parseSyncConfig(config);
    expect(tables.map((t) => [t.name, t.sourceTable, t.watermark, t.key.column.name])).toEqual([
      ['customers', 'customers', 'updated_at', 'id'],
      ['countries', 'countries', 'changed_at', 'code'],
    ]);
    expect(
      syncTableNamed(tables, 'customers').columns.find((c) => c.column.name === 'display_name')?.source,
    ).toBe('full_name');
  });

  it('renames, drops and casts: a source record becomes the target row by the declaration', () => {
    const [people] = parseSyncConfig(table(PEOPLE));
    const row = rowFromSource(people!, { id: 7, name: 'Zoë', age: 42, born: '2001-02-03', dropped: 'x' });
    expect(row).toEqual({ id: 7, fullName: 'Zoë', age: '42', born: '2001-02-03' });
    expect(targetReadOf(people!).columns.map((column) => column.source)).toEqual([
      'id',
      'full_name',
      'age',
      'born',
    ]);
  });

  it('names the table and the column of a value it cannot carry', () => {
    const [people] = parseSyncConfig(table(PEOPLE));
    expect(() => rowFromSource(people!, { id: 1, name: 'far too long a name', age: 1, born: null })).toThrow(
      TableValueError,
    );
    expect(() => rowFromSource(people!, { id: 1, name: null, age: 1, born: '0000-00-00' })).toThrow(
      "Table people_copy, column born: MySQL's zero date 0000-00-00 cannot be carried",
    );
  });

  it('refuses a NULL watermark, naming the source table and column', () => {
    const [people] = parseSyncConfig(table(PEOPLE));
    expect(cursorOf(people!, { [CURSOR_WATERMARK]: '2024-01-01 00:00:00', [CURSOR_KEY]: '5' })).toEqual({
      watermark: '2024-01-01 00:00:00',
      key: '5',
    });
    expect(() => cursorOf(people!, { [CURSOR_WATERMARK]: null, [CURSOR_KEY]: 5 })).toThrow(
      SyncSourceRowError,
    );
    expect(() => cursorOf(people!, { [CURSOR_WATERMARK]: null, [CURSOR_KEY]: 5 })).toThrow(
      /Table people, column updated_at: NULL in the watermark column/,
    );
  });

  it.each([
    [
      'a key of two columns',
      { ...PEOPLE, key: ['id', 'born'], columns: [...PEOPLE.columns.slice(0, 3), BORN_REQUIRED] },
      /the key must be one column/,
    ],
    [
      'a source column read twice',
      { ...PEOPLE, columns: [...PEOPLE.columns, { name: 'again', source: 'name', type: 'text' }] },
      /source column name is read by two columns/,
    ],
    [
      'a key that is a date',
      { ...PEOPLE, key: ['born'], columns: [...PEOPLE.columns.slice(0, 3), BORN_REQUIRED] },
      /key column born must be an integer or a string/,
    ],
  ])('refuses %s, naming the table', (_, target, message) => {
    expect(() => parseSyncConfig(table(target))).toThrow(message);
  });

  it('refuses two tables copied into one target, and unknown settings', () => {
    const one = table(PEOPLE).tables[0]!;
    expect(() => parseSyncConfig({ tables: [one, one] })).toThrow('two tables are copied into people_copy');
    expect(() => parseSyncConfig(table(PEOPLE, { schedule: 'daily' }))).toThrow(ConfigError);
  });
});
