import {
  type Data,
  type DataType,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
} from 'apache-arrow';
import type { CellValue, ColumnType, TableDefinition } from '#shared/datasets/table';

/** The Arrow type each table column type is written as (and so its Parquet physical type). */
export function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'string':
      return new Utf8();
    case 'int':
      return new Int32();
    case 'bigint':
      return new Int64();
    case 'double':
      return new Float64();
    case 'timestamp':
      // No time zone: Parquet TIMESTAMP(MILLIS, isAdjustedToUTC=false), read by Athena and DuckDB as a
      // plain TIMESTAMP. Values are UTC by construction (CloudFront logs in UTC).
      return new TimestampMillisecond();
    case 'array<string>':
      return new List(new Field('element', new Utf8(), true));
  }
}

export function arrowSchema(table: TableDefinition): Schema {
  return new Schema(table.columns.map((column) => new Field(column.name, arrowType(column.type), true)));
}

/**
 * Accumulates rows column by column and builds Arrow record batches straight from buffers and
 * offsets (apache-arrow's `vectorFromArray` for strings was measured about 3× slower).
 */
export class RecordBatchBuilder {
  private columns: CellValue[][];
  private count = 0;
  readonly schema: Schema;

  constructor(private readonly table: TableDefinition) {
    this.schema = arrowSchema(table);
    this.columns = table.columns.map(() => []);
  }

  get length(): number {
    return this.count;
  }

  append(values: readonly CellValue[]): void {
    for (let index = 0; index < this.columns.length; index++)
      this.columns[index]!.push(values[index] ?? null);
    this.count++;
  }

  /** Builds a batch of the rows appended so far and starts afresh. */
  flush(): RecordBatch {
    const length = this.count;
    const children = this.table.columns.map((column, index) =>
      buildColumn(column.type, this.columns[index]!, length),
    );
    this.columns = this.table.columns.map(() => []);
    this.count = 0;
    const struct = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    return new RecordBatch(this.schema, struct);
  }
}

function validity(values: readonly CellValue[]): { bitmap: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let index = 0; index < values.length; index++) {
    if (values[index] === null) nullCount++;
    else bitmap[index >> 3]! |= 1 << (index & 7);
  }
  return { bitmap, nullCount };
}

function buildColumn(type: ColumnType, values: readonly CellValue[], length: number): Data {
  const { bitmap, nullCount } = validity(values);
  switch (type) {
    case 'string':
      return buildUtf8(values as readonly (string | null)[], bitmap, nullCount);
    case 'int': {
      const data = new Int32Array(length);
      for (let index = 0; index < length; index++) data[index] = (values[index] as number | null) ?? 0;
      return makeData({ type: new Int32(), length, nullCount, nullBitmap: bitmap, data });
    }
    case 'double': {
      const data = new Float64Array(length);
      for (let index = 0; index < length; index++) data[index] = (values[index] as number | null) ?? 0;
      return makeData({ type: new Float64(), length, nullCount, nullBitmap: bitmap, data });
    }
    case 'bigint':
    case 'timestamp': {
      const data = new BigInt64Array(length);
      for (let index = 0; index < length; index++) {
        const value = values[index] as number | null;
        data[index] = value === null ? 0n : BigInt(value);
      }
      const arrow = type === 'bigint' ? new Int64() : new TimestampMillisecond();
      return makeData({ type: arrow, length, nullCount, nullBitmap: bitmap, data } as Parameters<
        typeof makeData
      >[0]);
    }
    case 'array<string>': {
      const offsets = new Int32Array(length + 1);
      const flat: string[] = [];
      for (let index = 0; index < length; index++) {
        const list = values[index] as string[] | null;
        if (list !== null) flat.push(...list);
        offsets[index + 1] = flat.length;
      }
      const child = buildUtf8(flat, new Uint8Array(0), 0);
      const listType = arrowType('array<string>') as List<Utf8>;
      return makeData({
        type: listType,
        length,
        nullCount,
        nullBitmap: bitmap,
        valueOffsets: offsets,
        child,
      });
    }
  }
}

function buildUtf8(values: readonly (string | null)[], bitmap: Uint8Array, nullCount: number): Data<Utf8> {
  const length = values.length;
  const offsets = new Int32Array(length + 1);
  let total = 0;
  for (let index = 0; index < length; index++) {
    const value = values[index];
    if (value) total += Buffer.byteLength(value, 'utf8');
    offsets[index + 1] = total;
  }
  const bytes = Buffer.allocUnsafe(total);
  for (let index = 0; index < length; index++) {
    const value = values[index];
    if (value) bytes.write(value, offsets[index]!, 'utf8');
  }
  return makeData({
    type: new Utf8(),
    length,
    nullCount,
    nullBitmap: nullCount > 0 ? bitmap : null,
    valueOffsets: offsets,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, total),
  });
}
