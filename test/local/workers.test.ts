import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { type LocalLambdaContext, LocalStepFunctions, lambdaFunctionArn } from '#local/stepfunctions/index';
import { LambdaWorkerPool } from '#local/workers/pool';

const HANDLERS = resolve(__dirname, '..', 'fixtures', 'workers', 'handlers.ts');
const REGION = 'eu-west-1';

function context(requestId: string): LocalLambdaContext {
  return {
    functionName: 'fixture',
    functionVersion: '$LATEST',
    invokedFunctionArn: lambdaFunctionArn(REGION, 'fixture'),
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/fixture',
    logStreamName: `local/${requestId}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
  };
}

describe('LambdaWorkerPool: a handler module served by worker threads as by Lambda containers', () => {
  const pools: LambdaWorkerPool[] = [];
  const work = mkdtempSync(join(tmpdir(), 'etl-workers-'));
  const pool = (exported: string, size = 2, onMetricLine: (line: string) => void = () => {}) => {
    const created = new LambdaWorkerPool({ module: HANDLERS, exported, size, environment: {}, onMetricLine });
    pools.push(created);
    return created;
  };

  afterAll(async () => {
    await Promise.all(pools.map((created) => created.close()));
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the handler in another thread with the same event, a Lambda-like context and a JSON result, and hands back its EMF lines', async () => {
    const lines: string[] = [];
    const echo = pool('echo', 2, (line) => lines.push(line));
    const result = (await echo.handler({ action: 'file', n: 1 }, context('req-1'))) as Record<
      string,
      unknown
    >;
    expect(result).toEqual({
      event: { action: 'file', n: 1 },
      functionName: 'fixture',
      requestId: 'req-1',
      remainingMs: expect.any(Number),
      threadId: expect.any(Number),
      at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(result.threadId).not.toBe(threadId);
    expect(result.remainingMs).toBeGreaterThan(50_000);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toEqual(expect.objectContaining({ runId: 'run-1', rowsRead: 3 }));
  }, 60_000);

  it('rejects with the error name and message the handler threw, so Retry/Catch match as in-process', async () => {
    const fails = pool('fails');
    await expect(fails.handler({}, context('req-2'))).rejects.toMatchObject({
      name: 'AthenaQueryFailedError',
      message: 'query 42 failed: SYNTAX_ERROR',
    });
    // The worker survives a thrown error (Lambda keeps the container) and serves the next one.
    await expect(fails.handler({}, context('req-3'))).rejects.toMatchObject({
      name: 'AthenaQueryFailedError',
    });
    expect(fails.workerCount).toBe(1);
  }, 60_000);

  it('turns a worker that exits mid-invocation into Runtime.ExitError and starts a fresh one for the next invocation', async () => {
    const crashOnce = pool('crashOnce');
    const marker = join(work, 'crash-direct');
    await expect(crashOnce.handler({ marker }, context('req-4'))).rejects.toMatchObject({
      name: 'Runtime.ExitError',
      message: 'RequestId: req-4 Error: Runtime exited with error: exit status 7',
    });
    await expect(crashOnce.handler({ marker }, context('req-5'))).resolves.toBe('recovered');
  }, 60_000);

  it('turns an uncaught exception in the worker into Runtime.ExitError naming it', async () => {
    const throwsLater = pool('throwsLater');
    await expect(throwsLater.handler({}, context('req-6'))).rejects.toMatchObject({
      name: 'Runtime.ExitError',
      message: expect.stringContaining('RangeError: out of range in a timer'),
    });
  }, 60_000);

  it('caps a worker at the memory given and fails an invocation that passes it with Runtime.ExitError', async () => {
    const hog = new LambdaWorkerPool({
      module: HANDLERS,
      exported: 'hog',
      size: 1,
      environment: {},
      onMetricLine: () => {},
      memoryLimitMb: 64,
    });
    pools.push(hog);
    await expect(hog.handler({}, context('req-hog'))).rejects.toMatchObject({
      name: 'Runtime.ExitError',
      message: expect.stringContaining('reaching memory limit'),
    });
    expect(hog.workerCount).toBe(0);
  }, 60_000);

  it('runs invocations in parallel on at most `size` workers, queueing the rest', async () => {
    const burn = pool('burn', 2);
    const started = Date.now();
    const threads = await Promise.all(
      [1, 2, 3, 4].map((n) => burn.handler({ ms: 400 }, context(`burn-${n}`)) as Promise<number>),
    );
    expect(new Set(threads).size).toBe(2);
    expect(burn.workerCount).toBe(2);
    // Four 400 ms invocations on two threads: two rounds, not one (queued) nor four (serial).
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
  }, 60_000);

  it('terminates every worker on close and fails what was running with Runtime.ExitError', async () => {
    const hangs = pool('hangs', 2);
    // Two running, one queued; settled is watched from the start so no rejection goes unhandled.
    const settled = Promise.allSettled(
      ['hang-1', 'hang-2', 'hang-3'].map((requestId) => hangs.handler({}, context(requestId))),
    );
    await new Promise((done) => setTimeout(done, 1_000));
    expect(hangs.workerCount).toBe(2);
    await hangs.close();
    const outcomes = await settled;
    expect(outcomes.map((outcome) => outcome.status === 'rejected' && outcome.reason)).toEqual(
      ['hang-1', 'hang-2', 'hang-3'].map((requestId) =>
        expect.objectContaining({
          name: 'Runtime.ExitError',
          message: `RequestId: ${requestId} Error: Runtime exited with error: the local runner is stopping`,
        }),
      ),
    );
    expect(hangs.workerCount).toBe(0);
  }, 60_000);

  it('is a task failure the state machine retries per its Retry policy, and fails the execution without one', async () => {
    const crashOnce = pool('crashOnce');
    const task = (retry: object[]) => ({
      StartAt: 'Crash',
      States: {
        Crash: { Type: 'Task', Resource: lambdaFunctionArn(REGION, 'crash'), Retry: retry, End: true },
      },
    });
    const stepFunctions = new LocalStepFunctions({
      region: REGION,
      stateMachines: {
        retried: task([{ ErrorEquals: ['Runtime.ExitError'], IntervalSeconds: 1, MaxAttempts: 2 }]),
        notRetried: task([{ ErrorEquals: ['Lambda.TooManyRequestsException'], MaxAttempts: 2 }]),
      },
      lambdas: { crash: crashOnce.handler },
      waitTimeScale: 0,
    });
    const retried = await stepFunctions.startExecution('retried', { marker: join(work, 'crash-retried') });
    expect(retried).toMatchObject({ status: 'SUCCEEDED', output: 'recovered' });
    const failed = await stepFunctions.startExecution('notRetried', { marker: join(work, 'crash-failed') });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'Runtime.ExitError' });
  }, 60_000);
});
