/**
 * A growable byte buffer written front to back: page bodies, dictionary entries, Thrift structs.
 * `reset` keeps the memory, so a buffer reused per page costs its largest page once.
 */
export class ByteWriter {
  bytes: Buffer;
  length = 0;

  constructor(initialBytes = 4096) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Makes room for `extra` more bytes (call before the unchecked writes below). */
  room(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, needed));
    this.bytes.copy(next, 0, 0, this.length);
    this.bytes = next;
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  /** An unsigned 32-bit little-endian integer. */
  uint32(value: number): void {
    this.room(4);
    const bytes = this.bytes;
    let at = this.length;
    bytes[at++] = value & 0xff;
    bytes[at++] = (value >>> 8) & 0xff;
    bytes[at++] = (value >>> 16) & 0xff;
    bytes[at++] = (value >>> 24) & 0xff;
    this.length = at;
  }

  /** An unsigned LEB128 varint of a non-negative safe integer. */
  varint(value: number): void {
    this.room(10);
    const bytes = this.bytes;
    let at = this.length;
    let rest = value;
    // Above 2^31 the bitwise operators would wrap: divide until the value fits in 31 bits.
    while (rest >= 0x80000000) {
      bytes[at++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    while (rest >= 0x80) {
      bytes[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    bytes[at++] = rest;
    this.length = at;
  }

  /** Copies `source[start, end)`. */
  append(source: Uint8Array, start = 0, end = source.length): void {
    const size = end - start;
    this.room(size);
    const bytes = this.bytes;
    let at = this.length;
    // Short copies: a loop beats the native copy's call overhead below ~32 bytes.
    if (size < 32) for (let index = start; index < end; index++) bytes[at++] = source[index]!;
    else {
      bytes.set(source.subarray(start, end), at);
      at += size;
    }
    this.length = at;
  }

  /** The bytes written so far (a view: valid until the next write or reset). */
  view(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  /** The bytes written so far, copied. */
  copy(): Buffer {
    return Buffer.from(this.view());
  }

  reset(): void {
    this.length = 0;
  }
}
