import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { AwsClients } from '#shared/aws/clients';
import { config, type EtlConfig } from '#shared/config';
import { EtlError } from '#shared/core/errors';
import { createLogger, type Logger } from '#shared/core/log';

/** The event did not match the handler's schema: a bug in the caller, never worth a retry. */
export class InvalidEventError extends EtlError {}

export interface HandlerContext {
  config: EtlConfig;
  clients: AwsClients;
  log: Logger;
  lambda?: Context;
}

let clients: AwsClients | undefined;

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
    const runId =
      typeof event === 'object' && event !== null && 'runId' in event ? String(event.runId) : undefined;
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
    try {
      return await step(parsed.data, { config: settings, clients, log, lambda });
    } catch (error) {
      log.error('failed', { error });
      throw error;
    }
  };
}
