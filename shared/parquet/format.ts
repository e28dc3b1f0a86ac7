/**
 * The parts of the Parquet format (parquet.thrift) this writer uses: enum values, the schema of a
 * table, page headers and the footer (FileMetaData), written with the Thrift compact protocol.
 */
import type { ColumnType, TableDefinition } from '#shared/datasets/table';
import { CompactWriter, ThriftType } from './thrift-compact';

export const PhysicalType = { INT32: 1, INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
export type PhysicalType = (typeof PhysicalType)[keyof typeof PhysicalType];

const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;
const ConvertedType = { UTF8: 0, LIST: 3, TIMESTAMP_MILLIS: 9 } as const;

export const Encoding = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

export const PageType = { DATA_PAGE: 0, DICTIONARY_PAGE: 2 } as const;
export type PageType = (typeof PageType)[keyof typeof PageType];

const CODEC_ZSTD = 6;

/** "PAR1": the first and last 4 bytes of a Parquet file. */
export const MAGIC = Buffer.from('PAR1', 'latin1');

/** One leaf column of the file: where its values come from and how they are nested. */
export interface LeafColumn {
  /** The table column's index (its builder in a `ColumnBatch`). */
  index: number;
  type: ColumnType;
  physicalType: PhysicalType;
  /** Dotted path in the Parquet schema: `forwarded_for.list.element` for the list's strings. */
  path: string[];
  /** 1 for a nullable top-level value; 3 for a list's element (list null 0, empty 1, element null 2). */
  maxDefinitionLevel: number;
  maxRepetitionLevel: number;
}

function physicalTypeOf(type: ColumnType): PhysicalType {
  switch (type) {
    case 'int':
      return PhysicalType.INT32;
    case 'bigint':
    case 'timestamp':
      return PhysicalType.INT64;
    case 'double':
      return PhysicalType.DOUBLE;
    case 'string':
    case 'array<string>':
      return PhysicalType.BYTE_ARRAY;
  }
}

/** The leaf columns of a table, one per table column (each column is a value or a list of strings). */
export function leafColumns(table: TableDefinition): LeafColumn[] {
  return table.columns.map((column, index) => {
    const list = column.type === 'array<string>';
    return {
      index,
      type: column.type,
      physicalType: physicalTypeOf(column.type),
      path: list ? [column.name, 'list', 'element'] : [column.name],
      maxDefinitionLevel: list ? 3 : 1,
      maxRepetitionLevel: list ? 1 : 0,
    };
  });
}

/**
 * The schema as the flattened SchemaElement list (depth first). Types as the parquet-wasm writer
 * wrote them before, so the Glue table and Athena's SQL read the files the same way: strings
 * BYTE_ARRAY + UTF8/STRING; int INT32, bigint INT64, double DOUBLE with no annotation; timestamps
 * INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=false), with the TIMESTAMP_MILLIS converted type too for
 * readers that only know converted types; lists the standard 3-level LIST (optional group, repeated
 * group `list`, optional `element`), every value OPTIONAL.
 */
function writeSchema(thrift: CompactWriter, table: TableDefinition): void {
  const elements = 1 + table.columns.reduce((n, c) => n + (c.type === 'array<string>' ? 3 : 1), 0);
  thrift.listField(2, ThriftType.STRUCT, elements);
  thrift.beginStruct();
  thrift.stringField(4, 'schema');
  thrift.i32Field(5, table.columns.length);
  thrift.endStruct();
  for (const column of table.columns) {
    if (column.type === 'array<string>') {
      thrift.beginStruct();
      thrift.i32Field(3, Repetition.OPTIONAL);
      thrift.stringField(4, column.name);
      thrift.i32Field(5, 1);
      thrift.i32Field(6, ConvertedType.LIST);
      thrift.structField(10); // LogicalType union: LIST
      thrift.structField(3);
      thrift.endStruct();
      thrift.endStruct();
      thrift.endStruct();
      thrift.beginStruct();
      thrift.i32Field(3, Repetition.REPEATED);
      thrift.stringField(4, 'list');
      thrift.i32Field(5, 1);
      thrift.endStruct();
      writeLeafElement(thrift, 'element', 'string');
    } else writeLeafElement(thrift, column.name, column.type);
  }
}

function writeLeafElement(thrift: CompactWriter, name: string, type: Exclude<ColumnType, 'array<string>'>) {
  thrift.beginStruct();
  thrift.i32Field(1, physicalTypeOf(type));
  thrift.i32Field(3, Repetition.OPTIONAL);
  thrift.stringField(4, name);
  if (type === 'string') {
    thrift.i32Field(6, ConvertedType.UTF8);
    thrift.structField(10); // LogicalType union: STRING
    thrift.structField(1);
    thrift.endStruct();
    thrift.endStruct();
  } else if (type === 'timestamp') {
    thrift.i32Field(6, ConvertedType.TIMESTAMP_MILLIS);
    thrift.structField(10); // LogicalType union: TIMESTAMP
    thrift.structField(8);
    thrift.boolField(1, false); // isAdjustedToUTC
    thrift.structField(2); // TimeUnit union: MILLIS
    thrift.structField(1);
    thrift.endStruct();
    thrift.endStruct();
    thrift.endStruct();
    thrift.endStruct();
  }
  thrift.endStruct();
}

/** Min/max as PLAIN bytes (no length prefix for strings), null count, and whether min/max are exact. */
export interface ColumnStatistics {
  nullCount: number;
  min?: Uint8Array;
  max?: Uint8Array;
  minExact: boolean;
  maxExact: boolean;
  /**
   * Also write the deprecated `min`/`max` fields: right for signed numbers (the only order they
   * knew), read by older engines; never for strings.
   */
  legacyMinMax: boolean;
}

function writeStatistics(thrift: CompactWriter, id: number, statistics: ColumnStatistics): void {
  thrift.structField(id);
  const { min, max } = statistics;
  const both = min !== undefined && max !== undefined;
  if (both && statistics.legacyMinMax) {
    thrift.binaryField(1, max);
    thrift.binaryField(2, min);
  }
  thrift.i64Field(3, statistics.nullCount);
  if (both) {
    thrift.binaryField(5, max);
    thrift.binaryField(6, min);
    thrift.boolField(7, statistics.maxExact);
    thrift.boolField(8, statistics.minExact);
  }
  thrift.endStruct();
}

export interface PageHeader {
  type: PageType;
  uncompressedSize: number;
  compressedSize: number;
  /** Values in the page: levels (nulls and empty lists included) for data pages, entries for a dictionary. */
  valueCount: number;
  encoding: Encoding;
}

/**
 * Appends a page header to `thrift`'s buffer: a data page (v1: levels RLE-encoded inside the
 * compressed body) or a dictionary page.
 */
export function writePageHeader(thrift: CompactWriter, header: PageHeader): void {
  thrift.beginStruct();
  thrift.i32Field(1, header.type);
  thrift.i32Field(2, header.uncompressedSize);
  thrift.i32Field(3, header.compressedSize);
  if (header.type === PageType.DATA_PAGE) {
    thrift.structField(5);
    thrift.i32Field(1, header.valueCount);
    thrift.i32Field(2, header.encoding);
    thrift.i32Field(3, Encoding.RLE); // definition levels
    thrift.i32Field(4, Encoding.RLE); // repetition levels
    thrift.endStruct();
  } else {
    thrift.structField(7);
    thrift.i32Field(1, header.valueCount);
    thrift.i32Field(2, header.encoding);
    thrift.endStruct();
  }
  thrift.endStruct();
}

/** What the footer records of one column chunk; offsets are the file's. */
export interface ColumnChunkMetadata {
  column: LeafColumn;
  encodings: Encoding[];
  /** Pages by type and encoding: `[pageType, encoding, count]`. */
  pageEncodings: Array<[PageType, Encoding, number]>;
  valueCount: number;
  uncompressedBytes: number;
  compressedBytes: number;
  dataPageOffset: number;
  dictionaryPageOffset?: number;
  statistics: ColumnStatistics;
}

export interface RowGroupMetadata {
  rows: number;
  columns: ColumnChunkMetadata[];
  fileOffset: number;
}

export interface FileMetadata {
  table: TableDefinition;
  rows: number;
  rowGroups: RowGroupMetadata[];
  createdBy: string;
}

/** The footer: FileMetaData in the compact protocol. */
export function fileMetadataBytes(metadata: FileMetadata): Buffer {
  const thrift = new CompactWriter();
  thrift.beginStruct();
  thrift.i32Field(1, 1); // version
  writeSchema(thrift, metadata.table);
  thrift.i64Field(3, metadata.rows);
  thrift.listField(4, ThriftType.STRUCT, metadata.rowGroups.length);
  metadata.rowGroups.forEach((rowGroup, ordinal) => {
    thrift.beginStruct();
    thrift.listField(1, ThriftType.STRUCT, rowGroup.columns.length);
    let uncompressed = 0;
    let compressed = 0;
    for (const chunk of rowGroup.columns) {
      uncompressed += chunk.uncompressedBytes;
      compressed += chunk.compressedBytes;
      writeColumnChunk(thrift, chunk);
    }
    thrift.i64Field(2, uncompressed);
    thrift.i64Field(3, rowGroup.rows);
    thrift.i64Field(5, rowGroup.fileOffset);
    thrift.i64Field(6, compressed);
    if (ordinal <= 0x7fff) thrift.i16Field(7, ordinal);
    thrift.endStruct();
  });
  thrift.stringField(6, metadata.createdBy);
  // TypeDefinedOrder for every leaf: min/max of strings are by unsigned bytes, numbers signed.
  const leaves = leafColumns(metadata.table).length;
  thrift.listField(7, ThriftType.STRUCT, leaves);
  for (let leaf = 0; leaf < leaves; leaf++) {
    thrift.beginStruct();
    thrift.structField(1);
    thrift.endStruct();
    thrift.endStruct();
  }
  thrift.endStruct();
  return thrift.out.copy();
}

function writeColumnChunk(thrift: CompactWriter, chunk: ColumnChunkMetadata): void {
  const start = chunk.dictionaryPageOffset ?? chunk.dataPageOffset;
  thrift.beginStruct();
  thrift.i64Field(2, start); // file_offset: deprecated; the chunk's start, as other writers set it
  thrift.structField(3);
  thrift.i32Field(1, chunk.column.physicalType);
  thrift.listField(2, ThriftType.I32, chunk.encodings.length);
  for (const encoding of chunk.encodings) thrift.i32(encoding);
  thrift.listField(3, ThriftType.BINARY, chunk.column.path.length);
  for (const part of chunk.column.path) thrift.string(part);
  thrift.i32Field(4, CODEC_ZSTD);
  thrift.i64Field(5, chunk.valueCount);
  thrift.i64Field(6, chunk.uncompressedBytes);
  thrift.i64Field(7, chunk.compressedBytes);
  thrift.i64Field(9, chunk.dataPageOffset);
  if (chunk.dictionaryPageOffset !== undefined) thrift.i64Field(11, chunk.dictionaryPageOffset);
  writeStatistics(thrift, 12, chunk.statistics);
  thrift.listField(13, ThriftType.STRUCT, chunk.pageEncodings.length);
  for (const [pageType, encoding, count] of chunk.pageEncodings) {
    thrift.beginStruct();
    thrift.i32Field(1, pageType);
    thrift.i32Field(2, encoding);
    thrift.i32Field(3, count);
    thrift.endStruct();
  }
  thrift.endStruct();
  thrift.endStruct();
}
