import { Readable } from 'node:stream';
import type { TableDefinition } from '#shared/datasets/table';
import { ByteWriter } from './byte-writer';
import { type ColumnBatch, NumberColumn, StringListColumn, Utf8Column } from './column-batch';
import { type ChunkOptions, NumberChunkWriter, StringChunkWriter } from './column-chunk';
import {
  type ColumnChunkMetadata,
  fileMetadataBytes,
  leafColumns,
  MAGIC,
  PhysicalType,
  type RowGroupMetadata,
} from './format';
import { PageCompressor } from './zstd';

/** Rows per Parquet row group: bounds the writer's memory and keeps row groups a useful size for scans. */
export const DEFAULT_ROW_GROUP_ROWS = 64_000;

export interface ParquetWriterOptions extends ChunkOptions {
  /** A row group ends at this many rows. */
  rowGroupRows: number;
  /**
   * …or once its column chunks hold this many bytes (compressed pages plus open pages), whichever
   * comes first: what bounds the writer's memory when rows are wide.
   */
  rowGroupBytes: number;
}

export const DEFAULT_WRITER_OPTIONS: ParquetWriterOptions = {
  rowGroupRows: DEFAULT_ROW_GROUP_ROWS,
  rowGroupBytes: 16 * 1024 * 1024,
  // 1 MiB pages and a 1 MiB dictionary bound, as other writers default to (parquet-rs, parquet-mr);
  // at most 32 Ki values a page, which bounds what each column holds for its open page.
  pageBytes: 1024 * 1024,
  pageValues: 32 * 1024,
  dictionaryBytes: 1024 * 1024,
  zstdLevel: 1,
};

/** `created_by` in the footer: "<application> version <version>", the form readers parse. */
const CREATED_BY = 'cf-etl version 1.0.0 (TypeScript Parquet writer)';

type ColumnWriters = Array<NumberChunkWriter | StringChunkWriter>;

/**
 * Column writers between row groups, shared by the encoders of one table: an encoder that pauses
 * leaves its writers here (clean, their buffers grown), and the next encoder to start a row group
 * takes them, instead of each making a set and growing its buffers by doubling again. For
 * encoders that write their row groups one at a time (the transform's interleaved hours: dozens
 * of files, each encoding a row group then pausing), so one spare set serves them all.
 */
export class SpareColumnWriters {
  private spare: ColumnWriters | undefined;

  constructor(readonly table: TableDefinition) {}

  /** The spare set, if there is one (it is then no longer spare). */
  take(): ColumnWriters | undefined {
    const writers = this.spare;
    this.spare = undefined;
    return writers;
  }

  /** Keeps a paused encoder's writers, which hold no rows, for the next encoder. */
  give(writers: ColumnWriters): void {
    this.spare ??= writers;
  }
}

/**
 * Encodes rows of a table into a Parquet file (zstd pages, dictionary-encoded strings, statistics),
 * handing the file's bytes to `emit` in order as each row group completes, then the footer at
 * `finish`. Memory: the current row group's compressed pages, its open pages and dictionaries.
 */
export class ParquetEncoder {
  private readonly options: ParquetWriterOptions;
  /** One per leaf column; made at the first rows, let go when paused or finished. */
  private writers: ColumnWriters | undefined;
  private rowGroups: RowGroupMetadata[] = [];
  private position = 0;
  private groupRows = 0;
  private totalRows = 0;
  private finished = false;

  constructor(
    private readonly table: TableDefinition,
    private readonly emit: (bytes: Buffer) => void,
    options: Partial<ParquetWriterOptions> = {},
    /** Writers shared with other encoders of the table between row groups (same options). */
    private readonly spares?: SpareColumnWriters,
  ) {
    this.options = { ...DEFAULT_WRITER_OPTIONS, ...options };
    if (spares !== undefined && spares.table !== table) throw new Error('spare writers of another table');
  }

