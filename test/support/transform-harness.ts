import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceFileId } from '#shared/core/ingest';
import { keys, type TransformResult } from '#shared/core/run-files';
import { cloudfront } from '#shared/datasets/cloudfront/index';
import { transformFile } from '#shared/steps/transform';
import { duckQuery } from './duckdb';
import { localS3, silentLog } from './s3';

export const BUCKET = 'data';

export interface QuarantineRecord {
  file: string;
  line: number;
  reason: string;
  text: string;
}

export interface TransformRun {
  result: TransformResult;
  fileId: string;
  /** The curated rows of every hour the file fed, read back by DuckDB, by time then request id. */
  rows(): Promise<Record<string, unknown>[]>;
  /** The file's row quarantine records (`quarantine/rows/<fileId>.jsonl`), empty when none. */
  quarantine(): Promise<QuarantineRecord[]>;
}

/**
 * The real transform step against a real local S3 (the project's stand-in), with its Parquet read back by an
 * independent reader (DuckDB): what the format, semantics, conformance and fuzz tests run files through.
 */
export async function transformHarness() {
  const s3 = await localS3([BUCKET]);
  const work = mkdtempSync(join(tmpdir(), 'etl-formats-'));

  async function download(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await s3.store.getStream(BUCKET, key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function run(name: string, body: Buffer | string, rowGroupRows = 1_000): Promise<TransformRun> {
    const key = `raw/${name}`;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    await s3.store.put(BUCKET, key, bytes);
    const fileId = sourceFileId(key);
    const result = await transformFile(
      { runId: 'formats', file: { fileId, key, sourceKey: name, size: bytes.length } },
      { dataBucket: BUCKET, rowGroupRows },
      cloudfront,
      s3.store,
      silentLog,
    );
    return {
      result,
      fileId,
      async rows() {
        if (result.hours.length === 0) return [];
        const paths = await Promise.all(
          result.hours.map(async (hour) => {
            const path = join(work, `${fileId}-${hour}.parquet`);
            writeFileSync(path, await download(keys.curated(hour, fileId)));
            return `'${path}'`;
          }),
        );
        return duckQuery(
          `SELECT * FROM read_parquet([${paths.join(', ')}]) ORDER BY request_time, edge_request_id, cs_uri_stem`,
        );
      },
      async quarantine() {
        if ((await s3.store.head(BUCKET, keys.quarantinedRows(fileId))) === undefined) return [];
        return (await download(keys.quarantinedRows(fileId)))
          .toString('utf8')
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as QuarantineRecord);
      },
    };
  }

  return {
    s3,
    run,
    async stop() {
      await s3.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A curated row without the column that names its raw file (differs by file, not by format). */
export function withoutSource(row: Record<string, unknown>): Record<string, unknown> {
  const { source_file: _source, ...rest } = row;
  return rest;
}
