import {
  DefinitionError,
  type ExecutionEvent,
  type ExecutionResult,
  type LambdaHandler,
  LocalStepFunctions,
  lambdaFunctionArn,
  stateMachineArn,
} from '#local/stepfunctions/index';

const REGION = 'eu-west-1';
const BUCKET = 'data';
const work = lambdaFunctionArn(REGION, 'work');

/**
 * An object store in memory: the runner's port to S3 for ItemReader and ResultWriter (the pipeline
 * gives it the local S3 stand-in; the e2e test runs that path).
 */
class MemoryObjects {
  readonly objects = new Map<string, string>();
  async getText(bucket: string, key: string): Promise<string> {
    const body = this.objects.get(`${bucket}/${key}`);
    if (body === undefined) throw Object.assign(new Error(`no ${key}`), { name: 'NoSuchKey' });
    return body;
  }
  async putText(bucket: string, key: string, body: string): Promise<void> {
    this.objects.set(`${bucket}/${key}`, body);
  }
  json(key: string): unknown {
    const body = this.objects.get(`${BUCKET}/${key}`);
    return body === undefined ? undefined : JSON.parse(body);
  }
}

/** A parent like run.asl.yml's: a Distributed Map over an S3 list, each item a child running `work`. */
function parent(map: Record<string, unknown> = {}): object {
  return {
    StartAt: 'Batches',
    States: {
      Batches: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: BUCKET, 'Key.$': '$.itemsKey' },
        },
        MaxConcurrency: 2,
        ItemSelector: { 'runId.$': '$.runId', 'batchId.$': '$$.Map.Item.Value.batchId' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Work',
          States: { Work: { Type: 'Task', Resource: work, End: true } },
        },
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: BUCKET, Prefix: 'map-runs' },
        },
        ResultPath: '$.mapRun',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        Next: 'Done',
        ...map,
      },
      Caught: { Type: 'Pass', End: true },
      Done: { Type: 'Pass', End: true },
    },
  };
}

async function run(
  objects: MemoryObjects,
  handler: LambdaHandler,
  map: Record<string, unknown> = {},
  items = 6,
): Promise<{ result: ExecutionResult; events: ExecutionEvent[] }> {
  await objects.putText(
    BUCKET,
    'items.json',
    JSON.stringify(Array.from({ length: items }, (_, index) => ({ batchId: `b${index}`, files: index }))),
  );
  const events: ExecutionEvent[] = [];
  const runner = new LocalStepFunctions({
    region: REGION,
    stateMachines: { parent: parent(map) },
    lambdas: { work: handler },
    waitTimeScale: 0,
    objectStorage: objects,
    onEvent: (event) => events.push(event),
  });
  const result = await runner.startExecution('parent', { runId: 'r1', itemsKey: 'items.json' });
  return { result, events };
}

