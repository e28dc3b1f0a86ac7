import type { Context } from 'aws-lambda';
import { createFunctionLogger } from '#shared/observability/logger';

const lambda = (requestId: string): Context =>
  ({
    awsRequestId: requestId,
    functionName: 'cf-etl-dev-write',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:1:function:cf-etl-dev-write',
    memoryLimitInMB: '512',
  }) as Context;

/** What the logger writes to stdout and stderr (Lambda sends both to CloudWatch Logs) while `act` runs. */
function captured(act: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    act();
  } finally {
    streams.forEach((stream, index) => {
      stream.write = writes[index]!;
    });
  }
  return lines.flatMap((text) => text.split('\n').filter(Boolean)).map((line) => JSON.parse(line));
}

describe('the functions logger (Powertools)', () => {
  const previous = process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
  beforeAll(() => {
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.AWS_LAMBDA_INITIALIZATION_TYPE;
    else process.env.AWS_LAMBDA_INITIALIZATION_TYPE = previous;
  });

  it('masks values under secret-looking keys at any depth, in errors and at every level', () => {
    const logger = createFunctionLogger({ level: 'debug', keys: { stage: 'dev' } });
    const lines = captured(() => {
      const log = logger.forInvocation(lambda('r1'), { function: 'write', runId: 'run-1' });
      const secret = { host: 'db', password: 'hunter2-secret', nested: { dbPassword: 'hunter2-secret' } };
      log.debug('connecting', { connection: secret });
      log.info('connecting', { secret: 'hunter2-secret', token: 'hunter2-secret' });
      log.warn('retrying', { config: [{ Password: 'hunter2-secret' }] });
      log.error('failed', { error: new Error('boom', { cause: { password: 'hunter2-secret' } }) });
    });
    expect(lines.map((line) => line.level)).toEqual(['DEBUG', 'INFO', 'WARN', 'ERROR']);
    expect(JSON.stringify(lines)).not.toContain('hunter2-secret');
    expect(lines[0]).toMatchObject({
      connection: { host: 'db', password: '***', nested: { dbPassword: '***' } },
    });
  });

  it('keys every line to its invocation: request id, cold start on the first only, function, run', () => {
    const logger = createFunctionLogger({ level: 'info', keys: { stage: 'dev' } });
    const lines = captured(() => {
      const first = logger.forInvocation(lambda('r1'), { function: 'write', runId: 'run-1' });
      const second = logger.forInvocation(lambda('r2'), { function: 'write', runId: 'run-1' });
      // Interleaved, as concurrent invocations log: each line keeps its own invocation's keys.
      second.info('second');
      first.child({ hour: '2024-07-13T01' }).info('first');
      first.debug('below the level');
    });
    expect(lines).toEqual([
      expect.objectContaining({
        message: 'second',
        service: 'cf-etl',
        function_request_id: 'r2',
        cold_start: false,
        function_name: 'cf-etl-dev-write',
        runId: 'run-1',
        stage: 'dev',
      }),
      expect.objectContaining({
        message: 'first',
        function_request_id: 'r1',
        cold_start: true,
        hour: '2024-07-13T01',
      }),
    ]);
  });
});
