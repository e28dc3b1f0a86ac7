import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AggregateRowSchema,
  EMPTY_HOST,
  HOST_MAX_BYTES,
  HOST_MAX_CHARS,
  rowKey,
} from '#shared/core/aggregate-row';
import { camelCase, declareTable, TableDeclarationError } from '#shared/core/table-declaration';
import { resultColumnOf } from '#shared/core/table-values';
import { cloudfrontHourly, cloudfrontHourlyDeclaration } from '#shared/tables/cloudfront-hourly';
import { everyType } from '../support/declared-tables';

const base = { name: 'orders', key: ['id'], columns: [{ name: 'id', type: 'int', min: 0 }] };

describe('table declaration', () => {
  it('fills in fields (camelCase of the column), nullability, versions and the key', () => {
    expect(cloudfrontHourly.columns.map((column) => column.field)).toEqual([
      'hour',
      'host',
      'status',
      'requests',
      'bytesSent',
      'clientErrors',
      'serverErrors',
      'meanTimeTaken',
      'p95TimeTaken',
      'distinctClientIps',
    ]);
    expect(cloudfrontHourly.key.map((column) => column.name)).toEqual(['hour_start', 'host', 'status']);
    expect(cloudfrontHourly.version).toBe(1);
    expect(everyType.columns.find((column) => column.name === 'note')).toMatchObject({
      field: 'note',
      nullable: true,
      since: 1,
      keyIndex: undefined,
    });
    expect(camelCase('p95_time_taken')).toBe('p95TimeTaken');
  });

  it('derives the aggregate row schema, its limits and its staging key from the declaration', () => {
    expect(Object.keys(AggregateRowSchema.parse(aggregateRow()))).toEqual(
      cloudfrontHourly.columns.map((column) => column.field),
    );
    expect(AggregateRowSchema.safeParse({ ...aggregateRow(), status: 1000 }).success).toBe(false);
    expect(AggregateRowSchema.safeParse({ ...aggregateRow(), host: '' }).success).toBe(false);
    expect(AggregateRowSchema.safeParse({ ...aggregateRow(), meanTimeTaken: -1 }).success).toBe(false);
    expect(EMPTY_HOST).toBe('-');
    expect(HOST_MAX_CHARS).toBe(255);
    // DynamoDB's 1,024-byte sort key less `YYYY-MM-DDTHH#` and `#NNN`.
    expect(HOST_MAX_BYTES).toBe(1_024 - 14 - 4);
    expect(rowKey({ hour: '2024-07-13T05', host: 'a.example', status: 7 })).toBe(
      '2024-07-13T05#a.example#007',
    );
    expect(rowKey({ hour: '2024-07-13T05', host: '', status: 200 })).toBe('2024-07-13T05#-#200');
  });

  it("names the aggregate query's result columns as the declared fields in snake_case", () => {
    const sql = readFileSync(join(__dirname, '..', '..', 'sql', 'hourly_aggregate.sql'), 'utf8');
    const aliases = [...sql.matchAll(/\bAS (\w+)\s*,?\s*$/gm)].map((match) => match[1]);
    expect(aliases).toEqual(cloudfrontHourly.columns.map(resultColumnOf));
  });

  it.each([
    [
      'a key column that is not declared',
      { ...base, key: ['nope'] },
      /Table orders: key column nope is not declared/,
    ],
    [
      'a string key column without an empty-string rule',
      { ...base, key: ['code'], columns: [{ name: 'code', type: 'varchar', length: 10 }] },
      /Table orders: column code: a string key column must declare emptyString/,
    ],
    [
      'a nullable key column',
      { ...base, columns: [{ name: 'id', type: 'int', min: 0, nullable: true }] },
      /Table orders: column id is in the key and cannot be nullable/,
    ],
    [
      'an integer key that may be negative',
      { ...base, columns: [{ name: 'id', type: 'int' }] },
      /Table orders: column id: an integer key column needs min >= 0/,
    ],
    [
      'two variable-length key parts',
      {
        ...base,
        key: ['a', 'b'],
        columns: [
          { name: 'a', type: 'varchar', length: 5, emptyString: 'refuse' },
          { name: 'b', type: 'text', emptyString: 'refuse' },
        ],
      },
      /Table orders: at most one key column may be a variable-length string/,
    ],
    [
      'a NOT NULL column added later without a default',
      { ...base, columns: [...base.columns, { name: 'total', type: 'bigint', since: 2 }] },
      /Table orders: column total is added in version 2 and NOT NULL: declare a default/,
    ],
    [
      'emptyString null on a NOT NULL column',
      { ...base, columns: [...base.columns, { name: 'note', type: 'text', emptyString: 'null' }] },
      /Table orders: column note: emptyString "null" needs a nullable column/,
    ],
    [
      'a column declared twice',
      { ...base, columns: [...base.columns, { name: 'id', type: 'int', min: 0 }] },
      /Table orders: column id is declared twice/,
    ],
    [
      'an unknown type',
      { ...base, columns: [{ name: 'id', type: 'uuid' }] },
      /Table orders: columns\.0\.type/,
    ],
    [
      'a DECIMAL whose scale exceeds its precision',
      { ...base, columns: [...base.columns, { name: 'd', type: 'decimal', precision: 4, scale: 6 }] },
      /Table orders: column d: scale 6 is larger than precision 4/,
    ],
  ])('refuses %s, naming the table and the column', (_, declaration, message) => {
    expect(() => declareTable(declaration)).toThrow(TableDeclarationError);
    expect(() => declareTable(declaration)).toThrow(message);
  });

  it('keeps the declaration the row type is derived from equal to the checked one', () => {
    expect(declareTable(cloudfrontHourlyDeclaration)).toEqual(cloudfrontHourly);
  });
});

function aggregateRow() {
  return {
    hour: '2024-07-13T05',
    host: 'a.example',
    status: 200,
    requests: 3,
    bytesSent: 10,
    clientErrors: 0,
    serverErrors: 0,
    meanTimeTaken: null,
    p95TimeTaken: 0.5,
    distinctClientIps: 1,
  };
}
