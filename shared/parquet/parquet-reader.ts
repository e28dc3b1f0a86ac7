/**
 * parquet-wasm compiles its 5 MB WebAssembly module when it is loaded, and apache-arrow is large:
 * both are loaded on the first Parquet input, so a cold start that reads only text logs pays
 * for neither.
 */
let libraries:
  | Promise<{ parquet: typeof import('parquet-wasm'); arrow: typeof import('apache-arrow') }>
  | undefined;
function parquetLibraries() {
  libraries ??= Promise.all([import('parquet-wasm'), import('apache-arrow')]).then(([parquet, arrow]) => ({
    parquet,
    arrow,
  }));
  return libraries;
}

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

/** Rows per batch handed to JavaScript (a row group is decoded whole in WebAssembly memory first). */
const BATCH_ROWS = 8_192;

/** The top-level column names of a Parquet file (its footer only), or an error for a file that is not Parquet. */
export async function parquetColumnNames(bytes: Uint8Array): Promise<string[]> {
  const { parquet, arrow } = await parquetLibraries();
  const schema = arrow.tableFromIPC(parquet.readSchema(bytes).intoIPCStream()).schema;
  return schema.fields.map((field) => field.name);
}

/**
 * Reads a whole Parquet file held in memory as batches of at most `BATCH_ROWS` rows of the chosen
 * columns, one row group decoded at a time (parquet-wasm decodes, apache-arrow gives the values),
 * so memory is bounded by the largest row group, not by the file. A corrupt or truncated file
 * fails with parquet-wasm's error, at the footer or at the row group that cannot be decoded. Row
 * groups are read synchronously: parquet-wasm's async stream was seen to hang on a corrupt page
 * (its panic inside a future never reaches the stream's reader), where the synchronous read of the
 * same file throws.
 */
export async function* readParquetBatches(
  bytes: Uint8Array,
  columns: readonly string[],
): AsyncGenerator<ParquetBatch> {
  if (columns.length === 0) return;
  const { parquet, arrow } = await parquetLibraries();
  const plain = (value: unknown): unknown =>
    value instanceof arrow.Vector ? [...value].map(plain) : (value ?? null);
  const wanted = new Set(columns);
  const file = await parquet.ParquetFile.fromFile(new Blob([bytes]));
  const rowGroups = file.metadata().numRowGroups();
  file.free();
  for (let rowGroup = 0; rowGroup < rowGroups; rowGroup++) {
    // The synchronous reader decodes every column (its `columns` option is not applied there):
    // only the chosen ones are turned into JavaScript values below.
    const decoded = parquet.readParquet(bytes, { rowGroups: [rowGroup], batchSize: BATCH_ROWS });
    for (const batch of arrow.tableFromIPC(decoded.intoIPCStream()).batches) {
      const chosen: ParquetColumn[] = [];
      batch.schema.fields.forEach((field, index) => {
        if (!wanted.has(field.name)) return;
        // One pass over the column (the iterator walks the buffers; `get(row)` seeks per call).
        const values = Array.from(batch.getChildAt(index) ?? [], plain);
        chosen.push({ name: field.name, value: (row: number) => values[row] ?? null });
      });
      yield { numRows: batch.numRows, columns: chosen };
    }
  }
}
