/**
 * A definition the runner refuses: invalid ASL, or ASL that aws-local-stepfunctions would accept
 * and silently run differently from the service (JSONata fields, variables, Distributed Map
 * readers), or that names a Lambda function or state machine the runner was not given.
 */
export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionError';
  }
}

/**
 * An error raised inside a state. aws-local-stepfunctions matches `Retry`/`Catch` on `name` and
 * reports `message` as the cause; it reads `isRetryable`/`isCatchable` (default true), which lets
 * `States.Runtime` stay uncatchable as in the service.
 */
export class StatesError extends Error {
  readonly isRetryable: boolean;
  readonly isCatchable: boolean;

  constructor(name: string, cause: string, options: { retryable?: boolean; catchable?: boolean } = {}) {
    super(cause);
    this.name = name;
    this.isRetryable = options.retryable ?? true;
    this.isCatchable = options.catchable ?? true;
  }
}

/** `States.Runtime`: neither retried nor caught, the execution fails (as in the service). */
export function statesRuntimeError(cause: string): StatesError {
  return new StatesError('States.Runtime', cause, { retryable: false, catchable: false });
}

/**
 * What a Lambda handler threw, as the state sees it: the error's `name` becomes the state error
 * (so `Lambda.TooManyRequestsException` or `AthenaQueryFailedError` match `ErrorEquals`) and its
 * message the cause. The original is not chained: the library would report an Error-valued
 * `cause` instead of the message. (The service's cause is the JSON `{errorType, errorMessage,
 * trace}`; the plain message is what this runner promises.)
 */
export function taskErrorFrom(thrown: unknown): StatesError {
  if (thrown instanceof StatesError) return thrown;
  if (thrown instanceof Error) return new StatesError(thrown.name || 'Error', thrown.message);
  return new StatesError('Error', String(thrown));
}
