import * as z from 'zod';
import type { ObjectStore } from '#shared/adapters/object-store';
import type { StagingStore } from '#shared/adapters/staging-store';
import { EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { dataKeySchema, HourAggregateSchema, RunIdSchema } from '#shared/core/run-files';

/** The stage step's event: which run, and the aggregate step's result file for one hour. */
export const StageInputSchema = z.object({
  runId: RunIdSchema,
  resultKey: dataKeySchema('runs/'),
});
export type StageInput = z.infer<typeof StageInputSchema>;

export interface StageSettings {
  dataBucket: string;
}

export interface StageResult {
  runId: string;
  hour: string;
  staged: number;
}

/** The result file is not what the aggregate step writes, or belongs to another run or hour. */
export class StageInputError extends EtlError {}

/**
 * Reads one hour's aggregate rows from S3, validates them, and stages them in DynamoDB as the whole
 * of that hour for the run. Staging is keyed by run id and row key, so a retried stage overwrites
 * the same items and never duplicates; items an earlier attempt staged that the hour no longer has
 * are removed.
 */
export async function stageRows(
  input: StageInput,
  settings: StageSettings,
  store: ObjectStore,
  staging: StagingStore,
  log: Logger,
): Promise<StageResult> {
  const parsed = HourAggregateSchema.safeParse(await store.getJson(settings.dataBucket, input.resultKey));
  if (!parsed.success) {
    // Paths and messages, not the file: it holds whole rows.
    const problems = parsed.error.issues
      .slice(0, 10)
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new StageInputError(
      `s3://${settings.dataBucket}/${input.resultKey} is not an aggregate result: ${problems.join('; ')}`,
    );
  }
  const result = parsed.data;
  if (result.runId !== input.runId) {
    throw new StageInputError(`${input.resultKey} belongs to run ${result.runId}, not ${input.runId}`);
  }
  const stray = result.rows.find((row) => row.hour !== result.hour);
  if (stray !== undefined) {
    throw new StageInputError(
      `${input.resultKey} is the result of ${result.hour} but holds a row of ${stray.hour}`,
    );
  }
  const put = await staging.replaceHour(input.runId, result.hour, result.rows);
  log.info('stage: rows staged', {
    hour: result.hour,
    resultKey: input.resultKey,
    staged: put.staged,
    calls: put.calls,
    retries: put.retries,
  });
  return { runId: input.runId, hour: result.hour, staged: put.staged };
}
