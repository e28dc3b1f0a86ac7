/**
 * Where the transform's time goes: the same input read through the pipeline's stages one more at a
 * time (gunzip; + line blocks; + parse the bytes; + append to the column buffers; + Parquet), each
 * stage's share being the difference to the one before. The stages are the transform's own byte
 * path (`lineBlocks`, `parseBytes`, `appendPending`, `ParquetStreamWriter`), without the hour
 * routing and the upload. `npx tsx bench/transform/profile.ts <input.gz>` (the input
 * `npm run bench:transform` generated under .local/bench/transform/).
 */
import { createReadStream } from 'node:fs';
import { decompressed, lineBlocks } from '#shared/core/lines';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { readsBytes } from '#shared/datasets/dataset';
import { ColumnBatchBuilder } from '#shared/parquet/column-batch';
import { DEFAULT_ROW_GROUP_ROWS, ParquetStreamWriter } from '#shared/parquet/parquet-writer';

type Stage = 'gunzip' | 'lines' | 'parse' | 'columns' | 'parquet';
const STAGES: Stage[] = ['gunzip', 'lines', 'parse', 'columns', 'parquet'];
/** The transform's byte bound per batch (`DEFAULT_OUTPUT_LIMITS.rowGroupBytes`). */
const BATCH_BYTES = 6 * 1024 * 1024;

async function run(input: string, upTo: Stage): Promise<{ ms: number; rows: number }> {
  const level = STAGES.indexOf(upTo);
  const started = performance.now();
  const source = createReadStream(input, { highWaterMark: 64 * 1024 });
  let rows = 0;
  if (level === 0) {
    for await (const chunk of decompressed(source)) rows += chunk.length > 0 ? 0 : 0;
    return { ms: performance.now() - started, rows };
  }
  const parser = cloudfront.createParser('profile');
  if (!readsBytes(parser)) throw new Error('the CloudFront parser has no byte path');
  const builder = new ColumnBatchBuilder(cloudfront.table);
  const writer = level >= 4 ? new ParquetStreamWriter(cloudfront.table) : undefined;
  const drained = writer
    ? (async () => {
        for await (const _ of writer.output) void _;
      })()
    : undefined;
  for await (const block of lineBlocks(decompressed(source))) {
    const data = block.bytes;
    let position = 0;
    while (position < data.length) {
      let end = data.indexOf(10, position);
      if (end < 0) end = data.length;
      if (level < 2) rows++;
      else if (parser.parseBytes(data, position, end).kind === 'pending') {
        rows++;
        if (level >= 3) {
          parser.appendPending(builder);
          if (
            builder.length >= DEFAULT_ROW_GROUP_ROWS ||
            ((builder.length & 1023) === 0 && builder.byteSize >= BATCH_BYTES)
          ) {
            if (writer) await writer.write(builder);
            builder.clear();
          }
        }
      }
      position = end + 1;
    }
  }
  if (writer) {
    await writer.write(builder);
    writer.close();
    await drained;
  }
  return { ms: performance.now() - started, rows };
}

async function main(): Promise<void> {
  const input = process.argv[2];
  if (input === undefined) throw new Error('usage: profile.ts <input.gz>');
  let previous = 0;
  for (const stage of STAGES) {
    const { ms, rows } = await run(input, stage);
    console.log(
      `${`+ ${stage}`.padEnd(10)} ${(ms / 1000).toFixed(2).padStart(6)} s cumulative, ${((ms - previous) / 1000).toFixed(2).padStart(6)} s this stage${rows ? `, ${Math.round(rows / (ms / 1000)).toLocaleString('en-US')} rows/s` : ''}`,
    );
    previous = ms;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
