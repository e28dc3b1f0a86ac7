import { Readable } from 'node:stream';
import { type RecordBatch, Table, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';

/** Rows per Parquet row group: bounds the writer's memory and keeps row groups a useful size for scans. */
export const DEFAULT_ROW_GROUP_ROWS = 64_000;

function writerProperties(rowGroupRows: number): parquet.WriterProperties {
  return new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .build();
}

/**
 * A streaming Parquet (zstd) writer: each Arrow record batch handed to `write` becomes a row group
 * as soon as it is written, and `output` is the Parquet file's bytes as a Node stream, so a file
 * of any size passes through in bounded memory (parquet-wasm's `transformParquetStream`).
 */
export class ParquetStreamWriter {
  readonly output: Readable;
  private controller!: ReadableStreamDefaultController<parquet.RecordBatch>;
  private rows = 0;
  private pulled: PromiseWithResolvers<void> = Promise.withResolvers<void>();

  constructor(rowGroupRows = DEFAULT_ROW_GROUP_ROWS) {
    // High-water mark of one batch: `write` waits until the encoder has taken the previous one,
    // so a slow consumer (the S3 upload) slows the parser instead of queueing row groups in memory.
    const batches = new ReadableStream<parquet.RecordBatch>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          this.pulled.resolve();
        },
      },
      { highWaterMark: 1 },
    );
    const transformed = parquet.transformParquetStream(batches, writerProperties(rowGroupRows));
    this.output = Readable.from(
      (async function* () {
        const stream = (await transformed) as AsyncIterable<Uint8Array>;
        for await (const chunk of stream) yield chunk;
      })(),
    );
    // The consumer sees failures through its own reads; without a listener, a destroyed output
    // that nobody is reading at that moment would crash the process with an unhandled 'error'.
    this.output.on('error', () => undefined);
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Queues one batch (one row group); resolves once the encoder is ready for the next. */
  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const ipc = tableToIPC(new Table(batch), 'stream');
    const table = parquet.Table.fromIPCStream(ipc);
    for (const wasmBatch of table.recordBatches()) this.controller.enqueue(wasmBatch);
    this.rows += batch.numRows;
    while ((this.controller.desiredSize ?? 1) <= 0) {
      this.pulled = Promise.withResolvers<void>();
      await this.pulled.promise;
    }
  }

  close(): void {
    this.controller.close();
  }

  /**
   * Abandons the file: ends the batch stream (erroring it would hand the encoder a non-batch,
   * which it rejects as a "Dyn casting error") and destroys the output with `error`, so the
   * consumer (the S3 upload) fails and publishes nothing.
   */
  fail(error: Error): void {
    try {
      this.controller.close();
    } catch {
      // already closed
    }
    this.output.destroy(error);
  }
}

/** Writes whole Arrow batches to one Parquet buffer (small outputs and tests). */
export function writeParquetBuffer(
  batches: RecordBatch[],
  rowGroupRows = DEFAULT_ROW_GROUP_ROWS,
): Uint8Array {
  const ipc = tableToIPC(new Table(batches), 'stream');
  const table = parquet.Table.fromIPCStream(ipc);
  return parquet.writeParquet(table, writerProperties(rowGroupRows));
}
