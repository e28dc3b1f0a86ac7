import { ByteWriter } from '#shared/parquet/byte-writer';
import { bitWidthOf, writeHybrid } from '#shared/parquet/rle-hybrid';
import { CompactWriter, ThriftType } from '#shared/parquet/thrift-compact';

function hybrid(values: number[], bitWidth: number): number[] {
  const out = new ByteWriter(16);
  writeHybrid(out, Int32Array.from(values), values.length, bitWidth);
  return [...out.view()];
}

describe('RLE / bit-packing hybrid', () => {
  it('bit-packs LSB first: the format specification example (0…7 at bit width 3)', () => {
    // Header 1 group << 1 | 1, then 10001000 11000110 11111010.
    expect(hybrid([0, 1, 2, 3, 4, 5, 6, 7], 3)).toEqual([0x03, 0b10001000, 0b11000110, 0b11111010]);
  });

  it('writes a run of equal values as one RLE run: varint(count << 1), the value in whole bytes', () => {
    expect(hybrid(Array(100).fill(5), 3)).toEqual([0xc8, 0x01, 0x05]);
    expect(hybrid(Array(9).fill(300), 9)).toEqual([0x12, 0x2c, 0x01]);
  });

  it('tops up a bit-packed group from the next run before switching to RLE', () => {
    // 1, 2, 3 and five 7s bit-packed as one group, then the other fifteen 7s as a run.
    expect(hybrid([1, 2, 3, ...Array(20).fill(7)], 3)).toEqual([0x03, 0xd1, 0xfe, 0xff, 0x1e, 0x07]);
  });

  it('pads the last bit-packed group with zeros', () => {
    expect(hybrid([1, 0, 1, 0, 1, 0, 1, 0, 1], 1)).toEqual([0x05, 0x55, 0x01]);
  });

  it('splits long bit-packed runs at 63 groups (a one-byte header)', () => {
    const values = Array.from({ length: 64 * 8 }, (_, index) => index % 2);
    const bytes = hybrid(values, 1);
    expect(bytes[0]).toBe((63 << 1) | 1);
    expect(bytes[1 + 63]).toBe((1 << 1) | 1);
    expect(bytes.length).toBe(1 + 63 + 1 + 1);
  });

  it('needs at least one bit per value', () => {
    expect([0, 1, 2, 3, 255, 256, 1 << 20].map(bitWidthOf)).toEqual([1, 1, 2, 2, 8, 9, 21]);
  });
});

describe('Thrift compact protocol writer', () => {
  it('field headers by delta, long ids, zigzag varints, bools in the header, binaries and list headers', () => {
    const thrift = new CompactWriter();
    thrift.beginStruct();
    thrift.i32Field(1, 5);
    thrift.i32Field(20, -1);
    thrift.boolField(21, true);
    thrift.binaryField(22, Buffer.from('ab'));
    thrift.listField(23, ThriftType.I32, 16);
    for (let index = 0; index < 16; index++) thrift.i32(index);
    thrift.i64Field(24, 2 ** 40);
    thrift.structField(25);
    thrift.i16Field(1, -2);
    thrift.endStruct();
    thrift.endStruct();
    const expected = [
      [0x15, 0x0a], // field 1, i32, zigzag(5) = 10
      [0x05, 0x28, 0x01], // field 20 (delta 19: type byte, then zigzag id 40), zigzag(-1) = 1
      [0x11], // field 21, boolean true
      [0x18, 0x02, 0x61, 0x62], // field 22, binary of 2 bytes
      [0x19, 0xf5, 0x10], // field 23, list of 16 i32 (long form), then zigzag(0…15)
      Array.from({ length: 16 }, (_, index) => index * 2),
      [0x16, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40], // field 24, i64, zigzag(2^40) = 2^41
      [0x1c], // field 25, struct
      [0x14, 0x03], // its field 1, i16, zigzag(-2) = 3
      [0x00, 0x00], // end of the inner struct, of the outer one
    ];
    expect([...thrift.out.view()]).toEqual(expected.flat());
  });

  it('refuses values it cannot write exactly', () => {
    const thrift = new CompactWriter();
    thrift.beginStruct();
    expect(() => thrift.i32Field(1, 2 ** 31)).toThrow(RangeError);
    expect(() => thrift.i64Field(2, 2 ** 53)).toThrow(RangeError);
  });
});
