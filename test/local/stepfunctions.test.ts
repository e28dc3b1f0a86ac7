import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DefinitionError,
  type ExecutionEvent,
  HISTORY_EVENT_LIMIT,
  type LambdaHandler,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
  lambdaFunctionArn,
  maxHistoryEvents,
  resolveIntrinsics,
  stateMachineArn,
} from '#local/stepfunctions/index';

const REGION = 'eu-west-1';
/** Lambda names as the Serverless Framework derives them: `<service>-<stage>-<function key>`. */
const functionName = (key: string): string => `serverless-etl-kit-test-${key}`;
/** CloudFormation logical ids the fixtures `Ref`, and the state machine each one names. */
const LOGICAL_IDS = new Map([
  ['TransformBatchStateMachine', 'transform-batch'],
  ['PassThenTaskStateMachine', 'pass-then-task'],
]);

function loadDefinition(machineName: string): object {
  const file = join(__dirname, '../fixtures/statemachines', `${machineName}.asl.json`);
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return resolveIntrinsics(parsed, {
    functionArn: (key) => lambdaFunctionArn(REGION, functionName(key)),
    ref: (logicalId) => {
      const name = LOGICAL_IDS.get(logicalId);
      if (name === undefined) throw new Error(`no state machine for logical id ${logicalId}`);
      return stateMachineArn(REGION, name);
    },
  });
}

function stepFunctions(
  machineNames: string[],
  lambdas: Record<string, LambdaHandler>,
  options: Partial<LocalStepFunctionsOptions> = {},
): LocalStepFunctions {
  return new LocalStepFunctions({
    region: REGION,
    stateMachines: Object.fromEntries(machineNames.map((name) => [name, loadDefinition(name)])),
    lambdas,
    waitTimeScale: 0,
    ...options,
  });
}

function stringField(event: unknown, field: string): string {
  const value: unknown = typeof event === 'object' && event !== null ? Reflect.get(event, field) : undefined;
  if (typeof value !== 'string') throw new Error(`event.${field} is not a string`);
  return value;
}

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** A handler's own named error, as the project's handlers throw them. */
class AthenaQueryFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AthenaQueryFailedError';
  }
}

function batchesOf(batchCount: number, filesPerBatch: number) {
  return Array.from({ length: batchCount }, (_, batch) => ({
    batchId: `b${batch}`,
    files: Array.from({ length: filesPerBatch }, (_, file) => `raw/b${batch}/${file}.log`),
  }));
}

const TERMINAL_EVENTS = new Set([
  'ExecutionSucceeded',
  'ExecutionFailed',
  'ExecutionAborted',
  'ExecutionTimedOut',
]);

