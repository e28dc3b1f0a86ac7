import { cloudfront } from '#shared/datasets/cloudfront/index';
import { arrowSchema, RecordBatchBuilder, recordBatchOf } from '#shared/parquet/arrow-batch';
import { SpilledBatchReader, spillBuffers, spillSize } from '#shared/parquet/column-spill';

const table = cloudfront.table;
const schema = arrowSchema(table);

/** Rows with every column type, nulls, empty and multi-byte strings, lists of 0–3 items. */
function rowsOf(count: number, salt: string): RecordBatchBuilder {
  const builder = new RecordBatchBuilder(table);
  for (let row = 0; row < count; row++) {
    builder.append(
      table.columns.map((column, index) => {
        if ((row + index) % 7 === 0) return null;
        switch (column.type) {
          case 'string':
            return row % 5 === 0 ? '' : `${salt}-${column.name}-${row}-é€`;
          case 'array<string>':
            return Array.from({ length: row % 4 }, (_, item) => `10.${salt.length}.${row}.${item}`);
          case 'double':
            return row / 3;
          case 'int':
            return row - 50;
          default:
            return row * 4_294_967_311 - 2 ** 40;
        }
      }),
    );
  }
  return builder;
}

/** What `SpillFile.read` gives: the piece's bytes in an aligned buffer of its own. */
function aligned(buffers: Buffer[]): Buffer {
  const bytes = Buffer.allocUnsafeSlow(spillSize(buffers) + 64);
  Buffer.concat(buffers).copy(bytes);
  return bytes.subarray(0, spillSize(buffers));
}

const rowsAsJson = (batch: Parameters<typeof recordBatchOf>[1]) =>
  JSON.stringify(
    recordBatchOf(schema, batch)
      .toArray()
      .map((row) => row.toJSON()),
    (_, value) => (typeof value === 'bigint' ? String(value) : value),
  );

describe('spilled column batches', () => {
  it('read back the rows spilled, every type and null, and one reader serves batches of any size in turn', () => {
    const reader = new SpilledBatchReader(table);
    for (const [count, salt] of [
      [300, 'first'],
      [1, 'one'],
      [1_000, 'third-and-longer'],
      [0, 'none'],
    ] as const) {
      const builder = rowsOf(count, salt);
      const read = reader.read(count, aligned(spillBuffers(builder)));
      expect(read.length).toBe(count);
      expect(rowsAsJson(read)).toBe(rowsAsJson(builder));
    }
  });

  it('refuse bytes that are not an aligned buffer, or shorter or longer than their layout', () => {
    const reader = new SpilledBatchReader(table);
    const bytes = aligned(spillBuffers(rowsOf(10, 'x')));
    const unaligned = Buffer.allocUnsafeSlow(bytes.length + 8);
    bytes.copy(unaligned, 4);
    expect(() => reader.read(10, unaligned.subarray(4, 4 + bytes.length))).toThrow(/aligned/);
    expect(() => reader.read(10, bytes.subarray(0, bytes.length - 8))).toThrow(/shorter/);
    expect(() => reader.read(10, bytes.subarray(0, 16))).toThrow(/shorter/);
    const longer = Buffer.allocUnsafeSlow(bytes.length + 8);
    bytes.copy(longer);
    expect(() => reader.read(10, longer)).toThrow(/layout/);
  });
});
