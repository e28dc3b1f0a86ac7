/**
 * Where the transform's time goes: the same input read through the pipeline's stages one more at a
 * time (gunzip; + lines; + parse; + column building; + Arrow batches; + Parquet), each stage's
 * share being the difference to the one before. `npx tsx bench/transform/profile.ts <input.gz>`
 * (the input `npm run bench:transform` generated under .local/bench/transform/).
 */
import { createReadStream } from 'node:fs';
import { decompressed, textLines } from '#shared/core/lines';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';
import { DEFAULT_ROW_GROUP_ROWS, ParquetStreamWriter } from '#shared/parquet/parquet-writer';

type Stage = 'gunzip' | 'lines' | 'parse' | 'append' | 'arrow' | 'parquet';
const STAGES: Stage[] = ['gunzip', 'lines', 'parse', 'append', 'arrow', 'parquet'];

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
  let builder = new RecordBatchBuilder(cloudfront.table);
  const writer = level >= 5 ? new ParquetStreamWriter() : undefined;
  const drained = writer
    ? (async () => {
        for await (const _ of writer.output) void _;
      })()
    : undefined;
  for await (const line of textLines(decompressed(source))) {
    if (level < 2) {
      rows++;
      continue;
    }
    const result = parser.parse(line);
    if (result.kind !== 'row') continue;
    rows++;
    if (level < 3) continue;
    builder.append(result.values);
    if (builder.length >= DEFAULT_ROW_GROUP_ROWS) {
      if (level === 3) builder = new RecordBatchBuilder(cloudfront.table);
      else {
        const batch = builder.flush();
        if (writer) await writer.write(batch);
      }
    }
  }
  if (writer) {
    await writer.write(builder.flush());
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
