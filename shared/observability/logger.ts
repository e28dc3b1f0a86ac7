import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { type Logger, type LogLevel, maskSecrets } from '#shared/core/log';

/** The `service` key of every line: what on-call searches the functions' log groups by. */
export const LOG_SERVICE = 'cf-etl';

/**
 * One function's logger for the container: Powertools Logger, so lines carry the keys its users
 * search by (`function_request_id`, `cold_start`, `function_name`, `xray_trace_id` when tracing
 * is on) and masked secrets (values under keys that look secret, in any nested object).
 */
export function createFunctionLogger(options: { level: LogLevel; keys: Record<string, unknown> }) {
  const base = new FunctionLogger({
    serviceName: LOG_SERVICE,
    logLevel: options.level.toUpperCase() as Uppercase<LogLevel>,
    persistentKeys: options.keys,
    jsonReplacerFn: maskSecrets,
  });
  return {
    /**
     * The logger of one invocation: the Lambda context under Powertools' own key names, and the
     * run's keys, added to each line rather than stored in the shared logger, so concurrent
     * invocations in one process (the local runner) never swap request ids or cold starts.
     */
    forInvocation(lambda: Context | undefined, keys: Record<string, unknown>): Logger {
      // true for the first invocation of an on-demand container only (Lambda's initialization type).
      const coldStart = base.takeColdStart();
      const context =
        lambda === undefined
          ? {}
          : {
              cold_start: coldStart,
              function_name: lambda.functionName,
              function_request_id: lambda.awsRequestId,
              function_arn: lambda.invokedFunctionArn,
              function_memory_size: lambda.memoryLimitInMB,
              function_version: lambda.functionVersion,
            };
      return wrap(base, withoutUndefined({ ...context, ...keys }));
    },
  };
}

class FunctionLogger extends PowertoolsLogger {
  /** Powertools' cold-start flag: true once, for an on-demand container's first invocation. */
  takeColdStart(): boolean {
    return this.getColdStart();
  }
}

function wrap(logger: PowertoolsLogger, keys: Record<string, unknown>): Logger {
  const extra = (fields: Record<string, unknown> | undefined) => ({ ...keys, ...fields });
  return {
    debug: (message, fields) => logger.debug(message, extra(fields)),
    info: (message, fields) => logger.info(message, extra(fields)),
    warn: (message, fields) => logger.warn(message, extra(fields)),
    error: (message, fields) => logger.error(message, extra(fields)),
    child: (more) => wrap(logger, { ...keys, ...withoutUndefined(more) }),
  };
}

function withoutUndefined(keys: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined));
}
