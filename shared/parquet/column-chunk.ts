import { ByteWriter } from './byte-writer';
import type { NumberColumn, StringListColumn, Utf8Column } from './column-batch';
import { ByteDictionary } from './dictionary';
import {
  type ColumnChunkMetadata,
  type ColumnStatistics,
  Encoding,
  type LeafColumn,
  PageType,
  writePageHeader,
} from './format';
import { bitWidthOf, writeHybrid } from './rle-hybrid';
import { CompactWriter } from './thrift-compact';
import type { PageCompressor } from './zstd';

/** How a column chunk is cut into pages and how its strings are encoded. */
export interface ChunkOptions {
  /** A data page is closed once its values take this many bytes (before compression)… */
  pageBytes: number;
  /**
   * …or once it holds this many values (levels: nulls and empty lists count), whichever comes
   * first: bounds the levels, indices and numbers a column holds for its open page.
   */
  pageValues: number;
  /** A string column chunk falls back to PLAIN once its dictionary page would exceed this. */
  dictionaryBytes: number;
  /** zstd level of every page (1: fastest; the zstd library's default is 3). */
  zstdLevel: number;
}

/**
 * Non-null values looked up before a chunk's dictionary is judged: when nearly every one was new
 * (request ids, session cookies), the column is written PLAIN from the start instead of hashing the
 * rest of it into a dictionary that would not pay for itself.
 */
const CARDINALITY_SAMPLE = 2_048;
const MAX_DISTINCT_SHARE = 0.9;
/** Longest min/max of a string column kept whole; longer ones are truncated (and marked inexact). */
const MAX_STRING_STATISTIC = 64;

/**
 * One column chunk, encoded: its pages in file order and what the footer records of it. The
 * buffers are views of the writer's own, valid until it is used again.
 */
export interface EncodedChunk {
  /** The dictionary page (header and compressed body), when the chunk has one: it comes first. */
  dictionary: Buffer | undefined;
  /** The data pages (header and compressed body each), in order. */
  pages: Buffer;
  metadata: Omit<ColumnChunkMetadata, 'dataPageOffset' | 'dictionaryPageOffset'>;
}

/**
 * Encodes one leaf column into the pages of a column chunk, row range by row range (a row group's
 * rows may come in several batches), holding only the compressed pages closed so far and the
 * current page's values. `finish` returns the chunk and starts the next one.
 */
abstract class ChunkWriter {
  /** The chunk's data pages so far, header and compressed body each; the dictionary page apart. */
  private readonly pages = new ByteWriter(64 * 1024);
  private readonly dictionaryPage = new ByteWriter(1024);
  private readonly pageThrift = new CompactWriter(this.pages);
  private readonly dictionaryThrift = new CompactWriter(this.dictionaryPage);
  protected uncompressedBytes = 0;
  /** Definition levels of the current page (and repetition levels for a list's elements). */
  protected definitions = new Uint8Array(1024);
  protected repetitions: Uint8Array | undefined;
  protected levelCount = 0;
  /** Levels below the maximum (nulls, null and empty lists) in the current page and in the chunk. */
  protected pageNulls = 0;
  protected chunkNulls = 0;
  protected chunkValues = 0;
  private readonly encodings = new Set<Encoding>([Encoding.RLE]);
  private readonly pageEncodings = new Map<number, [PageType, Encoding, number]>();

  /**
   * @param body scratch for one page's uncompressed body at a time (shared by a file's columns:
   * pages are encoded and compressed one at a time)
   * @param compressor zstd at `options.zstdLevel`, shared like `body`
   */
  constructor(
    readonly column: LeafColumn,
    protected readonly options: ChunkOptions,
    protected readonly body: ByteWriter,
    private readonly compressor: PageCompressor,
  ) {
    if (column.maxRepetitionLevel > 0) this.repetitions = new Uint8Array(1024);
  }

  /** Bytes of the chunk's compressed pages so far. */
  protected get compressedBytes(): number {
    return this.pages.length + this.dictionaryPage.length;
  }

  /** Bytes this chunk holds: compressed pages plus the current page's values (before compression). */
  abstract get bufferedBytes(): number;

  abstract finish(): EncodedChunk;

