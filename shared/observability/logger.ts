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
  const base = new PowertoolsLogger({
    serviceName: LOG_SERVICE,
    logLevel: options.level.toUpperCase() as Uppercase<LogLevel>,
    persistentKeys: options.keys,
    jsonReplacerFn: maskSecrets,
  });
  return {
    /**
     * The logger of one invocation: the Lambda context (request id, cold start) and the run's
     * keys captured now, on a child of its own, so concurrent invocations in one process (the
     * local runner) never swap request ids.
     */
    forInvocation(lambda: Context | undefined, keys: Record<string, unknown>): Logger {
      if (lambda !== undefined) base.addContext(lambda);
      const child = base.createChild();
      return wrap(child, withoutUndefined(keys));
    },
  };
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