  private columnWriters(): ColumnWriters {
    this.writers ??= this.spares?.take();
    if (this.writers === undefined) {
      const body = new ByteWriter(64 * 1024);
      const compressor = PageCompressor.shared(this.options.zstdLevel);
      this.writers = leafColumns(this.table).map((leaf) =>
        leaf.physicalType === PhysicalType.BYTE_ARRAY
          ? new StringChunkWriter(leaf, this.options, body, compressor)
          : new NumberChunkWriter(leaf, this.options, body, compressor),
      );
    }
    return this.writers;
  }

  get rowCount(): number {
    return this.totalRows;
  }

  /** Rows encoded into the row group not yet written out. */
  get openRows(): number {
    return this.groupRows;
  }

  /** Bytes the open row group holds: compressed pages, open pages and dictionaries. */
  get heldBytes(): number {
    return this.bufferedBytes();
  }

  /** Encodes the batch's rows; a row group that fills is written out (through `emit`) at once. */
  append(batch: ColumnBatch): void {
    if (this.finished) throw new Error('Parquet file already finished');
    const writers = this.columnWriters();
    if (batch.columns.length !== writers.length) {
      throw new Error(`batch has ${batch.columns.length} columns, the table ${writers.length}`);
    }
    let from = 0;
    while (from < batch.length) {
      const to = Math.min(batch.length, from + this.options.rowGroupRows - this.groupRows);
      for (let index = 0; index < writers.length; index++) {
        const writer = writers[index]!;
        const column = batch.columns[index]!;
        if (writer instanceof NumberChunkWriter && column instanceof NumberColumn) {
          writer.add(column, from, to);
        } else if (writer instanceof StringChunkWriter && column instanceof Utf8Column) {
          writer.addStrings(column, from, to);
        } else if (writer instanceof StringChunkWriter && column instanceof StringListColumn) {
          writer.addLists(column, from, to);
        } else throw new Error(`column ${index} does not match the table's type`);
      }
      this.groupRows += to - from;
      this.totalRows += to - from;
      from = to;
      if (this.groupRows >= this.options.rowGroupRows || this.bufferedBytes() >= this.options.rowGroupBytes) {
        this.endRowGroup();
      }
    }
  }

  private bufferedBytes(): number {
    let bytes = 0;
    for (const writer of this.writers ?? []) bytes += writer.bufferedBytes;
    return bytes;
  }

  /**
   * Writes the rows encoded so far as a row group (none when there are none): its column chunks,
   * each the dictionary page (if any) then the data pages, in one buffer.
   */
  endRowGroup(): void {
    if (this.groupRows === 0 || this.writers === undefined) return;
    if (this.position === 0) this.write(MAGIC);
    const fileOffset = this.position;
    const chunks = this.writers.map((writer) => writer.finish());
    let size = 0;
    for (const chunk of chunks) size += (chunk.dictionary?.length ?? 0) + chunk.pages.length;
    const bytes = Buffer.allocUnsafeSlow(size);
    const columns: ColumnChunkMetadata[] = [];
    let at = 0;
    for (const chunk of chunks) {
      const start = fileOffset + at;
      if (chunk.dictionary !== undefined) {
        bytes.set(chunk.dictionary, at);
        at += chunk.dictionary.length;
      }
      bytes.set(chunk.pages, at);
      at += chunk.pages.length;
      columns.push({
        ...chunk.metadata,
        dataPageOffset: start + (chunk.dictionary?.length ?? 0),
        ...(chunk.dictionary !== undefined && { dictionaryPageOffset: start }),
      });
    }
    this.write(bytes);
    this.rowGroups.push({ rows: this.groupRows, columns, fileOffset });
    this.groupRows = 0;
  }

  /**
   * Writes the rows so far as a row group and lets the column writers' buffers go, for a file that
   * may get no rows for a while (an hour evicted from the builders): an idle file then costs its
   * row group metadata only. Rows may follow, in a new row group.
   */
  pause(): void {
    this.endRowGroup();
    if (this.writers !== undefined) this.spares?.give(this.writers);
    this.writers = undefined;
  }

