import type { CellValue, ColumnType, RowSink, TableDefinition } from '#shared/datasets/table';

/**
 * Rows a new column has room for before it grows (doubling). Small, because a file spanning many
 * hours holds one builder per hour: the rows, not the empty room, should be what fills memory
 * (a builder of the CloudFront table starts at about 12 KB of buffers).
 */
const INITIAL_ROWS = 16;
const INITIAL_STRING_BYTES = 256;
/** The JavaScript objects of one column (measured: 22 KB for the CloudFront table's 33 columns). */
const COLUMN_OBJECT_BYTES = 720;
const TWO_32 = 4_294_967_296;

/** A validity bitmap that grows with its column; bits start cleared (null). */
export class Validity {
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

  reset(rows: number): void {
    this.bits.fill(0, 0, (rows + 7) >> 3);
    this.nulls = 0;
  }
}

/**
 * UTF-8 strings as one byte buffer and an offset per row (row `i` is `bytes[offsets[i],
 * offsets[i + 1])`). Bytes are appended straight from the raw file's buffer (no JavaScript string
 * per value).
 */
export class Utf8Column {
  length = 0;
  offsets = new Int32Array(INITIAL_ROWS + 1);
  bytes: Buffer = Buffer.allocUnsafeSlow(INITIAL_STRING_BYTES);
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

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
    this.byteLength = 0;
  }

  /** Bytes its buffers take, used or not. */
  get capacityBytes(): number {
    return this.offsets.byteLength + this.bytes.length + this.validity.bits.length;
  }
}

/**
 * int, double, bigint and timestamp columns: numbers in a typed array. 64-bit integers are kept as
 * two int32 halves, low first (little-endian int64, so the buffer's bytes are Parquet's PLAIN
 * INT64 as they are), without a BigInt per value. A null leaves 0 in its slot.
 */
export class NumberColumn {
  length = 0;
  /** `int`: one int32 per row; `double`: one float64; `bigint`/`timestamp`: two int32 halves. */
  values: Int32Array | Float64Array;
  readonly validity = new Validity();

  constructor(readonly type: 'int' | 'double' | 'bigint' | 'timestamp') {
    this.values = this.allocate(INITIAL_ROWS);
  }

  /** Bytes per row in `values`. */
  get width(): number {
    return this.type === 'int' ? 4 : 8;
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

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
  }

  /** Bytes its buffers take, used or not. */
  get capacityBytes(): number {
    return this.values.byteLength + this.validity.bits.length;
  }
}

/** `array<string>`: a list offset per row over one child string column (`items`). */
export class StringListColumn {
  length = 0;
  /** Row `i`'s items are `items[offsets[i], offsets[i + 1])`. */
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

  reset(): void {
    this.validity.reset(this.length);
    this.length = 0;
    this.items.reset();
  }

  /** Bytes its buffers take, used or not. */
  get capacityBytes(): number {
    return this.offsets.byteLength + this.validity.bits.length + this.items.capacityBytes;
  }
}

export type ColumnBuilder = Utf8Column | NumberColumn | StringListColumn;

/** Rows held column by column: what the Parquet writer encodes (`ParquetStreamWriter.write`). */
export interface ColumnBatch {
  /** Rows in every column. */
  readonly length: number;
  /** One per table column, in the table's order. */
  readonly columns: readonly ColumnBuilder[];
}

/** An empty column of the table type `type`. */
export function columnFor(type: ColumnType): ColumnBuilder {
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
 * 64-bit integers as int32 halves), without per-value objects: an array of JavaScript values per
 * row was most of the transform's time (docs/transform.md). The Parquet writer encodes the buffers
 * as they are; `clear` then keeps them for the next rows, so a builder's memory is that of its
 * largest batch.
 *
 * Two ways in: `append(values)` for a parsed row (any reader's `LineResult`), or the typed
 * `columns` directly (the CloudFront parser's byte path), ending each row with `endRow()`.
 */
export class ColumnBatchBuilder implements RowSink, ColumnBatch {
  readonly columns: ColumnBuilder[];
  readonly strings: (Utf8Column | undefined)[];
  readonly numbers: (NumberColumn | undefined)[];
  readonly lists: (StringListColumn | undefined)[];
  protected count = 0;

  constructor(readonly table: TableDefinition) {
    this.columns = table.columns.map((column) => columnFor(column.type));
    this.strings = this.columns.map((column) => (column instanceof Utf8Column ? column : undefined));
    this.numbers = this.columns.map((column) => (column instanceof NumberColumn ? column : undefined));
    this.lists = this.columns.map((column) => (column instanceof StringListColumn ? column : undefined));
  }

  get length(): number {
    return this.count;
  }

  /** Bytes the rows appended so far take in the buffers (values, string bytes, offsets, validity). */
  get byteSize(): number {
    const rows = this.count;
    const bits = (rows + 7) >> 3;
    let size = 0;
    for (const column of this.columns) {
      if (column instanceof Utf8Column) size += column.byteLength + 4 * rows + bits;
      else if (column instanceof NumberColumn) size += column.width * rows + bits;
      else size += 4 * rows + bits + column.items.byteLength + 5 * column.items.length;
    }
    return size;
  }

  /** Bytes the builder's buffers take, used or not. */
  get capacityBytes(): number {
    let size = 0;
    for (const column of this.columns) size += column.capacityBytes;
    return size;
  }

  /**
   * What the builder costs in memory: its buffers and the JavaScript objects of its columns
   * (typed arrays, their array buffers, validity), which an empty builder of many columns pays too.
   */
  get footprintBytes(): number {
    return this.capacityBytes + this.columns.length * COLUMN_OBJECT_BYTES;
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

  /** Forgets the rows appended so far, keeping the buffers. */
  clear(): void {
    for (const column of this.columns) column.reset();
    this.count = 0;
  }
}
