/**
 * A worker thread standing in for one Lambda container: it imports the handler module named in
 * its setup (the same file the in-process runner imports) and runs one invocation at a time with
 * the event and a Lambda-like context it is sent. Replies carry the result as JSON (as over the
 * wire) or the thrown error's name and message, and the EMF lines the invocation wrote, which
 * the runner reads for the report. Logs go to this thread's stdout, which Node forwards to the
 * process's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as z from 'zod';
import { collectMetricLines } from '#shared/observability/metrics';
import { toJson } from '../stepfunctions/json';
import type { LocalLambdaContext } from '../stepfunctions/lambda';
import type { ErrorFields, InvokeReply, InvokeRequest } from './protocol';

type Handler = (event: unknown, context: LocalLambdaContext) => Promise<unknown>;

const port = parentPort;
if (port === null) throw new Error('lambda-worker.ts runs only as a worker thread');
const setup = z.object({ module: z.string(), exported: z.string() }).parse(workerData);

const metricLines: string[] = [];
collectMetricLines((line) => metricLines.push(line));

/** Loaded once per worker, as a Lambda container loads its handler once (the cold start). */
const loading: Promise<Handler> = import(setup.module).then((module: Record<string, unknown>) => {
  const handler = module[setup.exported];
  if (typeof handler !== 'function') {
    const error = new Error(`${setup.module} does not export a function '${setup.exported}'`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  return handler as Handler;
});

function errorFields(thrown: unknown): ErrorFields {
  if (thrown instanceof Error)
    return { name: thrown.name || 'Error', message: thrown.message, stack: thrown.stack };
  return { name: 'Error', message: String(thrown) };
}

port.on('message', async (request: InvokeRequest) => {
  const { deadline, ...fields } = request.context;
  const context: LocalLambdaContext = {
    ...fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let reply: InvokeReply;
  try {
    const handler = await loading;
    const result = toJson(await handler(request.event, context));
    reply = { id: request.id, metricLines: metricLines.splice(0), ok: true, result };
  } catch (error) {
    reply = { id: request.id, metricLines: metricLines.splice(0), ok: false, error: errorFields(error) };
  }
  port.postMessage(reply);
});