describe('LocalStepFunctions', () => {
  it('runs a child per batch through startExecution.sync:2, never more than MaxConcurrency (2) at once', async () => {
    const inFlight = new Set<string>();
    let maxInFlight = 0;
    const events: ExecutionEvent[] = [];
    const transformed: string[] = [];
    const sfn = stepFunctions(
      ['run-batches', 'transform-batch'],
      {
        [functionName('transform')]: async (event) => {
          transformed.push(stringField(event, 'key'));
          await sleep(25);
          return { key: stringField(event, 'key'), rows: 10 };
        },
      },
      {
        onEvent: (event) => {
          events.push(event);
          if (event.stateMachineName !== 'transform-batch') return;
          if (event.type === 'ExecutionStarted') inFlight.add(event.executionArn);
          if (TERMINAL_EVENTS.has(event.type)) inFlight.delete(event.executionArn);
          maxInFlight = Math.max(maxInFlight, inFlight.size);
        },
      },
    );
    const batches = batchesOf(6, 1);

    const result = await sfn.startExecution('run-batches', { batches }, { name: 'run-2024-05-01' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.executionArn).toBe(
      'arn:aws:states:eu-west-1:000000000000:execution:run-batches:run-2024-05-01',
    );
    expect(maxInFlight).toBe(2);
    expect(transformed.sort()).toEqual(batches.flatMap((batch) => batch.files).sort());
    expect(result.output).toEqual(
      batches.map((batch) =>
        expect.objectContaining({
          ExecutionArn: expect.stringMatching(
            /^arn:aws:states:eu-west-1:000000000000:execution:transform-batch:/,
          ),
          Input: {
            batchId: batch.batchId,
            files: batch.files,
            AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: result.executionArn,
          },
          InputDetails: { Included: true },
          Output: { batchId: batch.batchId, fileCount: 1 },
          OutputDetails: { Included: true },
          StartDate: expect.any(Number),
          StateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:transform-batch',
          Status: 'SUCCEEDED',
          StopDate: expect.any(Number),
        }),
      ),
    );
    expect(result.children.map((child) => child.status)).toEqual(Array(6).fill('SUCCEEDED'));
    // Parent: ExecutionStarted, MapStateEntered, MapStateStarted, 8 per iteration (MapIterationStarted,
    // TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded, TaskStateExited,
    // MapIterationSucceeded), MapStateSucceeded, MapStateExited, ExecutionSucceeded. Each child's
    // 15 events (1 + 2 + 7 for its one file + 2 + Pass 2 + 1) are its own.
    expect(result.historyEventCount).toBe(6 + 8 * 6);
    expect(events.filter((event) => event.executionArn === result.executionArn)).toHaveLength(54);
    expect(result.children.map((child) => child.historyEventCount)).toEqual(Array(6).fill(15));
    expect(maxHistoryEvents(result)).toBe(54);
  });

  it('records the exact history of a Pass then Lambda task machine', async () => {
    const events: ExecutionEvent[] = [];
    const sfn = stepFunctions(
      ['pass-then-task'],
      {
        [functionName('transform')]: async (event) => ({ key: stringField(event, 'key'), transformed: true }),
      },
      { onEvent: (event) => events.push(event) },
    );

    const result = await sfn.startExecution('pass-then-task', { key: 'raw/a.log', ignored: 1 });

    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { key: 'raw/a.log', transformed: true } });
    expect(events.map((event) => [event.type, event.stateName])).toEqual([
      ['ExecutionStarted', undefined],
      ['PassStateEntered', 'Prepare'],
      ['PassStateExited', 'Prepare'],
      ['TaskStateEntered', 'Transform'],
      ['LambdaFunctionScheduled', 'Transform'],
      ['LambdaFunctionStarted', 'Transform'],
      ['LambdaFunctionSucceeded', 'Transform'],
      ['TaskStateExited', 'Transform'],
      ['ExecutionSucceeded', undefined],
    ]);
    expect(result.historyEventCount).toBe(9);
  });

  describe('Retry on Lambda throttling (IntervalSeconds 2, MaxAttempts 7, BackoffRate 1.85, FULL jitter)', () => {
    it('recovers after two Lambda.TooManyRequestsException without waiting when waitTimeScale is 0', async () => {
      let calls = 0;
      const events: string[] = [];
      const sfn = stepFunctions(
        ['throttled-aggregate'],
        {
          [functionName('aggregate')]: async () => {
            calls += 1;
            if (calls <= 2) throw namedError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
            return { rows: 42 };
          },
        },
        { onEvent: (event) => events.push(event.type) },
      );
      const started = Date.now();

      const result = await sfn.startExecution('throttled-aggregate', { query: 'daily_hits' });

      expect(Date.now() - started).toBeLessThan(1000);
      expect(calls).toBe(3);
      expect(result).toMatchObject({ status: 'SUCCEEDED', output: { rows: 42 } });
      expect(events).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        ...['TaskScheduled', 'TaskStarted', 'TaskFailed'],
        ...['TaskScheduled', 'TaskStarted', 'TaskFailed'],
        ...['TaskScheduled', 'TaskStarted', 'TaskSucceeded'],
        'TaskStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('gives up after MaxAttempts retries and fails with the throttling error', async () => {
      let calls = 0;
      const sfn = stepFunctions(['throttled-aggregate'], {
        [functionName('aggregate')]: async () => {
          calls += 1;
          throw namedError('Lambda.TooManyRequestsException', 'Rate Exceeded.');
        },
      });

      const result = await sfn.startExecution('throttled-aggregate', {});

      expect(calls).toBe(1 + 7);
      expect(result).toMatchObject({
        status: 'FAILED',
        error: 'Lambda.TooManyRequestsException',
        cause: 'Rate Exceeded.',
      });
    });
  });

  it('replaces the state with its result for ResultPath "$", as the ASL default does, in a state and in a Catch', async () => {
    const sfn = new LocalStepFunctions({
      region: REGION,
      waitTimeScale: 0,
      stateMachines: {
        'result-path-root': {
          StartAt: 'Replace',
          States: {
            Replace: { Type: 'Pass', Result: { replaced: true }, ResultPath: '$', Next: 'Fail' },
            Fail: {
              Type: 'Task',
              Resource: lambdaFunctionArn(REGION, functionName('query')),
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$', Next: 'Caught' }],
              End: true,
            },
            Caught: { Type: 'Pass', End: true },
          },
        },
      },
      lambdas: {
        [functionName('query')]: async (event) => {
          expect(event).toEqual({ replaced: true });
          throw namedError('QueryTimeoutError', 'query ran over 30 s');
        },
      },
    });

    const result = await sfn.startExecution('result-path-root', { original: true });

    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: { Error: 'QueryTimeoutError', Cause: 'query ran over 30 s' },
    });
  });

  describe('Catch', () => {
    const failingQuery = (error: Error) =>
      stepFunctions(['query-with-fallback'], {
        [functionName('query')]: async () => {
          throw error;
        },
      });

    it('routes a named handler error to the fallback state with Error and Cause at ResultPath', async () => {
      const sfn = failingQuery(new AthenaQueryFailedError('Query 42 FAILED: SYNTAX_ERROR'));

      const result = await sfn.startExecution('query-with-fallback', { queryId: 'q-42' });

      expect(result.status).toBe('SUCCEEDED');
      expect(result.output).toEqual({
        queryId: 'q-42',
        error: { Error: 'AthenaQueryFailedError', Cause: 'Query 42 FAILED: SYNTAX_ERROR' },
      });
      // A caught failure still exits the Task state: LambdaFunctionFailed, TaskStateExited, then the fallback.
      expect(result.historyEventCount).toBe(9);
    });

    it('does not catch an error the Catch does not name', async () => {
      const sfn = failingQuery(namedError('QueryTimeoutError', 'query ran over 30 s'));

      const result = await sfn.startExecution('query-with-fallback', { queryId: 'q-43' });

      expect(result).toMatchObject({
        status: 'FAILED',
        error: 'QueryTimeoutError',
        cause: 'query ran over 30 s',
      });
      expect(result.output).toBeUndefined();
    });
  });

  it('fails the parent task with States.TaskFailed when a child fails, and starts no queued child after', async () => {
    const transformed: string[] = [];
    const sfn = stepFunctions(['run-batches', 'transform-batch'], {
      [functionName('transform')]: async (event) => {
        const key = stringField(event, 'key');
        transformed.push(key);
        if (key.startsWith('raw/b0/'))
          throw namedError('TransformFailedError', `unparseable line 7 in ${key}`);
        await sleep(30);
        return { key };
      },
    });

    const result = await sfn.startExecution('run-batches', { batches: batchesOf(4, 1) });

    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('States.TaskFailed');
    const cause: unknown = JSON.parse(result.cause ?? 'null');
    expect(cause).toMatchObject({
      ExecutionArn: expect.stringMatching(/:execution:transform-batch:/),
      Status: 'FAILED',
      Error: 'TransformFailedError',
      Cause: 'unparseable line 7 in raw/b0/0.log',
    });
    // b1 was running (MaxConcurrency 2) and is stopped with its parent; b2 and b3 never start.
    expect(result.children.map((child) => child.status).sort()).toEqual(['ABORTED', 'FAILED']);
    expect(transformed).toContain('raw/b0/0.log');
    expect(transformed.filter((key) => key.startsWith('raw/b2/') || key.startsWith('raw/b3/'))).toEqual([]);
  });

  it('scales Retry intervals and Wait seconds by waitTimeScale without changing the definition', async () => {
    const definition = loadDefinition('scaled-waits');
    const before = JSON.stringify(definition);
    let polls = 0;
    const sfn = new LocalStepFunctions({
      region: REGION,
      stateMachines: { 'scaled-waits': definition },
      lambdas: {
        [functionName('poll')]: async () => {
          polls += 1;
          if (polls === 1) throw namedError('QueryStillRunningError', 'RUNNING');
          return { state: 'SUCCEEDED' };
        },
      },
      waitTimeScale: 0.05,
    });
    const started = Date.now();

    const result = await sfn.startExecution('scaled-waits', { pauseSeconds: 2 });

    // Wait 2 s and one retry after 2 s, both scaled by 0.05: about 200 ms instead of 4 s.
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { state: 'SUCCEEDED' } });
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(2000);
    expect(JSON.stringify(definition)).toBe(before);
  });

  it('keeps every execution under the 25,000-event cap by splitting files into child executions', async () => {
    const lambdas = {
      [functionName('transform')]: async (event: unknown) => ({ key: stringField(event, 'key') }),
    };
    const files = batchesOf(40, 100);

    const flat = await stepFunctions(['transform-batch'], lambdas).startExecution('transform-batch', {
      batchId: 'all',
      files: files.flatMap((batch) => batch.files),
    });
    const split = await stepFunctions(['run-batches', 'transform-batch'], lambdas).startExecution(
      'run-batches',
      {
        batches: files,
      },
    );

    // 4,000 files in one execution: 7 events per file is over the cap, as in the service.
    expect(flat).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
      cause: 'The execution reached the maximum number of history events (25000).',
    });
    expect(flat.historyEventCount).toBeGreaterThan(HISTORY_EVENT_LIMIT);
    // The same files as 40 children of 100 files: 326 parent events, 708 per child.
    expect(split.status).toBe('SUCCEEDED');
    expect(split.historyEventCount).toBe(6 + 8 * 40);
    expect(split.children).toHaveLength(40);
    expect(maxHistoryEvents(split)).toBe(8 + 7 * 100);
    expect(maxHistoryEvents(split)).toBeLessThan(HISTORY_EVENT_LIMIT);
  });

  it('fails an execution whose state output exceeds the 256 KiB payload quota', async () => {
    const sfn = stepFunctions(['pass-then-task'], {
      [functionName('transform')]: async () => ({ rows: 'x'.repeat(300 * 1024) }),
    });

    const result = await sfn.startExecution('pass-then-task', { key: 'raw/big.log' });

    expect(result).toMatchObject({ status: 'FAILED', error: 'States.DataLimitExceeded' });
    expect(result.cause).toContain("'Transform'");
  });

  it('starts a child without waiting for it through startExecution (request-response)', async () => {
    const sfn = stepFunctions(['start-report', 'pass-then-task'], {
      [functionName('transform')]: async (event) => {
        await sleep(20);
        return { key: stringField(event, 'key') };
      },
    });

    const result = await sfn.startExecution('start-report', { key: 'reports/daily.json' });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual({
      ExecutionArn: expect.stringMatching(/:execution:pass-then-task:/),
      StartDate: expect.any(Number),
    });
    expect(result.historyEventCount).toBe(7);
    expect(result.children).toEqual([
      expect.objectContaining({ status: 'SUCCEEDED', output: { key: 'reports/daily.json' } }),
    ]);
  });

  describe('refuses definitions the library would run differently', () => {
    const construct = (definition: object) =>
      new LocalStepFunctions({ region: REGION, stateMachines: { machine: definition }, lambdas: {} });

    it('refuses a JSONata definition', () => {
      expect(() => construct(loadDefinition('jsonata-pass'))).toThrow(DefinitionError);
      expect(() => construct(loadDefinition('jsonata-pass'))).toThrow(/"machine".*QueryLanguage "JSONata"/);
    });

    it.each([
      [
        'a JSONata state inside a Map',
        { Type: 'Pass', QueryLanguage: 'JSONata', End: true },
        /state "Inner".*JSONata/,
      ],
      ['variables (Assign)', { Type: 'Pass', Assign: { count: 1 }, End: true }, /state "Inner".*Assign/],
    ])('refuses %s', (_label, inner, message) => {
      const definition = {
        StartAt: 'Outer',
        States: {
          Outer: { Type: 'Map', ItemProcessor: { StartAt: 'Inner', States: { Inner: inner } }, End: true },
        },
      };
      expect(() => construct(definition)).toThrow(message);
    });

    it('refuses a Lambda function it has no handler for', () => {
      expect(() => construct(loadDefinition('pass-then-task'))).toThrow(
        /invokes Lambda function "serverless-etl-kit-test-transform", which has no local handler/,
      );
    });
  });
});

