import { tableFromIPC, Vector } from 'apache-arrow';
import * as parquet from 'parquet-wasm';

/** One column of a batch read from a Parquet file, as plain JavaScript values. */
export interface ParquetColumn {
  readonly name: string;
  /**
   * The value at `row`: string, number (floats, 32-bit ints, timestamps and dates as epoch ms),
   * bigint (64-bit ints), boolean, an array for a list, or null. Other types come as Arrow gives
   * them, for the caller to refuse.
   */
  value(row: number): unknown;
}

export interface ParquetBatch {
  readonly numRows: number;
  readonly columns: readonly ParquetColumn[];
}

/** Rows decoded at a time: bounds the decoded data in memory whatever the file's row groups. */
const BATCH_ROWS = 8_192;

/** The top-level column names of a Parquet file (its footer only), or an error for a file that is not Parquet. */
export function parquetColumnNames(bytes: Uint8Array): string[] {
  const schema = tableFromIPC(parquet.readSchema(bytes).intoIPCStream()).schema;
  return schema.fields.map((field) => field.name);
}

/**
 * Reads a whole Parquet file held in memory as batches of at most `BATCH_ROWS` rows of the chosen
 * columns (parquet-wasm decodes, apache-arrow gives the values). A corrupt or truncated file fails
 * with parquet-wasm's error, at the footer or at the first batch that cannot be decoded.
 */
export async function* readParquetBatches(
  bytes: Uint8Array,
  columns: readonly string[],
): AsyncGenerator<ParquetBatch> {
  if (columns.length === 0) return;
  const file = await parquet.ParquetFile.fromFile(new Blob([bytes]));
  try {
    const stream = (await file.stream({
      batchSize: BATCH_ROWS,
      columns: [...columns],
    })) as ReadableStream<parquet.RecordBatch>;
    for await (const wasmBatch of stream) {
      const table = tableFromIPC(wasmBatch.intoIPCStream());
      yield {
        numRows: table.numRows,
        columns: table.schema.fields.map((field, index) => {
          // One pass over the column (the iterator walks the buffers; `get(row)` seeks per call).
          const values = Array.from(table.getChildAt(index) ?? [], plain);
          return { name: field.name, value: (row: number) => values[row] ?? null };
        }),
      };
    }
  } finally {
    file.free();
  }
}

function plain(value: unknown): unknown {
  if (value instanceof Vector) return [...value].map(plain);
  return value ?? null;
}
