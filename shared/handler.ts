import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { S3ObjectStore } from '#shared/adapters/object-store';
import { AwsClients } from '#shared/aws/clients';
import { config, type EtlConfig } from '#shared/config';
import { EtlError } from '#shared/core/errors';
import { createLogger, type Logger } from '#shared/core/log';
import { keys } from '#shared/core/run-files';

/** The event did not match the handler's schema: a bug in the caller, never worth a retry. */
export class InvalidEventError extends EtlError {}

export interface HandlerContext {
  config: EtlConfig;
  clients: AwsClients;
  log: Logger;
  lambda?: Context;
}

let clients: AwsClients | undefined;

/** Releases the container's clients (local runs and tests end the process cleanly; Lambda never calls it). */
export function disposeHandlerClients(): void {
  clients?.destroy();
  clients = undefined;
}

/** The run an event belongs to, wherever the state machine put it (for log keys and timings). */
const RunKeysSchema = z.object({
  runId: z.string().optional().catch(undefined),
  input: z
    .object({
      runId: z.string().optional().catch(undefined),
      run: z
        .object({ runId: z.string().optional().catch(undefined) })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
  executionName: z.string().optional().catch(undefined),
});

function runIdOf(event: unknown): string | undefined {
  const parsed = RunKeysSchema.safeParse(event);
  if (!parsed.success) return undefined;
  const { runId, input, executionName } = parsed.data;
  return runId ?? input?.runId ?? input?.run?.runId ?? executionName;
}

/**
 * The one handler skeleton: validate the event, build a logger keyed by run id, call the step,
 * log and rethrow failures with their names intact (Step Functions' Retry/Catch match on them).
 * Clients are created once per container, on first use.
 */
export function defineHandler<Schema extends z.ZodType, Output>(
  name: string,
  schema: Schema,
  step: (input: z.infer<Schema>, context: HandlerContext) => Promise<Output>,
) {
  return async (event: unknown, lambda?: Context): Promise<Output> => {
    const settings = config();
    clients ??= new AwsClients(settings.aws);
    const parsed = schema.safeParse(event);
    const runId = runIdOf(event);
    const log = createLogger({
      level: settings.logLevel,
      keys: { function: name, stage: settings.stage, runId },
    });
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`,
      );
      log.error('invalid event', { problems });
      throw new InvalidEventError(`${name}: invalid event: ${problems.join('; ')}`);
    }
    const startedAt = new Date().toISOString();
    try {
      return await step(parsed.data, { config: settings, clients, log, lambda });
    } catch (error) {
      log.error('failed', { error });
      throw error;
    } finally {
      if (runId !== undefined) await recordTiming(clients, settings, runId, name, event, startedAt, log);
    }
  };
}

/**
 * One small S3 object per invocation (`runs/<runId>/timings/…`): the report derives stage
 * durations and history sizes from them. Best effort: a failed write is logged, never fatal.
 */
async function recordTiming(
  awsClients: AwsClients,
  settings: EtlConfig,
  runId: string,
  name: string,
  event: unknown,
  startedAt: string,
  log: Logger,
): Promise<void> {
  const action =
    typeof event === 'object' && event !== null && 'action' in event ? String(event.action) : undefined;
  const timing = { function: name, action, startedAt, finishedAt: new Date().toISOString() };
  const key = `${keys.timingsPrefix(runId)}${name}/${startedAt}-${randomUUID().slice(0, 8)}.json`;
  try {
    await new S3ObjectStore(awsClients.s3).putJson(settings.dataBucket, key, timing);
  } catch (error) {
    log.warn('timing not recorded', { error });
  }
}
