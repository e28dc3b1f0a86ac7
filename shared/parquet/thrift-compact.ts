import { ByteWriter } from './byte-writer';

/**
 * Thrift compact protocol type ids, as they appear in field headers and list headers. Booleans
 * in a field carry their value in the header's type (true 1, false 2).
 */
export const ThriftType = {
  BOOLEAN_TRUE: 1,
  BOOLEAN_FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

/** Above this a 64-bit field's zigzag (2 × value) would not be an exact JavaScript number. */
const MAX_I64 = 2 ** 52;

/**
 * Writes Thrift structs in the compact protocol, which is how Parquet encodes its page headers
 * and its footer (FileMetaData). Only what Parquet needs: structs (and unions, which are structs
 * with one field set), i32, i64, bool, binary/string and lists of those.
 *
 * Fields must be written in increasing id order within a struct (the compact protocol encodes the
 * delta from the previous field id). `beginStruct`/`endStruct` nest: a struct field or a struct in
 * a list starts its own field ids.
 */
export class CompactWriter {
  readonly out: ByteWriter;
  private lastField = 0;
  private readonly stack: number[] = [];

  constructor(out = new ByteWriter(1024)) {
    this.out = out;
  }

  private fieldHeader(id: number, type: number): void {
    const delta = id - this.lastField;
    if (delta > 0 && delta <= 15) this.out.byte((delta << 4) | type);
    else {
      this.out.byte(type);
      this.out.varint(zigzag32(id));
    }
    this.lastField = id;
  }

  i32Field(id: number, value: number): void {
    this.fieldHeader(id, ThriftType.I32);
    this.out.varint(zigzag32(value));
  }

  /** An i16 field: the same zigzag varint as i32, under its own type id. */
  i16Field(id: number, value: number): void {
    if (value < -0x8000 || value > 0x7fff) throw new RangeError(`not a 16-bit integer: ${value}`);
    this.fieldHeader(id, ThriftType.I16);
    this.out.varint(zigzag32(value));
  }

  i64Field(id: number, value: number): void {
    this.fieldHeader(id, ThriftType.I64);
    this.out.varint(zigzag64(value));
  }

  boolField(id: number, value: boolean): void {
    this.fieldHeader(id, value ? ThriftType.BOOLEAN_TRUE : ThriftType.BOOLEAN_FALSE);
  }

  binaryField(id: number, value: Uint8Array): void {
    this.fieldHeader(id, ThriftType.BINARY);
    this.binary(value);
  }

  stringField(id: number, value: string): void {
    this.binaryField(id, Buffer.from(value, 'utf8'));
  }

  /** Opens a struct-valued field; close it with `endStruct`. */
  structField(id: number): void {
    this.fieldHeader(id, ThriftType.STRUCT);
    this.beginStruct();
  }

  /** Opens a list field of `size` elements of `elementType`; then write the elements. */
  listField(id: number, elementType: number, size: number): void {
    this.fieldHeader(id, ThriftType.LIST);
    if (size < 15) this.out.byte((size << 4) | elementType);
    else {
      this.out.byte(0xf0 | elementType);
      this.out.varint(size);
    }
  }

  /** Starts a struct: the top-level one, a struct element of a list, or after `structField`. */
  beginStruct(): void {
    this.stack.push(this.lastField);
    this.lastField = 0;
  }

  /** Ends the current struct with the stop byte. */
  endStruct(): void {
    this.out.byte(0);
    const previous = this.stack.pop();
    if (previous === undefined) throw new Error('endStruct without beginStruct');
    this.lastField = previous;
  }

  /** An i32 list element. */
  i32(value: number): void {
    this.out.varint(zigzag32(value));
  }

  /** A binary (or string) list element, or a binary field's value. */
  binary(value: Uint8Array): void {
    this.out.varint(value.length);
    this.out.append(value);
  }

  string(value: string): void {
    this.binary(Buffer.from(value, 'utf8'));
  }
}

function zigzag32(value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`not a 32-bit integer: ${value}`);
  }
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Zigzag of a 64-bit field value, computed in doubles (exact below 2^52, which Parquet's counts and offsets are). */
function zigzag64(value: number): number {
  if (!Number.isInteger(value) || Math.abs(value) > MAX_I64) {
    throw new RangeError(`not an integer Parquet metadata can hold here: ${value}`);
  }
  return value >= 0 ? value * 2 : -value * 2 - 1;
}
