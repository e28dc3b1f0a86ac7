import type { LambdaHandler } from './lambda';

/**
 * Lambda throttling as the service answers it: `Lambda.TooManyRequestsException` (429 Rate
 * Exceeded) before the handler runs. The state machines' Retry must absorb bursts of it; the local
 * runner injects them on the functions `npm run faults` names.
 */
export class LambdaFaults {
  private readonly pending = new Map<string, number>();
  /** Throttles answered so far, per function name. */
  readonly answered = new Map<string, number>();

  /** The next `times` invocations of `functionName` are throttled. */
  throttle(functionName: string, times: number): void {
    this.pending.set(functionName, (this.pending.get(functionName) ?? 0) + times);
  }

  /** `handler`, throttled while throttles are pending for `functionName`. */
  wrap(functionName: string, handler: LambdaHandler): LambdaHandler {
    return async (event, context) => {
      const pending = this.pending.get(functionName) ?? 0;
      if (pending > 0) {
        this.pending.set(functionName, pending - 1);
        this.answered.set(functionName, (this.answered.get(functionName) ?? 0) + 1);
        const error = new Error('Rate Exceeded.');
        error.name = 'Lambda.TooManyRequestsException';
        throw error;
      }
      return handler(event, context);
    };
  }
}