  /** Makes room for `count` more levels in the current page. */
  protected reserveLevels(count: number): void {
    const needed = this.levelCount + count;
    if (needed <= this.definitions.length) return;
    const size = Math.max(this.definitions.length * 2, needed);
    const definitions = new Uint8Array(size);
    definitions.set(this.definitions.subarray(0, this.levelCount));
    this.definitions = definitions;
    if (this.repetitions !== undefined) {
      const repetitions = new Uint8Array(size);
      repetitions.set(this.repetitions.subarray(0, this.levelCount));
      this.repetitions = repetitions;
    }
  }

  /**
   * Starts the current page's body: repetition then definition levels, each as a 4-byte length and
   * the RLE/bit-packed hybrid (data page v1). A page without nulls is one RLE run.
   */
  protected beginBody(): void {
    const body = this.body;
    body.reset();
    const { maxRepetitionLevel, maxDefinitionLevel } = this.column;
    if (maxRepetitionLevel > 0) this.levelsSection(this.repetitions!, maxRepetitionLevel, false);
    this.levelsSection(this.definitions, maxDefinitionLevel, this.pageNulls === 0);
  }

  private levelsSection(levels: Uint8Array, max: number, allMax: boolean): void {
    const body = this.body;
    const lengthAt = body.length;
    body.uint32(0);
    const bitWidth = bitWidthOf(max);
    if (allMax) {
      body.varint(this.levelCount * 2);
      body.byte(max);
    } else writeHybrid(body, levels, this.levelCount, bitWidth);
    body.bytes.writeUInt32LE(body.length - lengthAt - 4, lengthAt);
  }

  /** Compresses `body` as one page and appends it (header, then body) to the chunk. */
  protected emitPage(type: PageType, encoding: Encoding, valueCount: number, body: Buffer): void {
    const compressed = this.compressor.compress(body);
    const dictionary = type === PageType.DICTIONARY_PAGE;
    const out = dictionary ? this.dictionaryPage : this.pages;
    const before = out.length;
    writePageHeader(dictionary ? this.dictionaryThrift : this.pageThrift, {
      type,
      uncompressedSize: body.length,
      compressedSize: compressed.length,
      valueCount,
      encoding,
    });
    this.uncompressedBytes += out.length - before + body.length;
    out.append(compressed);
    this.encodings.add(encoding);
    const key = type * 16 + encoding;
    const seen = this.pageEncodings.get(key);
    if (seen === undefined) this.pageEncodings.set(key, [type, encoding, 1]);
    else seen[2]++;
  }

  /** Ends the current page's level bookkeeping after it was emitted. */
  protected pageDone(): void {
    this.chunkValues += this.levelCount;
    this.chunkNulls += this.pageNulls;
    this.levelCount = 0;
    this.pageNulls = 0;
  }

  /**
   * The chunk as encoded so far (views of this writer's buffers, valid until it is used again),
   * and a clean slate for the next one.
   */
  protected takeChunk(statistics: ColumnStatistics): EncodedChunk {
    const chunk: EncodedChunk = {
      dictionary: this.dictionaryPage.length > 0 ? this.dictionaryPage.view() : undefined,
      pages: this.pages.view(),
      metadata: {
        column: this.column,
        encodings: [...this.encodings].sort((a, b) => a - b),
        pageEncodings: [...this.pageEncodings.values()],
        valueCount: this.chunkValues,
        uncompressedBytes: this.uncompressedBytes,
        compressedBytes: this.compressedBytes,
        statistics,
      },
    };
    this.pages.reset();
    this.dictionaryPage.reset();
    this.uncompressedBytes = 0;
    this.chunkNulls = 0;
    this.chunkValues = 0;
    this.encodings.clear();
    this.encodings.add(Encoding.RLE);
    this.pageEncodings.clear();
    return chunk;
  }
}

/**
 * INT32, INT64 (bigint, timestamp) and DOUBLE columns: PLAIN (the builder's buffer bytes are
 * already little-endian PLAIN values; nulls are left out), with min/max statistics.
 */
export class NumberChunkWriter extends ChunkWriter {
  private readonly values = new ByteWriter(64 * 1024);
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;

  get bufferedBytes(): number {
    return this.compressedBytes + this.values.length + this.levelCount;
  }

  add(column: NumberColumn, from: number, to: number): void {
    const { pageBytes, pageValues } = this.options;
    const width = column.width;
    let row = from;
    while (row < to) {
      const room = Math.min(
        Math.floor((pageBytes - this.values.length) / width),
        pageValues - this.levelCount,
      );
      const end = Math.min(to, row + Math.max(1, room));
      this.addRows(column, row, end);
      row = end;
      if (this.values.length >= pageBytes || this.levelCount >= pageValues) this.closePage();
    }
  }

