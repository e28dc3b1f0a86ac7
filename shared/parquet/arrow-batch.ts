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
import type { CellValue, ColumnType, RowSink, TableDefinition } from '#shared/datasets/table';

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

const INITIAL_ROWS = 1024;
const TWO_32 = 4_294_967_296;

/** A validity bitmap that grows with its column; bits start cleared (null). */
class Validity {
  bits = new Uint8Array(INITIAL_ROWS >> 3);
  nulls = 0;

  grow(rows: number): void {
    if (rows <= this.bits.length << 3) return;
    const next = new Uint8Array(Math.max(this.bits.length * 2, (rows + 7) >> 3));
    next.set(this.bits);
    this.bits = next;
  }

  set(row: number): void {
    this.bits[row >> 3]! |= 1 << (row & 7);
  }

  /** The first `rows` bits as Arrow wants them (null when nothing is null), copied. */
  take(rows: number): Uint8Array | null {
    return this.nulls === 0 ? null : this.bits.slice(0, (rows + 7) >> 3);
  }

  reset(rows: number): void {
    this.bits.fill(0, 0, (rows + 7) >> 3);
    this.nulls = 0;
  }
}

/**
 * UTF-8 strings as Arrow keeps them: one byte buffer and an offset per row. Bytes are appended
 * straight from the raw file's buffer (no JavaScript string per value).
 */
export class Utf8Column {
  length = 0;
  offsets = new Int32Array(INITIAL_ROWS + 1);
  bytes: Buffer = Buffer.allocUnsafeSlow(64 * 1024);
  byteLength = 0;
  readonly validity = new Validity();

  private room(extraBytes: number): void {
    if (this.length + 2 > this.offsets.length) {
      const next = new Int32Array(this.offsets.length * 2);
      next.set(this.offsets);
      this.offsets = next;
      this.validity.grow(next.length);
    }
    if (this.byteLength + extraBytes > this.bytes.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.byteLength + extraBytes));
      this.bytes.copy(next, 0, 0, this.byteLength);
      this.bytes = next;
    }
  }

  /** Appends `source[start, end)`, which must be valid UTF-8. */
  appendBytes(source: Uint8Array, start: number, end: number): void {
    const size = end - start;
    this.room(size);
    const bytes = this.bytes;
    let at = this.byteLength;
    // Most fields are short: a loop beats the native copy's call overhead below ~32 bytes.
    if (size < 32) for (let index = start; index < end; index++) bytes[at++] = source[index]!;
    else {
      bytes.set(source.subarray(start, end), at);
      at += size;
    }
    this.byteLength = at;
    this.validity.set(this.length);
    this.offsets[++this.length] = at;
  }

  appendString(value: string): void {
    this.room(value.length * 3);
    this.byteLength += this.bytes.write(value, this.byteLength, 'utf8');
    this.validity.set(this.length);
    this.offsets[++this.length] = this.byteLength;
  }

  appendNull(): void {
    this.room(0);
    this.validity.nulls++;
    this.offsets[++this.length] = this.byteLength;
  }

  toData(): Data<Utf8> {
    return makeData({
      type: new Utf8(),
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.take(this.length),
      valueOffsets: this.offsets.slice(0, this.length + 1),
      data: new Uint8Array(this.bytes.subarray(0, this.byteLength)),
    });
  }

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
    this.byteLength = 0;
  }
}

/** int, double, bigint and timestamp columns: numbers in a typed array, 64-bit ones as two halves. */
export class NumberColumn {
  length = 0;
  private values: Int32Array | Float64Array;
  readonly validity = new Validity();

  constructor(readonly type: 'int' | 'double' | 'bigint' | 'timestamp') {
    this.values = this.allocate(INITIAL_ROWS);
  }

  private allocate(rows: number): Int32Array | Float64Array {
    return this.type === 'double'
      ? new Float64Array(rows)
      : new Int32Array(this.type === 'int' ? rows : rows * 2);
  }

  private room(): void {
    const rows =
      this.type === 'bigint' || this.type === 'timestamp' ? this.values.length >> 1 : this.values.length;
    if (this.length < rows) return;
    const next = this.allocate(rows * 2);
    next.set(this.values as never);
    this.values = next;
    this.validity.grow(rows * 2);
  }

  /** Appends an integer (safe integer for 64-bit columns, int32 for `int`) or a double. */
  appendNumber(value: number): void {
    this.room();
    const row = this.length++;
    if (this.type === 'int' || this.type === 'double') this.values[row] = value;
    else {
      // Little-endian int64 as two int32 halves: no BigInt per value (a BigInt is an allocation).
      const high = Math.floor(value / TWO_32);
      this.values[row * 2] = value - high * TWO_32;
      this.values[row * 2 + 1] = high;
    }
    this.validity.set(row);
  }

  appendNull(): void {
    this.room();
    const row = this.length++;
    if (this.type === 'bigint' || this.type === 'timestamp') {
      this.values[row * 2] = 0;
      this.values[row * 2 + 1] = 0;
    } else this.values[row] = 0;
    this.validity.nulls++;
  }

