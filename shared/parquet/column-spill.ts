import type { TableDefinition } from '#shared/datasets/table';
import {
  type ColumnBatch,
  type ColumnBuilder,
  columnFor,
  NumberColumn,
  StringListColumn,
  Utf8Column,
  type Validity,
} from './column-batch';

/**
 * Rows of a column batch as bytes and back, for the transform's spill file: the builder's buffers
 * are written as they are (no encoding, no copy on the way out) and read back as views of one
 * buffer (no copy on the way in), so spilling costs the disk's speed, not the CPU's.
 *
 * Layout: a header of four int32 per column (nulls, then per type: string bytes; list items,
 * item nulls, item bytes), then per column its offsets, validity bits and values or bytes, each
 * section padded to 8 bytes so typed-array views of the read buffer are aligned.
 */
const HEADER_INTS = 4;
const ZEROS = Buffer.alloc(8);

/** The buffers that hold `batch`'s rows, in spill layout; their total length is `spillSize`. */
export function spillBuffers(batch: ColumnBatch): Buffer[] {
  const rows = batch.length;
  const header = new Int32Array(batch.columns.length * HEADER_INTS);
  const out: Buffer[] = [Buffer.from(header.buffer)];
  const section = (view: ArrayBufferView, bytes: number) => {
    out.push(Buffer.from(view.buffer, view.byteOffset, bytes));
    if (bytes % 8 !== 0) out.push(ZEROS.subarray(0, 8 - (bytes % 8)));
  };
  const strings = (column: Utf8Column, count: number) => {
    section(column.offsets, (count + 1) * 4);
    section(column.validity.bits, bitBytes(count));
    section(column.bytes, column.offsets[count]!);
  };
  batch.columns.forEach((column, index) => {
    const at = index * HEADER_INTS;
    header[at] = column.validity.nulls;
    if (column instanceof Utf8Column) {
      header[at + 1] = column.offsets[rows]!;
      strings(column, rows);
    } else if (column instanceof NumberColumn) {
      section(column.validity.bits, bitBytes(rows));
      section(column.values, rows * column.width);
    } else {
      const items = column.offsets[rows]!;
      header[at + 1] = items;
      header[at + 2] = column.items.validity.nulls;
      header[at + 3] = column.items.offsets[items]!;
      section(column.offsets, (rows + 1) * 4);
      section(column.validity.bits, bitBytes(rows));
      strings(column.items, items);
    }
  });
  return out;
}

/**
 * Reads batches back from what `spillBuffers` wrote. The columns it returns are views of the bytes
 * read (no copy), and the same column objects serve every batch it reads (a spilled hour is read
 * back a piece at a time, and making 33 columns with their initial buffers per piece cost more
 * than the views): each batch must be consumed, as the Parquet writer's `append` does, before the
 * next is read.
 */
export class SpilledBatchReader {
  private readonly columns: ColumnBuilder[];

  constructor(table: TableDefinition) {
    this.columns = table.columns.map((definition) => columnFor(definition.type));
  }

  /**
   * The batch of `rows` rows in `bytes`, which must be 8-byte aligned (a buffer of its own, as
   * `Buffer.allocUnsafeSlow` gives): good for the Parquet writer to read, not for appending to.
   */
  read(rows: number, bytes: Buffer): ColumnBatch {
    const memory = bytes.buffer;
    if (!(memory instanceof ArrayBuffer) || bytes.byteOffset % 8 !== 0) {
      throw new Error('a spilled batch must be read into an aligned buffer of its own');
    }
    const count = this.columns.length;
    if (bytes.length < count * HEADER_INTS * 4) throw new Error('spilled batch is shorter than its header');
    const header = new Int32Array(memory, bytes.byteOffset, count * HEADER_INTS);
    let at = align(count * HEADER_INTS * 4);
    const take = (length: number) => {
      const start = at;
      at += align(length);
      if (at > bytes.length) throw new Error('spilled batch is shorter than its header says');
      return start;
    };
    const ints = (length: number) => new Int32Array(memory, bytes.byteOffset + take(length * 4), length);
    const bits = (validity: Validity, length: number, nulls: number) => {
      const start = take(bitBytes(length));
      validity.bits = new Uint8Array(memory, bytes.byteOffset + start, bitBytes(length));
      validity.nulls = nulls;
    };
    const strings = (column: Utf8Column, length: number, nulls: number, byteLength: number) => {
      column.offsets = ints(length + 1);
      bits(column.validity, length, nulls);
      const start = take(byteLength);
      column.bytes = bytes.subarray(start, start + byteLength);
      column.byteLength = byteLength;
      column.length = length;
    };

    this.columns.forEach((column, index) => {
      const meta = index * HEADER_INTS;
      const nulls = header[meta]!;
      if (column instanceof Utf8Column) strings(column, rows, nulls, header[meta + 1]!);
      else if (column instanceof StringListColumn) {
        column.offsets = ints(rows + 1);
        bits(column.validity, rows, nulls);
        column.length = rows;
        strings(column.items, header[meta + 1]!, header[meta + 2]!, header[meta + 3]!);
      } else {
        bits(column.validity, rows, nulls);
        const start = bytes.byteOffset + take(rows * column.width);
        column.values =
          column.type === 'double'
            ? new Float64Array(memory, start, rows)
            : new Int32Array(memory, start, (rows * column.width) / 4);
        column.length = rows;
      }
    });
    if (at !== bytes.length) throw new Error(`spilled batch is ${bytes.length} bytes, its layout ${at}`);
    return { length: rows, columns: this.columns };
  }
}

/** Total bytes of `buffers`. */
export function spillSize(buffers: readonly Buffer[]): number {
  let size = 0;
  for (const buffer of buffers) size += buffer.length;
  return size;
}

function bitBytes(rows: number): number {
  return (rows + 7) >> 3;
}

function align(bytes: number): number {
  return (bytes + 7) & ~7;
}
