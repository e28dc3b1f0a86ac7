/**
 * The Parquet writer's share, by writer and setting: the first rows of the bench input are parsed
 * once into column batches cut as the transform cuts them (64,000 rows or 6 MiB), then encoded by
 * each variant — the TypeScript writer (`shared/parquet/parquet-writer.ts`) with its settings, and
 * parquet-wasm as the transform used it before (Arrow batches, IPC, WebAssembly) — timed apart and
 * the bytes counted. A warm-up pass, then two passes in opposite orders, both printed (the machine
 * is noisy).
 * `npx tsx bench/transform/writer-options.ts <input.gz> [rows]`.
 */
import { createReadStream } from 'node:fs';
import { Table, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { decompressed, lineBlocks } from '#shared/core/lines';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { readsBytes } from '#shared/datasets/dataset';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';
import { type ParquetWriterOptions, writeParquetBuffer } from '#shared/parquet/parquet-writer';

/** The transform's bounds on a batch (`DEFAULT_OUTPUT_LIMITS`). */
const BATCH_ROWS = 64_000;
const BATCH_BYTES = 6 * 1024 * 1024;

async function batchesOf(input: string, rows: number): Promise<RecordBatchBuilder[]> {
  const parser = cloudfront.createParser('writer-options');
  if (!readsBytes(parser)) throw new Error('no byte path');
  const batches = [new RecordBatchBuilder(cloudfront.table)];
  let count = 0;
  for await (const block of lineBlocks(decompressed(createReadStream(input)))) {
    let position = 0;
    while (position < block.bytes.length && count < rows) {
      let end = block.bytes.indexOf(10, position);
      if (end < 0) end = block.bytes.length;
      if (parser.parseBytes(block.bytes, position, end).kind === 'pending') {
        let builder = batches.at(-1)!;
        if (builder.length >= BATCH_ROWS || (builder.length > 0 && builder.byteSize >= BATCH_BYTES)) {
          builder = new RecordBatchBuilder(cloudfront.table);
          batches.push(builder);
        }
        parser.appendPending(builder);
        count++;
      }
      position = end + 1;
    }
    if (count >= rows) break;
  }
  return batches;
}

type Variant = { label: string; run: (batches: RecordBatchBuilder[]) => number };

const ours = (label: string, options: Partial<ParquetWriterOptions> = {}): Variant => ({
  label,
  run: (batches) => writeParquetBuffer(cloudfront.table, batches, options).length,
});

const wasm: Variant = {
  label: 'parquet-wasm 0.8.0 (before), incl. Arrow + IPC',
  run: (batches) => {
    const properties = new parquet.WriterPropertiesBuilder()
      .setCompression(parquet.Compression.ZSTD)
      .setMaxRowGroupSize(BATCH_ROWS)
      .build();
    const table = new Table(batches.map((builder) => builder.toRecordBatch()));
    return parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(table, 'stream')), properties).length;
  },
};

async function main(): Promise<void> {
  const input = process.argv[2];
  const rows = Number(process.argv[3] ?? 256_000);
  if (input === undefined) throw new Error('usage: writer-options.ts <input.gz> [rows]');
  const batches = await batchesOf(input, rows);
  console.log(`${rows} rows in ${batches.length} batches`);
  const variants: Variant[] = [
    wasm,
    ours('TypeScript writer (defaults)'),
    ours('  zstd level 3 (instead of 1)', { zstdLevel: 3 }),
    // Not -1: Node keeps zstd's parameters as unsigned 32-bit numbers, where -1 means "unset", so
    // level -1 runs zstd's default level 3. -2 is the fastest negative level Node can pass.
    ours('  zstd level -2', { zstdLevel: -2 }),
    ours('  pages of 8 Ki values (instead of 32 Ki)', { pageValues: 8 * 1024 }),
    ours('  pages of 128 Ki values', { pageValues: 128 * 1024 }),
    ours('  no dictionary (PLAIN strings)', { dictionaryBytes: 0 }),
  ];
  // A first pass unprinted: the JIT's warm-up is not a writer's cost per row.
  for (const variant of variants) variant.run(batches);
  const results = new Map<string, string[]>();
  for (let pass = 0; pass < 2; pass++) {
    for (const variant of pass === 0 ? variants : [...variants].reverse()) {
      const started = performance.now();
      const bytes = variant.run(batches);
      const ms = performance.now() - started;
      const seen = results.get(variant.label) ?? [];
      seen.push(`${ms.toFixed(0).padStart(5)} ms`);
      results.set(variant.label, seen);
      if (pass === 1) {
        console.log(`${variant.label.padEnd(56)} ${seen.join(' / ')}  ${(bytes / 1048576).toFixed(2)} MiB`);
      }
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
