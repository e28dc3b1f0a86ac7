import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as z from 'zod';
import { writeSampleDirectory } from '#local/sample/index';
import { sourceFileId } from '#shared/core/ingest';
import { AggregateInputSchema } from '#shared/steps/aggregate';
import { IngestInputSchema } from '#shared/steps/ingest';
import { StageInputSchema } from '#shared/steps/stage';
import { EventSchema as SyncExtractEventSchema } from '../../functions/sync-extract/handler';
import { EventSchema as SyncWriteEventSchema } from '../../functions/sync-write/handler';
import { EventSchema as TransformEventSchema } from '../../functions/transform/handler';
import { EventSchema as WriteEventSchema } from '../../functions/write/handler';

const EVENTS = join(__dirname, '..', '..', 'events');
const event = (name: string): unknown => JSON.parse(readFileSync(join(EVENTS, name), 'utf8'));

/** The function each sample event is for, as events/README.md lists them. */
const SCHEMAS: Record<string, z.ZodType> = {
  'ingest.json': IngestInputSchema,
  'transform-batch.json': TransformEventSchema,
  'transform.json': TransformEventSchema,
  'aggregate-hours.json': AggregateInputSchema,
  'aggregate.json': AggregateInputSchema,
  'stage.json': StageInputSchema,
  'write.json': WriteEventSchema,
  'write-report.json': WriteEventSchema,
  'sync-plan.json': SyncExtractEventSchema,
  'sync-extract.json': SyncExtractEventSchema,
  'sync-write.json': SyncWriteEventSchema,
};

describe('sample events for sls invoke local', () => {
  it('has one valid event per documented step, and no other', () => {
    const files = readdirSync(EVENTS).filter((name) => name.endsWith('.json'));
    expect(files.sort()).toEqual(Object.keys(SCHEMAS).sort());
    const readme = readFileSync(join(EVENTS, 'README.md'), 'utf8');
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      expect(readme).toContain(`\`${name}\``);
      const parsed = schema.safeParse(event(name));
      expect({ name, issues: parsed.error?.issues }).toEqual({ name, issues: undefined });
    }
  });

  it('transforms a file that `npm run local:seed` writes with its defaults, under the id ingest gives it', () => {
    const directory = mkdtempSync(join(tmpdir(), 'etl-events-'));
    try {
      // local:seed's defaults (local/cli/seed.ts).
      writeSampleDirectory(directory, { seed: 20240713, day: '2024-07-13', filesPerHour: 2 });
      const { file } = event('transform.json') as {
        file: { fileId: string; sourceKey: string; key: string; size: number };
      };
      expect(statSync(join(directory, file.sourceKey)).size).toBe(file.size);
      expect(file.key).toBe(`raw/${file.sourceKey}`);
      expect(file.fileId).toBe(sourceFileId(file.sourceKey));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
