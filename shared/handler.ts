import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { destroyContainerClients } from '#shared/aws/container-clients';
import { config, type EtlConfig } from '#shared/config';
import { EtlError } from '#shared/core/errors';
import type { Logger } from '#shared/core/log';
import { createFunctionLogger } from '#shared/observability/logger';
import { publishInvocationMetrics, type StepMetricValues } from '#shared/observability/metrics';

/** The event did not match the handler's schema: a bug in the caller, never worth a retry. */
export class InvalidEventError extends EtlError {}

export interface HandlerContext {
  config: EtlConfig;
  log: Logger;
  lambda?: Context;
}

/** Releases the container's clients (local runs and tests end the process cleanly; Lambda never calls it). */
export function disposeHandlerClients(): void {
  destroyContainerClients();
}

/** The run and action an event belongs to, wherever the state machine put them (for log keys and metrics). */
const RunKeysSchema = z.object({
  runId: z.string().optional().catch(undefined),
  action: z.string().optional().catch(undefined),
  batchId: z.string().optional().catch(undefined),
  hour: z.string().optional().catch(undefined),
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

function runKeysOf(event: unknown): { runId?: string; action?: string; batchId?: string; hour?: string } {
  const parsed = RunKeysSchema.safeParse(event);
  if (!parsed.success) return {};
  const { runId, action, batchId, hour, input, executionName } = parsed.data;
  return { runId: runId ?? input?.runId ?? input?.run?.runId ?? executionName, action, batchId, hour };
}

/**
 * The one handler skeleton: validate the event, log through a logger keyed by request id and run
 * id, call the step, log and rethrow failures with their names intact (Step Functions'
 * Retry/Catch match on them), and write the invocation's metrics (duration, and what `metrics`
 * reads from the step's result) as one EMF line: no API call, no S3 object per invocation.
 */
export function defineHandler<Schema extends z.ZodType, Output>(
  name: string,
  schema: Schema,
  step: (input: z.infer<Schema>, context: HandlerContext) => Promise<Output>,
  options: {
    metrics?: (output: Output) => StepMetricValues;
    /**
     * Closes what the handler keeps open between invocations (pooled connections) after each
     * invocation under `sls invoke local`, which waits for the event loop to empty: idle
     * connections would keep the process alive after the result is printed.
     */
    closeWhenInvokedLocally?: () => Promise<void>;
  } = {},
) {
  let logger: ReturnType<typeof createFunctionLogger> | undefined;
  return async (event: unknown, lambda?: Context): Promise<Output> => {
    const startedAt = new Date();
    const settings = config();
    logger ??= createFunctionLogger({ level: settings.logLevel, keys: { stage: settings.stage } });
    const { runId, action, batchId, hour } = runKeysOf(event);
    const log = logger.forInvocation(lambda, { function: name, action, runId });
    let values: StepMetricValues = {};
    try {
      const parsed = schema.safeParse(event);
      if (!parsed.success) {
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`,
        );
        log.error('invalid event', { problems });
        throw new InvalidEventError(`${name}: invalid event: ${problems.join('; ')}`);
      }
      const output = await step(parsed.data, { config: settings, log, lambda });
      values = options.metrics?.(output) ?? {};
      return output;
    } catch (error) {
      if (!(error instanceof InvalidEventError)) log.error('failed', { error });
      throw error;
    } finally {
      publishInvocationMetrics(
        { stage: settings.stage, functionName: name, action, runId, batchId, hour },
        { startedAt, finishedAt: new Date() },
        values,
      );
      if (settings.invokedLocally) await options.closeWhenInvokedLocally?.();
    }
  };
}
