import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { columnNamed } from '#shared/core/table-declaration';
import {
  canonicalRow,
  canonicalValue,
  fromItem,
  fromItemValue,
  fromSqlRow,
  fromSqlValue,
  rowKeyOf,
  TableValueError,
  toItem,
  toSqlValue,
} from '#shared/core/table-values';
import { everyType } from '../support/declared-tables';

const column = (name: string) => columnNamed(everyType, name);

/** Values that break naive conversions: fractions, time zones, utf8mb4, empties, bytes, NULLs. */
const ROWS = [
  {
    id: 1,
    code: 'A-1',
    small: -128,
    ratio: 0.1 + 0.2,
    price: '-1234567890.05',
    bornOn: '1000-01-01',
    createdAt: '2024-02-29T23:59:59Z',
    updatedAtMicros: '2024-07-13T05:06:07.000001Z',
    title: '',
    note: 'bücher 😀 \u0000 \\ \'"',
    body: 'x'.repeat(70_000),
    payload: new Uint8Array([0, 255, 10, 13, 0x27, 0x5c]),
  },
  {
    id: Number.MAX_SAFE_INTEGER,
    code: '(empty)',
    small: null,
    ratio: null,
    price: null,
    bornOn: null,
    createdAt: '9999-12-31T23:59:59Z',
    updatedAtMicros: null,
    title: null,
    note: null,
    body: null,
    payload: null,
  },
];

function problem(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof TableValueError) return error.message;
    throw error;
  }
  throw new Error('no TableValueError');
}

describe('declared values through DynamoDB', () => {
  it('round-trips every type exactly: dates and datetimes as ISO strings, DECIMAL as text, BLOB as base64, NULL as absent', () => {
    for (const row of ROWS) expect(fromItem(everyType, toItem(everyType, row))).toEqual(row);
    const item = toItem(everyType, ROWS[0]!);
    expect(item).toMatchObject({
      bornOn: '1000-01-01',
      createdAt: '2024-02-29T23:59:59Z',
      updatedAtMicros: '2024-07-13T05:06:07.000001Z',
      price: '-1234567890.05',
      payload: Buffer.from(ROWS[0]!.payload!).toString('base64'),
      title: '',
    });
    expect(Object.keys(toItem(everyType, ROWS[1]!)).sort()).toEqual(['code', 'createdAt', 'id']);
  });

  it('applies the declared empty-string rules: a marker, kept, NULL', () => {
    const item = toItem(everyType, { ...ROWS[0]!, code: '', title: '', note: '' });
    expect(item.code).toBe('(empty)');
    expect(item.title).toBe('');
    expect(item).not.toHaveProperty('note');
    expect(fromItem(everyType, item).note).toBeNull();
    expect(rowKeyOf(everyType, { id: 7, code: '' })).toBe('0000000000000007#(empty)');
  });

  it('makes values canonical: DECIMAL with the scale, datetime with the precision', () => {
    expect(canonicalValue(everyType, column('price'), '007.5')).toBe('7.50');
    expect(canonicalValue(everyType, column('price'), '-0')).toBe('0.00');
    expect(canonicalValue(everyType, column('updated_at_micros'), '2024-07-13T05:06:07Z')).toBe(
      '2024-07-13T05:06:07.000000Z',
    );
    expect(canonicalValue(everyType, column('created_at'), '2024-07-13T05:06:07.000Z')).toBe(
      '2024-07-13T05:06:07Z',
    );
    const row = { ...ROWS[0]!, price: '1.5' };
    expect(canonicalRow(everyType, row)).toEqual({ ...row, price: '1.50' });
    expect(canonicalRow(everyType, ROWS[0]!)).toBe(ROWS[0]);
  });

  it('reads numbers exactly however the document client hands them over, and refuses what a JS number cannot hold', () => {
    expect(fromItemValue(everyType, column('id'), NumberValue.from('9007199254740991'))).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    expect(fromItemValue(everyType, column('id'), 12n)).toBe(12);
    expect(problem(() => fromItemValue(everyType, column('id'), NumberValue.from('9007199254740993')))).toBe(
      'Table every_type, column id: integer beyond 2^53 - 1 cannot be held exactly in a JS number',
    );
  });

  it.each([
    [
      'a datetime finer than its column',
      'created_at',
      '2024-07-13T05:06:07.5Z',
      /more than the column's 0 fraction digits/,
    ],
    ['an impossible date', 'born_on', '2023-02-29', /2023-02-29 is not a date/],
    [
      'a datetime with an offset instead of UTC',
      'created_at',
      '2024-07-13T05:06:07+02:00',
      /is not a datetime/,
    ],
    ['a DECIMAL too wide', 'price', '12345678901.00', /is not a DECIMAL\(12,2\)/],
    ['a DECIMAL too fine', 'price', '1.005', /is not a DECIMAL\(12,2\)/],
    ['a string longer than its VARCHAR', 'title', 'é'.repeat(21), /longer than 20 characters/],
    ['a lone surrogate', 'title', 'a\ud800', /lone UTF-16 surrogate/],
    ['NULL in a NOT NULL column', 'created_at', null, /is NULL, and the column is NOT NULL/],
    ['an integer outside its type', 'small', 128, /128 is not an integer from -128 to 127/],
    ['text where bytes go', 'payload', 'abc', /is not bytes/],
  ])('refuses %s, naming the table and the column', (_, name, value, message) => {
    const text = problem(() => toItem(everyType, { ...ROWS[0]!, [column(name).field]: value }));
    expect(text).toMatch(new RegExp(`^Table every_type, column ${name}: `));
    expect(text).toMatch(message);
  });

  it('refuses a staged attribute that is not in its canonical form or not base64', () => {
    expect(problem(() => fromItemValue(everyType, column('price'), '1.5'))).toMatch(
      /not in its canonical form/,
    );
    expect(problem(() => fromItemValue(everyType, column('payload'), 'not base64!'))).toMatch(
      /is not base64/,
    );
    expect(problem(() => fromItemValue(everyType, column('id'), 'seven'))).toMatch(/expected an integer/);
  });
});

