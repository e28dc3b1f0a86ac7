import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { toJson } from '../stepfunctions/json';
import type { LambdaHandler, LocalLambdaContext } from '../stepfunctions/lambda';
import type { InvokeReply, InvokeRequest, WorkerSetup } from './protocol';

const WORKER_FILE = join(__dirname, 'lambda-worker.ts');

/** The most workers worth starting on this machine: one per core. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

export interface WorkerPoolOptions extends WorkerSetup {
  /** The most worker threads alive at once (each is one container of the function). */
  size: number;
  /** Variables the workers see (a worker's `process.env` is its own copy). */
  environment: Record<string, string | undefined>;
  /** Receives the EMF lines each invocation wrote, in the order of the replies. */
  onMetricLine: (line: string) => void;
  /**
   * The function's `memorySize` (MB): each worker's JavaScript heap is capped at it, so a runaway
   * invocation dies alone, as a Lambda container over its memory does, instead of the run. Only
   * the heap: Buffers and wasm memory live outside it and are shared by the process, so this is
   * looser than Lambda's limit on the whole container (`npm run bench:transform` measures RSS).
   */
  memoryLimitMb?: number;
}

interface Pending {
  requestId: string;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

interface Container {
  worker: Worker;
  /** The invocation it runs (its message id and caller); undefined while idle. */
  running: (Pending & { id: number }) | undefined;
  /** An uncaught error, kept for the exit that follows it. */
  crash: Error | undefined;
}

/** What Lambda answers when the runtime dies mid-invocation (`Runtime.ExitError`). */
function exitError(requestId: string, reason: string): Error {
  const error = new Error(`RequestId: ${requestId} Error: Runtime exited with error: ${reason}`);
  error.name = 'Runtime.ExitError';
  return error;
}

/**
 * One Lambda function served by worker threads, as Lambda serves it by containers: a worker is
 * started only when an invocation arrives and every worker is busy (so never more than the
 * invocations in flight, which the state machine's Map `MaxConcurrency` bounds) and at most
 * `size` (the cores); each runs one invocation at a time and stays warm for the next. A worker
 * that dies mid-invocation fails that invocation with `Runtime.ExitError`, as Lambda does, and is
 * replaced by the next invocation that needs one. `close` terminates them all.
 */
export class LambdaWorkerPool {
  private readonly containers = new Set<Container>();
  private readonly idle: Container[] = [];
  private readonly queue: { request: Omit<InvokeRequest, 'id'>; pending: Pending }[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`A worker pool needs at least one worker, got ${options.size}`);
    }
  }

  /** Workers alive now (tests, the bench's figures). */
  get workerCount(): number {
    return this.containers.size;
  }

  /** The function as the runner calls it: same event, same context fields, same result or error name. */
  readonly handler: LambdaHandler = (event, context) =>
    new Promise((resolve, reject) => {
      if (this.closed) {
        reject(exitError(context.awsRequestId, 'the local runner is stopping'));
        return;
      }
      const pending: Pending = { requestId: context.awsRequestId, resolve, reject };
      this.queue.push({ request: { event: toJson(event), context: contextFields(context) }, pending });
      this.dispatch();
    });

  /** Terminates every worker; invocations still running or queued fail with `Runtime.ExitError`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { pending } of this.queue.splice(0)) {
      pending.reject(exitError(pending.requestId, 'the local runner is stopping'));
    }
    await Promise.all([...this.containers].map((container) => container.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const container =
        this.idle.pop() ?? (this.containers.size < this.options.size ? this.spawn() : undefined);
      if (container === undefined) return;
      const next = this.queue.shift();
      if (next === undefined) return;
      const id = this.nextId++;
      container.running = { ...next.pending, id };
      container.worker.postMessage({ id, ...next.request } satisfies InvokeRequest);
    }
  }

  private spawn(): Container {
    const setup: WorkerSetup = { module: this.options.module, exported: this.options.exported };
    const worker = new Worker(WORKER_FILE, {
      workerData: setup,
      env: { ...this.options.environment },
      // TypeScript as the CLIs run it (`node --import tsx`), whatever loaded this process.
      execArgv: ['--import', 'tsx'],
      ...(this.options.memoryLimitMb === undefined
        ? {}
        : { resourceLimits: { maxOldGenerationSizeMb: this.options.memoryLimitMb } }),
    });
    const container: Container = { worker, running: undefined, crash: undefined };
    this.containers.add(container);
    worker.on('message', (reply: InvokeReply) => this.settle(container, reply));
    worker.on('error', (error) => {
      container.crash = error;
    });
    worker.once('exit', (code) => {
      this.containers.delete(container);
      const at = this.idle.indexOf(container);
      if (at >= 0) this.idle.splice(at, 1);
      const running = container.running;
      container.running = undefined;
      if (running !== undefined) {
        const reason = container.crash
          ? `${container.crash.name}: ${container.crash.message}`
          : this.closed
            ? 'the local runner is stopping'
            : `exit status ${code}`;
        running.reject(exitError(running.requestId, reason));
      }
      if (!this.closed) this.dispatch();
    });
    return container;
  }

  private settle(container: Container, reply: InvokeReply): void {
    const pending = container.running;
    if (pending?.id !== reply.id) {
      // Not a reply to what it runs: the worker is broken; its exit fails the invocation.
      container.crash = new Error(`answered message ${reply.id} while running ${pending?.id}`);
      void container.worker.terminate();
      return;
    }
    container.running = undefined;
    this.idle.push(container);
    for (const line of reply.metricLines) this.options.onMetricLine(line);
    if (reply.ok) pending.resolve(reply.result);
    else {
      const error = new Error(reply.error.message);
      error.name = reply.error.name;
      if (reply.error.stack !== undefined) error.stack = reply.error.stack;
      pending.reject(error);
    }
    this.dispatch();
  }
}

function contextFields(context: LocalLambdaContext): InvokeRequest['context'] {
  return {
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    deadline: Date.now() + context.getRemainingTimeInMillis(),
  };
}