  private addRows(column: NumberColumn, from: number, to: number): void {
    this.reserveLevels(to - from);
    const width = column.width;
    const raw = new Uint8Array(column.values.buffer, column.values.byteOffset);
    const bits = column.validity.bits;
    const definitions = this.definitions;
    if (column.validity.nulls === 0) {
      definitions.fill(1, this.levelCount, this.levelCount + (to - from));
      this.levelCount += to - from;
      this.values.append(raw, from * width, to * width);
    } else {
      let levels = this.levelCount;
      for (let row = from; row < to; row++) {
        if ((bits[row >> 3]! >> (row & 7)) & 1) {
          definitions[levels++] = 1;
          this.values.append(raw, row * width, row * width + width);
        } else {
          definitions[levels++] = 0;
          this.pageNulls++;
        }
      }
      this.levelCount = levels;
    }
    this.track(column, from, to);
  }

  /** Min and max of the non-null values (64-bit integers from their halves, exact for safe integers). */
  private track(column: NumberColumn, from: number, to: number): void {
    const bits = column.validity.bits;
    const anyNull = column.validity.nulls > 0;
    let min = this.min;
    let max = this.max;
    if (column.type === 'bigint' || column.type === 'timestamp') {
      const halves = column.values as Int32Array;
      for (let row = from; row < to; row++) {
        if (anyNull && ((bits[row >> 3]! >> (row & 7)) & 1) === 0) continue;
        const value = halves[row * 2 + 1]! * 4_294_967_296 + (halves[row * 2]! >>> 0);
        if (value < min) min = value;
        if (value > max) max = value;
      }
    } else {
      const values = column.values;
      for (let row = from; row < to; row++) {
        if (anyNull && ((bits[row >> 3]! >> (row & 7)) & 1) === 0) continue;
        const value = values[row]!;
        // NaN compares false both ways: it never becomes min or max.
        if (value < min) min = value;
        if (value > max) max = value;
      }
    }
    this.min = min;
    this.max = max;
  }

  private closePage(): void {
    if (this.levelCount === 0) return;
    this.beginBody();
    this.body.append(this.values.bytes, 0, this.values.length);
    this.emitPage(PageType.DATA_PAGE, Encoding.PLAIN, this.levelCount, this.body.view());
    this.values.reset();
    this.pageDone();
  }

  finish(): EncodedChunk {
    this.closePage();
    const statistics: ColumnStatistics = {
      nullCount: this.chunkNulls,
      minExact: true,
      maxExact: true,
      legacyMinMax: true,
    };
    if (this.min <= this.max) {
      statistics.min = this.plainValue(this.min === 0 ? -0 : this.min);
      statistics.max = this.plainValue(this.max === 0 ? 0 : this.max);
    }
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    return this.takeChunk(statistics);
  }

  /** A statistic as PLAIN bytes of the column's physical type. */
  private plainValue(value: number): Buffer {
    switch (this.column.type) {
      case 'int': {
        const bytes = Buffer.alloc(4);
        bytes.writeInt32LE(value);
        return bytes;
      }
      case 'double': {
        const bytes = Buffer.alloc(8);
        bytes.writeDoubleLE(value);
        return bytes;
      }
      default: {
        const bytes = Buffer.alloc(8);
        const high = Math.floor(value / 4_294_967_296);
        bytes.writeUInt32LE(value - high * 4_294_967_296, 0);
        bytes.writeInt32LE(high, 4);
        return bytes;
      }
    }
  }
}

/**
 * BYTE_ARRAY (UTF-8) columns, top-level or a list's elements. Dictionary encoded while it pays:
 * the distinct values go to a PLAIN dictionary page, data pages hold RLE_DICTIONARY indices. Falls
 * back to PLAIN for the rest of the chunk when the dictionary would pass `dictionaryBytes`, or from
 * the start when the first values are nearly all distinct. Min/max by unsigned bytes.
 */
export class StringChunkWriter extends ChunkWriter {
  private dictionaryMode = true;
  private readonly dictionary = new ByteDictionary();
  private indices = new Int32Array(1024);
  private indexCount = 0;
  /** Data pages of this chunk written with the dictionary: it must then be written too. */
  private dictionaryPages = 0;
  private lookups = 0;
  private judged = false;
  private readonly plain = new ByteWriter(64 * 1024);
  private readonly range = new StringRange();

