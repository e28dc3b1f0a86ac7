import { z } from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import { rawKeyFor, type SourceObject, selectWindowFiles, sourceFileId } from '#shared/core/ingest';
import type { Logger } from '#shared/core/log';
import { WindowSchema } from '#shared/core/window';

export const IngestInputSchema = z.object({
  runId: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._:-]+$/, 'runId may hold letters, digits and . _ : - only'),
  window: WindowSchema,
});
export type IngestInput = z.infer<typeof IngestInputSchema>;

export const ManifestFileSchema = z.object({
  fileId: z.string(),
  sourceKey: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
});
export const ManifestSchema = z.object({
  runId: z.string(),
  window: WindowSchema,
  files: z.array(ManifestFileSchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** What ingest returns to the state machine: keys and counts, never the file list (256 KB payload cap). */
export interface IngestOutput {
  runId: string;
  window: IngestInput['window'];
  manifestKey: string;
  files: number;
  bytes: number;
  copied: number;
  alreadyPresent: number;
}

export interface IngestSettings {
  sourceBucket: string;
  sourcePrefix: string;
  dataBucket: string;
  lookbackHours: number;
}

const SOURCE_ETAG = 'source-etag';

export function manifestKeyFor(runId: string): string {
  return `manifests/${runId}/files.json`;
}

/**
 * Copies the window's source files server-side into `raw/` under deterministic keys and writes the
 * run's manifest. A file already copied from the same source version (ETag recorded in the copy's
 * metadata) is not copied again, so a re-run or a retried invocation copies nothing twice.
 */
export async function ingest(
  input: IngestInput,
  settings: IngestSettings,
  store: ObjectStore,
  log: Logger,
): Promise<IngestOutput> {
  const listed: SourceObject[] = [];
  for await (const object of store.list(settings.sourceBucket, settings.sourcePrefix)) listed.push(object);
  const selected = selectWindowFiles(listed, input.window, settings.lookbackHours);
  log.info('ingest: files selected', { listed: listed.length, selected: selected.length });

  let copied = 0;
  const files: Manifest['files'] = [];
  for (const object of selected) {
    const key = rawKeyFor(object.key, settings.sourcePrefix);
    const existing = await store.head(settings.dataBucket, key);
    if (existing?.metadata[SOURCE_ETAG] !== object.etag) {
      await store.copy(
        { bucket: settings.sourceBucket, key: object.key },
        { bucket: settings.dataBucket, key },
        { [SOURCE_ETAG]: object.etag },
      );
      copied++;
    }
    files.push({ fileId: sourceFileId(object.key), sourceKey: object.key, key, size: object.size });
  }

  const manifest: Manifest = { runId: input.runId, window: input.window, files };
  const manifestKey = manifestKeyFor(input.runId);
  await store.putJson(settings.dataBucket, manifestKey, manifest);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  log.info('ingest: manifest written', { manifestKey, files: files.length, copied, bytes });
  return {
    runId: input.runId,
    window: input.window,
    manifestKey,
    files: files.length,
    bytes,
    copied,
    alreadyPresent: files.length - copied,
  };
}