describe('declared values through MySQL', () => {
  it('gives mysql2 text for dates, datetimes and decimals, and bytes for BLOBs', () => {
    expect(toSqlValue(everyType, column('updated_at_micros'), '2024-07-13T05:06:07.000001Z')).toBe(
      '2024-07-13 05:06:07.000001',
    );
    expect(toSqlValue(everyType, column('created_at'), '2024-07-13T05:06:07Z')).toBe('2024-07-13 05:06:07');
    expect(toSqlValue(everyType, column('payload'), new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(toSqlValue(everyType, column('note'), '')).toBeNull();
  });

  it('reads back what mysql2 returns (dateStrings, bigNumberStrings) as the row', () => {
    const record = {
      id: '9007199254740991',
      code: 'A-1',
      small: 3,
      ratio: 0.5,
      price: '12.30',
      born_on: '2024-02-29',
      created_at: '2024-07-13 05:06:07',
      updated_at_micros: '2024-07-13 05:06:07.120000',
      title: 'bücher',
      note: null,
      body: 'b',
      payload: Buffer.from([7]),
    };
    expect(fromSqlRow(everyType, record)).toEqual({
      id: Number.MAX_SAFE_INTEGER,
      code: 'A-1',
      small: 3,
      ratio: 0.5,
      price: '12.30',
      bornOn: '2024-02-29',
      createdAt: '2024-07-13T05:06:07Z',
      updatedAtMicros: '2024-07-13T05:06:07.120000Z',
      title: 'bücher',
      note: null,
      body: 'b',
      payload: Buffer.from([7]),
    });
  });

  it("refuses MySQL's zero dates and integers beyond 2^53 - 1, naming the column", () => {
    expect(problem(() => fromSqlValue(everyType, column('created_at'), '0000-00-00 00:00:00'))).toBe(
      "Table every_type, column created_at: MySQL's zero date 0000-00-00 00:00:00 cannot be carried",
    );
    expect(problem(() => fromSqlValue(everyType, column('id'), '18446744073709551615'))).toMatch(
      /^Table every_type, column id: 18446744073709551615 is not an integer a JS number holds exactly/,
    );
  });
});