  get bufferedBytes(): number {
    return (
      this.compressedBytes +
      this.plain.length +
      this.indexCount * 4 +
      this.dictionary.byteLength +
      this.levelCount
    );
  }

  /** Rows `[from, to)` of a string column. */
  addStrings(column: Utf8Column, from: number, to: number): void {
    const view = new DataView(column.bytes.buffer, column.bytes.byteOffset, column.bytes.length);
    let row = from;
    while (row < to) {
      row = this.dictionaryMode
        ? this.dictionaryRows(column, view, row, to)
        : this.plainRows(column, row, to);
    }
  }

  /**
   * Rows from `from` through the dictionary, until `to` or until a page fills or the dictionary
   * stops paying (then the page is closed or the chunk falls back): returns the next row.
   */
  private dictionaryRows(column: Utf8Column, view: DataView, from: number, to: number): number {
    const pageValues = this.options.pageValues;
    // The page closes at `pageValues` levels: no more room is needed than that.
    const room = Math.min(to - from, pageValues - this.levelCount);
    this.reserveLevels(room);
    this.reserveIndices(room);
    const { offsets, bytes } = column;
    const bits = column.validity.bits;
    const anyNull = column.validity.nulls > 0;
    const dictionary = this.dictionary;
    const definitions = this.definitions;
    const indices = this.indices;
    let levels = this.levelCount;
    let count = this.indexCount;
    let nulls = this.pageNulls;
    let lookups = this.lookups;
    let size = dictionary.size;
    let pageLimit = this.indexLimit(size);
    let stop: 'page' | 'fallBack' | undefined;
    let row = from;
    while (row < to) {
      if (anyNull && ((bits[row >> 3]! >> (row & 7)) & 1) === 0) {
        definitions[levels++] = 0;
        nulls++;
        row++;
      } else {
        definitions[levels++] = 1;
        indices[count++] = dictionary.indexOf(bytes, view, offsets[row]!, offsets[row + 1]!);
        lookups++;
        row++;
        if (dictionary.size !== size) {
          size = dictionary.size;
          pageLimit = this.indexLimit(size);
          if (dictionary.byteLength > this.options.dictionaryBytes) stop = 'fallBack';
          else if (!this.judged && lookups >= CARDINALITY_SAMPLE) {
            this.judged = true;
            if (size > lookups * MAX_DISTINCT_SHARE) stop = 'fallBack';
          }
          if (stop !== undefined) break;
        }
      }
      if (count >= pageLimit || levels >= pageValues) {
        stop = 'page';
        break;
      }
    }
    this.levelCount = levels;
    this.indexCount = count;
    this.pageNulls = nulls;
    this.lookups = lookups;
    if (stop === 'fallBack') this.fallBack();
    else if (stop === 'page') this.closePage();
    return row;
  }

  /** Rows from `from` as PLAIN values, until `to` or until the page fills: returns the next row. */
  private plainRows(column: Utf8Column, from: number, to: number): number {
    const { offsets, bytes } = column;
    const bits = column.validity.bits;
    const anyNull = column.validity.nulls > 0;
    const plain = this.plain;
    const { pageBytes, pageValues } = this.options;
    this.reserveLevels(Math.min(to - from, pageValues - this.levelCount));
    const definitions = this.definitions;
    let row = from;
    while (row < to) {
      if (anyNull && ((bits[row >> 3]! >> (row & 7)) & 1) === 0) {
        definitions[this.levelCount++] = 0;
        this.pageNulls++;
      } else {
        definitions[this.levelCount++] = 1;
        const start = offsets[row]!;
        const end = offsets[row + 1]!;
        plain.uint32(end - start);
        plain.append(bytes, start, end);
        this.range.update(bytes, start, end);
      }
      row++;
      if (plain.length >= pageBytes || this.levelCount >= pageValues) {
        this.closePage();
        break;
      }
    }
    return row;
  }

  /** Indices per page: a page closes once its bit-packed indices would pass `pageBytes`. */
  private indexLimit(dictionarySize: number): number {
    return Math.floor((this.options.pageBytes * 8) / bitWidthOf(dictionarySize));
  }

  private reserveIndices(count: number): void {
    const needed = this.indexCount + count;
    if (needed <= this.indices.length) return;
    const next = new Int32Array(Math.max(this.indices.length * 2, needed));
    next.set(this.indices.subarray(0, this.indexCount));
    this.indices = next;
  }