describe('resolveIntrinsics', () => {
  const resolvers = {
    functionArn: (key: string) => `arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-${key}`,
    ref: (logicalId: string) => `arn:aws:states:eu-west-1:000000000000:stateMachine:${logicalId}`,
  };

  it('resolves Fn::GetAtt (list and string form) and Ref anywhere, leaving other values untouched', () => {
    const resolved = resolveIntrinsics(
      {
        StartAt: 'A',
        States: {
          A: { Type: 'Task', Resource: { 'Fn::GetAtt': ['transform', 'Arn'] }, Next: 'B' },
          B: { Type: 'Task', Resource: { 'Fn::GetAtt': 'report.Arn' }, Next: 'C' },
          C: {
            Type: 'Task',
            Resource: 'arn:aws:states:::states:startExecution.sync:2',
            Parameters: {
              StateMachineArn: { Ref: 'ChildStateMachine' },
              'Input.$': '$',
              Retries: [1, true, null],
            },
            End: true,
          },
        },
      },
      resolvers,
    );

    expect(resolved).toEqual({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-transform',
          Next: 'B',
        },
        B: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-report',
          Next: 'C',
        },
        C: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Parameters: {
            StateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:ChildStateMachine',
            'Input.$': '$',
            Retries: [1, true, null],
          },
          End: true,
        },
      },
    });
  });

  it('refuses an intrinsic it cannot resolve', () => {
    expect(() => resolveIntrinsics({ Resource: { 'Fn::Join': ['-', ['etl', 'raw']] } }, resolvers)).toThrow(
      /\$\.Resource: intrinsic Fn::Join is not supported/,
    );
    expect(() => resolveIntrinsics({ Resource: { 'Fn::GetAtt': ['transform', 'Name'] } }, resolvers)).toThrow(
      /only Fn::GetAtt/,
    );
  });
});
