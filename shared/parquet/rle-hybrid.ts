import type { ByteWriter } from './byte-writer';

/** A run of at least this many equal values is written as an RLE run; shorter ones are bit-packed. */
const MIN_RLE_RUN = 8;
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
 * per value: a run of ≥ 8 equal values becomes an RLE run (header `count << 1`, then the value in
 * ⌈bitWidth/8⌉ bytes, little-endian); the rest is bit-packed in groups of 8, LSB first (header
 * `groups << 1 | 1`). The last group is padded with zeros; readers stop at the count they know.
 * Used for definition and repetition levels and for dictionary indices.
 */
export function writeHybrid(
  out: ByteWriter,
  values: Uint8Array | Int32Array,
  count: number,
  bitWidth: number,
): void {
  let packedFrom = 0; // values before `index` not yet written, all to be bit-packed
  let index = 0;
  while (index < count) {
    const value = values[index]!;
    let end = index + 1;
    while (end < count && values[end] === value) end++;
    const run = end - index;
    if (run < MIN_RLE_RUN) {
      index = end;
      continue;
    }
    // A bit-packed run holds whole groups of 8: top up the pending values from this run first.
    const topUp = (8 - ((index - packedFrom) & 7)) & 7;
    if (run - topUp < MIN_RLE_RUN) {
      index = end;
      continue;
    }
    if (index + topUp > packedFrom) writePacked(out, values, packedFrom, index + topUp, bitWidth);
    writeRun(out, value, run - topUp, bitWidth);
    index = end;
    packedFrom = end;
  }
  if (count > packedFrom) writePacked(out, values, packedFrom, count, bitWidth);
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
