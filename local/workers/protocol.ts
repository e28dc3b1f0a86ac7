import type { Json } from '../stepfunctions/json';
import type { LocalLambdaContext } from '../stepfunctions/lambda';

/** What a worker is started with: the one function it serves, like a Lambda container. */
export interface WorkerSetup {
  /** Absolute path of the handler module (the same file the in-process runner imports). */
  module: string;
  /** The handler's export name (`handler` in `functions/transform/handler.handler`). */
  exported: string;
}

/** The context fields that travel; `getRemainingTimeInMillis` is rebuilt from `deadline`. */
export type ContextFields = Omit<
  LocalLambdaContext,
  'callbackWaitsForEmptyEventLoop' | 'getRemainingTimeInMillis'
> & {
  /** Epoch ms at which the invocation's time runs out. */
  deadline: number;
};

export interface InvokeRequest {
  id: number;
  event: Json;
  context: ContextFields;
}

/** A thrown error, by the parts Step Functions reads: `name` (matched by Retry/Catch) and `message`. */
export interface ErrorFields {
  name: string;
  message: string;
  stack?: string;
}

/** One invocation's answer, with the EMF lines the handler wrote while it ran. */
export type InvokeReply = { id: number; metricLines: string[] } & (
  | { ok: true; result: Json }
  | { ok: false; error: ErrorFields }
);
