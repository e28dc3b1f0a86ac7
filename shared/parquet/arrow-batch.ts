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
import type { ColumnType, TableDefinition } from '#shared/datasets/table';
import {
  type ColumnBatch,
  ColumnBatchBuilder,
  type ColumnBuilder,
  NumberColumn,
  type StringListColumn,
  Utf8Column,
  type Validity,
} from './column-batch';

/** The Arrow type each table column type is read as (the Parquet writer's types, seen from Arrow). */
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

/** The first `rows` bits as Arrow wants them (null when nothing is null), copied. */
function nullBitmap(validity: Validity, rows: number): Uint8Array | null {
  return validity.nulls === 0 ? null : validity.bits.slice(0, (rows + 7) >> 3);
}

function utf8Data(column: Utf8Column): Data<Utf8> {
  return makeData({
    type: new Utf8(),
    length: column.length,
    nullCount: column.validity.nulls,
    nullBitmap: nullBitmap(column.validity, column.length),
    valueOffsets: column.offsets.slice(0, column.length + 1),
    data: new Uint8Array(column.bytes.subarray(0, column.byteLength)),
  });
}

function numberData(column: NumberColumn): Data {
  const length = column.length;
  const nullCount = column.validity.nulls;
  const bitmap = nullBitmap(column.validity, length);
  switch (column.type) {
    case 'int':
      return makeData({
        type: new Int32(),
        length,
        nullCount,
        nullBitmap: bitmap,
        data: column.values.slice(0, length) as Int32Array,
      });
    case 'double':
      return makeData({
        type: new Float64(),
        length,
        nullCount,
        nullBitmap: bitmap,
        data: column.values.slice(0, length) as Float64Array,
      });
    case 'bigint':
    case 'timestamp': {
      const values = column.values;
      const data = new BigInt64Array(values.buffer.slice(values.byteOffset, values.byteOffset + length * 8));
      const type = column.type === 'bigint' ? new Int64() : new TimestampMillisecond();
      return makeData({ type, length, nullCount, nullBitmap: bitmap, data } as Parameters<
        typeof makeData
      >[0]);
    }
  }
}

function listData(column: StringListColumn): Data {
  return makeData({
    type: arrowType('array<string>') as List<Utf8>,
    length: column.length,
    nullCount: column.validity.nulls,
    nullBitmap: nullBitmap(column.validity, column.length),
    valueOffsets: column.offsets.slice(0, column.length + 1),
    child: utf8Data(column.items),
  });
}

function columnData(column: ColumnBuilder): Data {
  if (column instanceof Utf8Column) return utf8Data(column);
  if (column instanceof NumberColumn) return numberData(column);
  return listData(column);
}

/** Any column batch's rows as an Arrow record batch of `schema` (`arrowSchema` of its table), copied. */
export function recordBatchOf(schema: Schema, batch: ColumnBatch): RecordBatch {
  const struct = makeData({
    type: new Struct(schema.fields),
    length: batch.length,
    nullCount: 0,
    children: batch.columns.map(columnData),
  });
  return new RecordBatch(schema, struct);
}

/**
 * The column batch builder, readable as Arrow record batches: `flush` copies the rows appended so
 * far into a `RecordBatch` (built from the buffers and offsets: apache-arrow's `vectorFromArray`
 * for strings was measured about 3× slower) and starts afresh. The transform no longer needs Arrow
 * (the Parquet writer reads the column buffers); tests and tools read rows through it.
 */
export class RecordBatchBuilder extends ColumnBatchBuilder {
  readonly schema: Schema;

  constructor(table: TableDefinition) {
    super(table);
    this.schema = arrowSchema(table);
  }

  /** A batch of the rows appended so far, copied out of the builder. */
  toRecordBatch(): RecordBatch {
    return recordBatchOf(this.schema, this);
  }

  /** Builds a batch of the rows appended so far and starts afresh. */
  flush(): RecordBatch {
    const batch = this.toRecordBatch();
    this.clear();
    return batch;
  }
}