  /** Writes the last row group and the footer. */
  finish(): void {
    this.endRowGroup();
    if (this.position === 0) this.write(MAGIC);
    const footer = fileMetadataBytes({
      table: this.table,
      rows: this.totalRows,
      rowGroups: this.rowGroups,
      createdBy: CREATED_BY,
    });
    const length = Buffer.alloc(4);
    length.writeUInt32LE(footer.length);
    this.write(Buffer.concat([footer, length, MAGIC]));
    this.release();
  }

  /**
   * Lets the column writers' buffers and dictionaries go (a finished or abandoned file's writer may
   * stay referenced, as an hour's last segment, until the raw file is done). No more rows after.
   */
  release(): void {
    this.finished = true;
    this.writers = undefined;
    this.rowGroups = [];
  }

  private write(bytes: Buffer): void {
    this.position += bytes.length;
    this.emit(bytes);
  }
}

/**
 * A streaming Parquet (zstd) writer: rows handed to `write` are encoded at once, each row group is
 * written out as soon as it fills, and `output` is the file's bytes as a Node stream, so a file of
 * any size passes through in bounded memory. `write` waits while the consumer (the S3 upload, a
 * spool file) is behind, so a slow consumer slows the parser instead of queueing row groups.
 */
export class ParquetStreamWriter {
  readonly output: Readable;
  private readonly encoder: ParquetEncoder;
  private wanted: PromiseWithResolvers<void> | undefined;
  private ended = false;

  constructor(table: TableDefinition, options: Partial<ParquetWriterOptions> = {}) {
    this.output = new Readable({
      // About one row group may wait for the consumer; `write` then waits for it to read.
      highWaterMark: 1024 * 1024,
      read: () => this.wanted?.resolve(),
      destroy: (error, callback) => {
        this.wanted?.resolve();
        callback(error);
      },
    });
    this.encoder = new ParquetEncoder(table, (bytes) => this.output.push(bytes), options);
    // The consumer sees failures through its own reads; without a listener, a destroyed output
    // that nobody is reading at that moment would crash the process with an unhandled 'error'.
    this.output.on('error', () => undefined);
  }

  get rowCount(): number {
    return this.encoder.rowCount;
  }

  /**
   * Encodes the batch's rows (the caller may reuse the batch's buffers once this returns; a row
   * group may span several batches), then waits until the consumer has taken what was written.
   */
  async write(batch: ColumnBatch): Promise<void> {
    if (this.output.destroyed) throw new Error('Parquet output closed before the file was complete');
    if (batch.length === 0) return;
    this.encoder.append(batch);
    while (this.output.readableLength >= this.output.readableHighWaterMark && !this.output.destroyed) {
      this.wanted = Promise.withResolvers<void>();
      await this.wanted.promise;
    }
  }

  /** Writes the rows so far as a row group and lets the column buffers go (see `ParquetEncoder.pause`). */
  pause(): void {
    if (this.ended || this.output.destroyed) return;
    this.encoder.pause();
  }

  /** Writes the last row group and the footer, and ends the output. */
  close(): void {
    if (this.ended || this.output.destroyed) return;
    this.ended = true;
    this.encoder.finish();
    this.output.push(null);
  }

  /** Abandons the file: destroys the output with `error`, so the consumer fails and publishes nothing. */
  fail(error: Error): void {
    this.ended = true;
    this.encoder.release();
    this.output.destroy(error);
  }
}

/** Writes whole batches to one Parquet file in memory (small outputs and tests). */
export function writeParquetBuffer(
  table: TableDefinition,
  batches: readonly ColumnBatch[],
  options: Partial<ParquetWriterOptions> = {},
): Buffer {
  const parts: Buffer[] = [];
  const encoder = new ParquetEncoder(table, (bytes) => parts.push(bytes), options);
  for (const batch of batches) encoder.append(batch);
  encoder.finish();
  return Buffer.concat(parts);
}