  /**
   * Rows `[from, to)` of a list column: per row, a null list (definition 0), an empty list (1), or
   * its elements (null 2, present 3), the first at repetition level 0 and the others at 1.
   */
  addLists(column: StringListColumn, from: number, to: number): void {
    const { offsets, items } = column;
    const bits = column.validity.bits;
    const itemBits = items.validity.bits;
    const anyItemNull = items.validity.nulls > 0;
    const view = new DataView(items.bytes.buffer, items.bytes.byteOffset, items.bytes.length);
    // Room for every row's levels at once (a page ends only between rows).
    this.reserveLevels(to - from + offsets[to]! - offsets[from]!);
    this.reserveIndices(offsets[to]! - offsets[from]!);
    const pageValues = this.options.pageValues;
    for (let row = from; row < to; row++) {
      const first = offsets[row]!;
      const end = offsets[row + 1]!;
      const present = ((bits[row >> 3]! >> (row & 7)) & 1) === 1;
      if (!present || first === end) {
        // Most rows: no list, or an empty one.
        this.repetitions![this.levelCount] = 0;
        this.definitions[this.levelCount++] = present ? 1 : 0;
        this.pageNulls++;
        if (this.levelCount >= pageValues) this.closePage();
        continue;
      }
      const definitions = this.definitions;
      const repetitions = this.repetitions!;
      for (let item = first; item < end; item++) {
        repetitions[this.levelCount] = item === first ? 0 : 1;
        if (anyItemNull && ((itemBits[item >> 3]! >> (item & 7)) & 1) === 0) {
          definitions[this.levelCount++] = 2;
          this.pageNulls++;
        } else {
          definitions[this.levelCount++] = 3;
          this.value(items.bytes, view, items.offsets[item]!, items.offsets[item + 1]!);
        }
      }
      this.listRowDone();
    }
  }

  private value(bytes: Uint8Array, view: DataView, start: number, end: number): void {
    if (this.dictionaryMode) {
      this.indices[this.indexCount++] = this.dictionary.indexOf(bytes, view, start, end);
      this.lookups++;
    } else {
      this.plain.uint32(end - start);
      this.plain.append(bytes, start, end);
      this.range.update(bytes, start, end);
    }
  }

  /** After each list: pages end at row boundaries (a list never spans two pages). */
  private listRowDone(): void {
    if (this.dictionaryMode) {
      if (this.dictionary.byteLength > this.options.dictionaryBytes) this.fallBack();
      else if (!this.judged && this.lookups >= CARDINALITY_SAMPLE) {
        this.judged = true;
        if (this.dictionary.size > this.lookups * MAX_DISTINCT_SHARE) this.fallBack();
      } else if (
        this.indexCount >= this.indexLimit(this.dictionary.size) ||
        this.levelCount >= this.options.pageValues
      ) {
        this.closePage();
      }
    } else if (this.plain.length >= this.options.pageBytes || this.levelCount >= this.options.pageValues) {
      this.closePage();
    }
  }

  /**
   * Switches the rest of the chunk to PLAIN. Before any page was written with the dictionary, the
   * current page's values are rewritten PLAIN and the dictionary dropped (no dictionary page);
   * otherwise the current page is closed with the dictionary, which is kept for the chunk's
   * dictionary page.
   */
  private fallBack(): void {
    if (this.dictionaryPages === 0) {
      const dictionary = this.dictionary;
      const entries = dictionary.entries.bytes;
      for (let index = 0; index < this.indexCount; index++) {
        const entry = this.indices[index]!;
        const start = dictionary.entryStart(entry);
        const end = start + dictionary.entryLength(entry);
        this.plain.uint32(end - start);
        this.plain.append(entries, start, end);
      }
      this.rangeOfDictionary();
      this.indexCount = 0;
      dictionary.reset();
    } else this.closePage();
    this.dictionaryMode = false;
  }

  private rangeOfDictionary(): void {
    const dictionary = this.dictionary;
    const entries = dictionary.entries.bytes;
    for (let entry = 0; entry < dictionary.size; entry++) {
      const start = dictionary.entryStart(entry);
      this.range.update(entries, start, start + dictionary.entryLength(entry));
    }
  }

