import type { ByteWriter } from './byte-writer';

/**
 * Groups of 8 values per bit-packed run: 63 keeps the run's header one byte (other writers use the
 * same bound, and some readers have assumed it).
 */
const MAX_PACKED_GROUPS = 63;

/** Bits needed for values up to `max` (at least 1: a width of 0 trips some readers). */
export function bitWidthOf(max: number): number {
  return max <= 1 ? 1 : 32 - Math.clz32(max);
}

/**
 * Appends `values[0, count)` in Parquet's RLE / bit-packing hybrid encoding with `bitWidth` bits
 * per value: values go in groups of 8, bit-packed LSB first (header `groups << 1 | 1`), except
 * that a group of 8 equal values starts an RLE run (header `count << 1`, then the value in
 * ⌈bitWidth/8⌉ bytes, little-endian) that takes every equal value after it. The last group is
 * padded with zeros; readers stop at the count they know. Used for definition and repetition
 * levels and for dictionary indices. One comparison per group rejects most runs, so values that
 * do not repeat cost little more than packing them.
 */
export function writeHybrid(
  out: ByteWriter,
  values: Uint8Array | Int32Array,
  count: number,
  bitWidth: number,
): void {
  let packedFrom = 0; // values before `index` not yet written, all to be bit-packed (whole groups)
  let index = 0;
  while (index + 8 <= count) {
    const value = values[index]!;
    if (values[index + 7] !== value || !allEqual(values, index + 1, index + 7, value)) {
      index += 8;
      continue;
    }
    let end = index + 8;
    while (end < count && values[end] === value) end++;
    if (index > packedFrom) writePacked(out, values, packedFrom, index, bitWidth);
    writeRun(out, value, end - index, bitWidth);
    index = end;
    packedFrom = end;
  }
  if (count > packedFrom) writePacked(out, values, packedFrom, count, bitWidth);
}

function allEqual(values: Uint8Array | Int32Array, from: number, to: number, value: number): boolean {
  for (let index = from; index < to; index++) if (values[index] !== value) return false;
  return true;
}

function writeRun(out: ByteWriter, value: number, run: number, bitWidth: number): void {
  out.varint(run * 2);
  for (let shift = 0; shift < bitWidth; shift += 8) out.byte((value >>> shift) & 0xff);
}

/** Bit-packs `values[from, to)`, padding the last group of 8 with zeros. */
function writePacked(
  out: ByteWriter,
  values: Uint8Array | Int32Array,
  from: number,
  to: number,
  bitWidth: number,
): void {
  let at = from;
  while (at < to) {
    const groups = Math.min(MAX_PACKED_GROUPS, Math.ceil((to - at) / 8));
    out.varint(groups * 2 + 1);
    out.room(groups * bitWidth);
    const bytes = out.bytes;
    let position = out.length;
    let accumulator = 0;
    let bits = 0;
    const end = at + groups * 8;
    // Whole values first; the padding of a last partial group after. bitWidth ≤ 24 keeps the
    // accumulator within 32 bits.
    const full = Math.min(end, to);
    for (let index = at; index < full; index++) {
      accumulator |= values[index]! << bits;
      bits += bitWidth;
      while (bits >= 8) {
        bytes[position++] = accumulator & 0xff;
        accumulator >>>= 8;
        bits -= 8;
      }
    }
    for (let index = full; index < end; index++) {
      bits += bitWidth;
      while (bits >= 8) {
        bytes[position++] = accumulator & 0xff;
        accumulator >>>= 8;
        bits -= 8;
      }
    }
    out.length = position;
    at = end;
  }
}
