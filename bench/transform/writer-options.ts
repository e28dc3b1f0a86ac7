/**
 * The Parquet writer's share, by its settings: the first rows of the bench input are parsed into
 * Arrow batches once, then encoded by parquet-wasm with each variant, timed apart, and the bytes
 * counted. `npx tsx bench/transform/writer-options.ts <input.gz> [rows]`.
 */
import { createReadStream } from 'node:fs';
import { zstdCompressSync } from 'node:zlib';
import { type RecordBatch, Table, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { decompressed, lineBlocks } from '#shared/core/lines';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { readsBytes } from '#shared/datasets/dataset';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';

const HIGH_CARDINALITY = [
  'edge_request_id',
  'client_ip',
  'client_port',
  'cs_uri_query',
  'cs_cookie',
  'forwarded_for',
];

async function batchesOf(input: string, rows: number): Promise<RecordBatch[]> {
  const parser = cloudfront.createParser('writer-options');
  if (!readsBytes(parser)) throw new Error('no byte path');
  const builder = new RecordBatchBuilder(cloudfront.table);
  const batches: RecordBatch[] = [];
  let count = 0;
  for await (const block of lineBlocks(decompressed(createReadStream(input)))) {
    let position = 0;
    while (position < block.bytes.length && count < rows) {
      let end = block.bytes.indexOf(10, position);
      if (end < 0) end = block.bytes.length;
      const result = parser.parseBytes(block.bytes, position, end);
      if (result.kind === 'pending') {
        parser.appendPending(builder);
        count++;
        if (builder.length === 64_000) batches.push(builder.flush());
      }
      position = end + 1;
    }
    if (count >= rows) break;
  }
  if (builder.length > 0) batches.push(builder.flush());
  return batches;
}

function time(
  label: string,
  batches: RecordBatch[],
  build: (b: parquet.WriterPropertiesBuilder) => parquet.WriterPropertiesBuilder,
) {
  const started = performance.now();
  let ipcMs = 0;
  let bytes = 0;
  for (const batch of batches) {
    const ipcStarted = performance.now();
    const table = parquet.Table.fromIPCStream(tableToIPC(new Table(batch), 'stream'));
    ipcMs += performance.now() - ipcStarted;
    const properties = build(
      new parquet.WriterPropertiesBuilder()
        .setCompression(parquet.Compression.ZSTD)
        .setMaxRowGroupSize(64_000),
    ).build();
    bytes += parquet.writeParquet(table, properties).length;
  }
  const ms = performance.now() - started;
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms (IPC in ${ipcMs.toFixed(0)} ms)  ${(bytes / 1048576).toFixed(1)} MiB`,
  );
}

async function main(): Promise<void> {
  const input = process.argv[2];
  const rows = Number(process.argv[3] ?? 320_000);
  if (input === undefined) throw new Error('usage: writer-options.ts <input.gz> [rows]');
  const batches = await batchesOf(input, rows);
  console.log(`${rows} rows in ${batches.length} batches`);
  time('default (dictionary, chunk+page statistics)', batches, (b) => b);
  time('statistics none', batches, (b) => b.setStatisticsEnabled(parquet.EnabledStatistics.None));
  time('statistics chunk', batches, (b) => b.setStatisticsEnabled(parquet.EnabledStatistics.Chunk));
  time('statistics only on request_time + numbers', batches, (b) => {
    let builder = b.setStatisticsEnabled(parquet.EnabledStatistics.None);
    for (const column of cloudfront.table.columns) {
      if (column.type !== 'string' && column.type !== 'array<string>') {
        builder = builder.setColumnStatisticsEnabled(column.name, parquet.EnabledStatistics.Chunk);
      }
    }
    return builder;
  });
  time('dictionary off', batches, (b) => b.setDictionaryEnabled(false));
  let perColumn = (b: parquet.WriterPropertiesBuilder) =>
    b.setStatisticsEnabled(parquet.EnabledStatistics.Chunk);
  for (const name of HIGH_CARDINALITY) {
    const previous = perColumn;
    perColumn = (b) => previous(b).setColumnDictionaryEnabled(name, false);
  }
  time('dictionary off for high-cardinality, chunk st.', batches, perColumn);
  // Lower bound for a PLAIN + zstd writer: the column buffers themselves through native zstd.
  const started = performance.now();
  let bytes = 0;
  for (const batch of batches) {
    for (const child of batch.data.children) {
      for (const buffer of [child.values, child.valueOffsets, child.nullBitmap]) {
        if (buffer && buffer.byteLength > 0) bytes += zstdCompressSync(buffer).length;
      }
      for (const grandchild of child.children)
        if (grandchild.values) bytes += zstdCompressSync(grandchild.values).length;
    }
  }
  console.log(
    `${'native zstd of the column buffers (bound)'.padEnd(44)} ${(performance.now() - started).toFixed(0).padStart(6)} ms  ${(bytes / 1048576).toFixed(1)} MiB`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