  private closePage(): void {
    if (this.levelCount === 0) return;
    this.beginBody();
    const body = this.body;
    // A chunk without a single value has no dictionary to point into: its pages are PLAIN (empty).
    if (this.dictionaryMode && this.dictionary.size > 0) {
      const bitWidth = bitWidthOf(this.dictionary.size - 1);
      body.byte(bitWidth);
      writeHybrid(body, this.indices, this.indexCount, bitWidth);
      this.emitPage(PageType.DATA_PAGE, Encoding.RLE_DICTIONARY, this.levelCount, body.view());
      this.dictionaryPages++;
    } else {
      body.append(this.plain.bytes, 0, this.plain.length);
      this.emitPage(PageType.DATA_PAGE, Encoding.PLAIN, this.levelCount, body.view());
    }
    this.indexCount = 0;
    this.plain.reset();
    this.pageDone();
  }

  finish(): EncodedChunk {
    this.closePage();
    if (this.dictionaryPages > 0) {
      this.emitPage(
        PageType.DICTIONARY_PAGE,
        Encoding.PLAIN,
        this.dictionary.size,
        this.dictionary.entries.view(),
      );
      this.rangeOfDictionary();
    }
    const statistics = this.range.statistics(this.chunkNulls);
    this.dictionary.reset();
    this.dictionaryMode = true;
    this.dictionaryPages = 0;
    this.lookups = 0;
    this.judged = false;
    this.range.reset();
    return this.takeChunk(statistics);
  }
}

/** The least and greatest byte strings seen (unsigned byte order: UTF-8's code point order). */
class StringRange {
  private readonly min = new ByteWriter(64);
  private readonly max = new ByteWriter(64);
  private empty = true;

  update(bytes: Uint8Array, start: number, end: number): void {
    if (this.empty) {
      this.empty = false;
      this.min.append(bytes, start, end);
      this.max.append(bytes, start, end);
    } else if (compareBytes(bytes, start, end, this.min.bytes, this.min.length) < 0) {
      this.min.reset();
      this.min.append(bytes, start, end);
    } else if (compareBytes(bytes, start, end, this.max.bytes, this.max.length) > 0) {
      this.max.reset();
      this.max.append(bytes, start, end);
    }
  }

  /**
   * Statistics of the chunk. A min longer than 64 bytes is cut at a character boundary (still ≤
   * every value); a longer max is cut after its last ASCII character below 0x7f, which is then
   * raised by one (still ≥ every value, still UTF-8); without one, no min/max is written.
   */
  statistics(nullCount: number): ColumnStatistics {
    const statistics: ColumnStatistics = {
      nullCount,
      minExact: true,
      maxExact: true,
      legacyMinMax: false,
    };
    if (this.empty) return statistics;
    const min = this.min.view();
    const max = this.max.view();
    const upper = max.length <= MAX_STRING_STATISTIC ? Buffer.from(max) : raisedPrefix(max);
    if (upper === undefined) return statistics;
    statistics.max = upper;
    statistics.maxExact = max.length <= MAX_STRING_STATISTIC;
    statistics.min =
      min.length <= MAX_STRING_STATISTIC
        ? Buffer.from(min)
        : Buffer.from(min.subarray(0, characterBoundary(min, MAX_STRING_STATISTIC)));
    statistics.minExact = min.length <= MAX_STRING_STATISTIC;
    return statistics;
  }

  reset(): void {
    this.empty = true;
    this.min.reset();
    this.max.reset();
  }
}

/** The largest length ≤ `limit` that does not cut a UTF-8 character. */
function characterBoundary(bytes: Uint8Array, limit: number): number {
  let end = limit;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return end;
}

/** A short string greater than every string starting with `bytes`' first 64 bytes, if there is one. */
function raisedPrefix(bytes: Uint8Array): Buffer | undefined {
  for (let index = MAX_STRING_STATISTIC - 1; index >= 0; index--) {
    const byte = bytes[index]!;
    if (byte < 0x7f) {
      const raised = Buffer.from(bytes.subarray(0, index + 1));
      raised[index] = byte + 1;
      return raised;
    }
  }
  return undefined;
}

/** Unsigned byte order of `a[start, end)` and `b[0, bLength)`. */
function compareBytes(a: Uint8Array, start: number, end: number, b: Uint8Array, bLength: number): number {
  const length = Math.min(end - start, bLength);
  for (let index = 0; index < length; index++) {
    const difference = a[start + index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return end - start - bLength;
}