  toData(): Data {
    const length = this.length;
    const nullCount = this.validity.nulls;
    const nullBitmap = this.validity.take(length);
    switch (this.type) {
      case 'int':
        return makeData({
          type: new Int32(),
          length,
          nullCount,
          nullBitmap,
          data: this.values.slice(0, length),
        });
      case 'double':
        return makeData({
          type: new Float64(),
          length,
          nullCount,
          nullBitmap,
          data: this.values.slice(0, length),
        });
      case 'bigint':
      case 'timestamp': {
        const data = new BigInt64Array(this.values.buffer.slice(0, length * 8));
        const type = this.type === 'bigint' ? new Int64() : new TimestampMillisecond();
        return makeData({ type, length, nullCount, nullBitmap, data } as Parameters<typeof makeData>[0]);
      }
    }
  }

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
  }
}

/** `array<string>`: a list offset per row over one child string column. */
export class StringListColumn {
  length = 0;
  offsets = new Int32Array(INITIAL_ROWS + 1);
  readonly items = new Utf8Column();
  readonly validity = new Validity();

  private room(): void {
    if (this.length + 2 <= this.offsets.length) return;
    const next = new Int32Array(this.offsets.length * 2);
    next.set(this.offsets);
    this.offsets = next;
    this.validity.grow(next.length);
  }

  /** Closes the current row's list after its items were appended to `items`. */
  endList(): void {
    this.room();
    this.validity.set(this.length);
    this.offsets[++this.length] = this.items.length;
  }

  appendList(values: readonly string[]): void {
    for (const value of values) this.items.appendString(value);
    this.endList();
  }

  appendNull(): void {
    this.room();
    this.validity.nulls++;
    this.offsets[++this.length] = this.items.length;
  }

  toData(): Data {
    return makeData({
      type: arrowType('array<string>') as List<Utf8>,
      length: this.length,
      nullCount: this.validity.nulls,
      nullBitmap: this.validity.take(this.length),
      valueOffsets: this.offsets.slice(0, this.length + 1),
      child: this.items.toData(),
    });
  }

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
    this.items.reset();
  }
}

export type ColumnBuilder = Utf8Column | NumberColumn | StringListColumn;

function columnFor(type: ColumnType): ColumnBuilder {
  switch (type) {
    case 'string':
      return new Utf8Column();
    case 'array<string>':
      return new StringListColumn();
    default:
      return new NumberColumn(type);
  }
}

/**
 * Accumulates rows column by column in growable typed buffers (strings as UTF-8 bytes and offsets,
 * 64-bit integers as int32 halves) and turns them into an Arrow record batch without per-value
 * objects: apache-arrow's `vectorFromArray` for strings was measured about 3× slower, and an array
 * of JavaScript values per row was most of the transform's time (docs/transform.md). Buffers are
 * reused after `flush`, so a builder's memory is that of its largest batch.
 *
 * Two ways in: `append(values)` for a parsed row (any reader's `LineResult`), or the typed
 * `columns` directly (the CloudFront parser's byte path), ending each row with `endRow()`.
 */
export class RecordBatchBuilder implements RowSink {
  readonly columns: ColumnBuilder[];
  readonly strings: (Utf8Column | undefined)[];
  readonly numbers: (NumberColumn | undefined)[];
  readonly lists: (StringListColumn | undefined)[];
  readonly schema: Schema;
  private count = 0;

  constructor(table: TableDefinition) {
    this.schema = arrowSchema(table);
    this.columns = table.columns.map((column) => columnFor(column.type));
    this.strings = this.columns.map((column) => (column instanceof Utf8Column ? column : undefined));
    this.numbers = this.columns.map((column) => (column instanceof NumberColumn ? column : undefined));
    this.lists = this.columns.map((column) => (column instanceof StringListColumn ? column : undefined));
  }

  get length(): number {
    return this.count;
  }

  /** Bytes held by the rows appended so far (string bytes and 8 per value): the flush trigger. */
  get byteSize(): number {
    let size = this.count * this.columns.length * 8;
    for (const column of this.columns) {
      if (column instanceof Utf8Column) size += column.byteLength;
      else if (column instanceof StringListColumn) size += column.items.byteLength;
    }
    return size;
  }

  append(values: readonly CellValue[]): void {
    for (let index = 0; index < this.columns.length; index++) {
      const column = this.columns[index]!;
      const value = values[index] ?? null;
      if (value === null) column.appendNull();
      else if (column instanceof Utf8Column) column.appendString(String(value));
      else if (column instanceof NumberColumn) column.appendNumber(value as number);
      else column.appendList(value as string[]);
    }
    this.count++;
  }

  /** Ends a row written column by column (every column must have had exactly one append). */
  endRow(): void {
    this.count++;
  }

  /** Builds a batch of the rows appended so far (copying out of the builder) and starts afresh. */
  flush(): RecordBatch {
    const length = this.count;
    const children = this.columns.map((column) => column.toData());
    for (const column of this.columns) column.reset();
    this.count = 0;
    const struct = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    return new RecordBatch(this.schema, struct);
  }

  /** Forgets the rows appended so far. */
  clear(): void {
    for (const column of this.columns) column.reset();
    this.count = 0;
  }
}