describe('local Distributed Map (ItemReader, child executions, ResultWriter)', () => {
  it('runs each item of the S3 list in a child execution with its own history, at most MaxConcurrency at once', async () => {
    const objects = new MemoryObjects();
    let running = 0;
    let mostAtOnce = 0;
    const seen: unknown[] = [];
    const { result, events } = await run(objects, async (event) => {
      seen.push(event);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return { done: event };
    });
    expect(result.status).toBe('SUCCEEDED');
    // ItemSelector: the Map's input and $$.Map.Item.Value.
    expect(seen).toHaveLength(6);
    expect(seen).toEqual(
      expect.arrayContaining([
        { runId: 'r1', batchId: 'b0' },
        { runId: 'r1', batchId: 'b5' },
      ]),
    );
    expect(mostAtOnce).toBe(2);
    // One child per item, named as the service names a map run's children: <machine>/<state>:<id>.
    expect(result.children).toHaveLength(6);
    for (const child of result.children) {
      expect(child.executionArn).toMatch(/:execution:parent\/Batches:[0-9a-f-]{36}$/);
      expect(child.stateMachineName).toBe('parent/Batches');
      // ExecutionStarted, Task entered/scheduled/started/succeeded/exited, ExecutionSucceeded.
      expect(child.historyEventCount).toBe(7);
    }
    // The parent records the map run, not its items.
    const parentEvents = events
      .filter((event) => event.stateMachineName === 'parent')
      .map((event) => event.type);
    expect(parentEvents).toEqual([
      'ExecutionStarted',
      'MapStateEntered',
      'MapStateStarted',
      'MapRunStarted',
      'MapRunSucceeded',
      'MapStateSucceeded',
      'MapStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(result.historyEventCount).toBe(parentEvents.length);
  });

  it('writes manifest.json and SUCCEEDED_0.json under the prefix and returns where they are', async () => {
    const objects = new MemoryObjects();
    const { result } = await run(objects, async (event) => ({ done: event }), {}, 3);
    const output = result.output as {
      mapRun: { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    };
    expect(output.mapRun.MapRunArn).toMatch(/^arn:aws:states:eu-west-1:000000000000:mapRun:parent\/Batches:/);
    expect(output.mapRun.ResultWriterDetails.Bucket).toBe(BUCKET);
    const key = output.mapRun.ResultWriterDetails.Key;
    expect(key).toMatch(/^map-runs\/[0-9a-f-]{36}\/manifest\.json$/);
    const manifest = objects.json(key) as {
      MapRunArn: string;
      ResultFiles: { SUCCEEDED: { Key: string; Size: number }[]; FAILED: unknown[] };
    };
    expect(manifest.MapRunArn).toBe(output.mapRun.MapRunArn);
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    const succeeded = manifest.ResultFiles.SUCCEEDED[0]!;
    const lines = objects.json(succeeded.Key) as { Status: string; Input: string; Output: string }[];
    expect(lines).toHaveLength(3);
    expect(lines.every((line) => line.Status === 'SUCCEEDED')).toBe(true);
    // Input and Output as JSON text, as in the service's result files.
    expect(lines.map((line) => JSON.parse(line.Input).batchId).sort()).toEqual(['b0', 'b1', 'b2']);
    expect(JSON.parse(lines[0]!.Output)).toHaveProperty('done');
  });

  it('fails the map run on the first failed child by default, into the Catch, and stops starting items', async () => {
    const objects = new MemoryObjects();
    let calls = 0;
    const { result, events } = await run(
      objects,
      async (event) => {
        calls++;
        if ((event as { batchId: string }).batchId === 'b1')
          throw Object.assign(new Error('bad batch'), { name: 'BatchError' });
        await new Promise((resolve) => setTimeout(resolve, 20));
        return {};
      },
      { MaxConcurrency: 1 },
    );
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { error: { Error: string; Cause: string } };
    expect(output.error.Error).toBe('States.ExceedToleratedFailureThreshold');
    expect(output.error.Cause).toMatch(/1 of 6 child executions failed/);
    expect(calls).toBe(2);
    expect(
      events.filter((event) => event.stateMachineName === 'parent').map((event) => event.type),
    ).toContain('MapRunFailed');
  });

  it('tolerates failed children up to ToleratedFailurePercentage and lists them in FAILED_0.json', async () => {
    const objects = new MemoryObjects();
    const failing = async (event: unknown) => {
      if ((event as { batchId: string }).batchId === 'b3')
        throw Object.assign(new Error('bad'), { name: 'BatchError' });
      return {};
    };
    const tolerated = await run(objects, failing, { ToleratedFailurePercentage: 20 });
    expect(tolerated.result.status).toBe('SUCCEEDED');
    const output = tolerated.result.output as { mapRun: { ResultWriterDetails: { Key: string } } };
    const manifest = objects.json(output.mapRun.ResultWriterDetails.Key) as {
      ResultFiles: { FAILED: { Key: string }[] };
    };
    const failed = objects.json(manifest.ResultFiles.FAILED[0]!.Key) as { Error: string; Input: string }[];
    expect(failed).toHaveLength(1);
    expect(failed[0]!.Error).toBe('BatchError');
    expect(JSON.parse(failed[0]!.Input).batchId).toBe('b3');
    // 1 of 6 is 16.7 %: over a 10 % tolerance.
    const strict = await run(new MemoryObjects(), failing, { ToleratedFailurePercentage: 10 });
    expect((strict.result.output as { error: { Error: string } }).error.Error).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
  });

  it('fails with States.ItemReaderFailed when the item list is missing or not an array', async () => {
    const objects = new MemoryObjects();
    const runner = new LocalStepFunctions({
      region: REGION,
      stateMachines: { parent: parent() },
      lambdas: { work: async () => ({}) },
      waitTimeScale: 0,
      objectStorage: objects,
    });
    const missing = await runner.startExecution('parent', { runId: 'r', itemsKey: 'absent.json' });
    expect((missing.output as { error: { Error: string } }).error.Error).toBe('States.ItemReaderFailed');
    await objects.putText(BUCKET, 'object.json', '{"not":"a list"}');
    const notArray = await runner.startExecution('parent', { runId: 'r', itemsKey: 'object.json' });
    expect((notArray.output as { error: { Cause: string } }).error.Cause).toMatch(
      /does not hold a JSON array/,
    );
  });

  it('refuses what it would run differently from the service', () => {
    const build = (map: Record<string, unknown>) =>
      new LocalStepFunctions({
        region: REGION,
        stateMachines: { parent: parent(map) },
        lambdas: { work: async () => ({}) },
      });
    expect(() => build({ ItemBatcher: { MaxItemsPerBatch: 10 } })).toThrow(DefinitionError);
    expect(() => build({ ItemBatcher: { MaxItemsPerBatch: 10 } })).toThrow(/ItemBatcher/);
    expect(() =>
      build({
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'CSV' },
          Parameters: { Bucket: BUCKET, Key: 'x.csv' },
        },
      }),
    ).toThrow(/InputType CSV/);
    const inline = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ToleratedFailurePercentage: 5,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'P',
            States: { P: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    };
    expect(() => new LocalStepFunctions({ region: REGION, stateMachines: { inline }, lambdas: {} })).toThrow(
      /ToleratedFailurePercentage belongs to a Map in DISTRIBUTED mode only/,
    );
    expect(stateMachineArn(REGION, 'parent/Batches')).toMatch(/stateMachine:parent\/Batches$/);
  });
});
