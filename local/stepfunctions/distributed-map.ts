import { randomUUID } from 'node:crypto';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { LOCAL_ACCOUNT_ID } from './arn';
import { DefinitionError, StatesError } from './errors';
import { isJsonObject, type Json, type JsonObject, parseJson } from './json';

/**
 * The local S3 a Distributed Map reads its items from (`ItemReader`) and writes its results to
 * (`ResultWriter`): the runner is given one, the same stand-in the handlers use.
 */
export interface MapRunObjectStorage {
  getText(bucket: string, key: string): Promise<string>;
  putText(bucket: string, key: string, body: string): Promise<void>;
}

/** A Distributed Map state as the runner runs it, read once from its definition. */
export interface DistributedMapSpec {
  stateName: string;
  /** The item processor, compiled as a state machine of its own: `<machine>/<state>`. */
  processorName: string;
  readsItems: boolean;
  writesResults: boolean;
  /** `MaxConcurrency`; 0 or absent: the service's 10,000. */
  maxConcurrency: number;
  /** Unset (both): the first failed child fails the map run. */
  toleratedFailurePercentage: number | undefined;
  toleratedFailureCount: number | undefined;
  /** `ItemReader.ReaderConfig.MaxItems`: read at most this many items. */
  maxItems: number | undefined;
  /** `ItemSelector` (or the older `Parameters`) evaluated per item by the library, as a Pass state. */
  selector: StateMachine | undefined;
}

/** A Distributed Map starts at most 10,000 child workflow executions at once. */
export const MAP_RUN_CONCURRENCY_LIMIT = 10_000;

/**
 * Reads a Distributed Map state (Mode DISTRIBUTED) and refuses what the runner does not do the way
 * the service does: ItemBatcher, a reader other than a JSON file from `s3:getObject`, a writer
 * other than `s3:putObject` or with a WriterConfig, and the `…Path` forms of the limits.
 */
export function distributedMapSpec(
  machineName: string,
  stateName: string,
  state: JsonObject,
): DistributedMapSpec {
  const refuse = (why: string): never => {
    throw new DefinitionError(
      `State machine "${machineName}", state "${stateName}": ${why} is not implemented by the local runner's Distributed Map`,
    );
  };
  for (const field of [
    'ItemBatcher',
    'MaxConcurrencyPath',
    'ToleratedFailurePercentagePath',
    'ToleratedFailureCountPath',
    'Label',
  ]) {
    if (field in state) refuse(field);
  }
  const reader = state.ItemReader;
  let maxItems: number | undefined;
  if (reader !== undefined) {
    if (!isJsonObject(reader) || reader.Resource !== 'arn:aws:states:::s3:getObject') {
      refuse('an ItemReader other than arn:aws:states:::s3:getObject');
    }
    const config = isJsonObject(reader) && isJsonObject(reader.ReaderConfig) ? reader.ReaderConfig : {};
    if (config.InputType !== 'JSON') refuse(`ReaderConfig InputType ${String(config.InputType)} (JSON is)`);
    if ('MaxItemsPath' in config) refuse('MaxItemsPath');
    if (typeof config.MaxItems === 'number') maxItems = config.MaxItems;
  }
  const writer = state.ResultWriter;
  if (writer !== undefined) {
    if (!isJsonObject(writer) || writer.Resource !== 'arn:aws:states:::s3:putObject') {
      refuse('a ResultWriter other than arn:aws:states:::s3:putObject');
    }
    if (isJsonObject(writer) && 'WriterConfig' in writer) refuse('ResultWriter WriterConfig');
  }
  const number = (value: Json | undefined) => (typeof value === 'number' ? value : 0);
  const selector = state.ItemSelector ?? state.Parameters;
  return {
    stateName,
    processorName: `${machineName}/${stateName}`,
    readsItems: reader !== undefined,
    writesResults: writer !== undefined,
    maxConcurrency: number(state.MaxConcurrency),
    toleratedFailurePercentage:
      typeof state.ToleratedFailurePercentage === 'number' ? state.ToleratedFailurePercentage : undefined,
    toleratedFailureCount:
      typeof state.ToleratedFailureCount === 'number' ? state.ToleratedFailureCount : undefined,
    maxItems,
    selector: isJsonObject(selector)
      ? new StateMachine(
          {
            StartAt: 'SelectItem',
            States: { SelectItem: { Type: 'Pass', Parameters: selector, End: true } },
          } as unknown as StateMachineDefinition,
          { validationOptions: { noValidate: true } },
        )
      : undefined,
  };
}

/** The item processor as a state machine definition: what each child workflow execution runs. */
export function processorDefinition(state: JsonObject): JsonObject {
  const processor = state.ItemProcessor;
  if (!isJsonObject(processor)) return {};
  const { ProcessorConfig: _config, ...definition } = processor;
  return definition;
}

/**
 * The Map state as a Task the runner serves (`runMapRun`): the library still applies InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry and Catch, and evaluates the reader's and writer's
 * parameters (`Key.$` and the like) against the effective input through `Parameters`.
 */
export function distributedMapAsLocalTask(state: JsonObject, timeoutSeconds: number): JsonObject {
  const parameters: JsonObject = { 'input.$': '$' };
  const reader = state.ItemReader;
  if (isJsonObject(reader)) parameters.itemReader = isJsonObject(reader.Parameters) ? reader.Parameters : {};
  else parameters['items.$'] = typeof state.ItemsPath === 'string' ? state.ItemsPath : '$';
  const writer = state.ResultWriter;
  if (isJsonObject(writer))
    parameters.resultWriter = isJsonObject(writer.Parameters) ? writer.Parameters : {};
  const task: JsonObject = {
    Type: 'Task',
    Resource: 'arn:aws:states:::local:distributedMap',
    Parameters: parameters,
    TimeoutSeconds: timeoutSeconds,
  };
  for (const field of [
    'Comment',
    'InputPath',
    'OutputPath',
    'ResultPath',
    'ResultSelector',
    'Retry',
    'Catch',
    'Next',
    'End',
  ]) {
    const value = state[field];
    if (value !== undefined) task[field] = value;
  }
  return task;
}

/** A child workflow execution as the map run sees it. */
export interface MapRunChild {
  readonly executionArn: string;
  readonly name: string;
  readonly startDate: Date;
  readonly finished: Promise<{
    status: string;
    output?: unknown;
    error?: string;
    cause?: string;
    stopDate: Date;
  }>;
  abort(): void;
}

/** What the map run needs from the execution that runs the Map state. */
export interface MapRunHost {
  region: string;
  stateMachineName: string;
  /** `$$.Execution` and `$$.StateMachine` for the ItemSelector. */
  context: JsonObject;
  storage: MapRunObjectStorage | undefined;
  /** Starts one child workflow execution of the processor; the host stops it if the run is stopped. */
  startChild(input: Json, name: string): MapRunChild;
  /** The execution or this state's run has been stopped: start nothing more. */
  stopped(): boolean;
}

interface ChildOutcome {
  child: MapRunChild;
  input: Json;
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
  stopDate: Date;
}

/**
 * Runs one map run: reads the items (S3 JSON array, or the items path), starts a child workflow
 * execution per item (input from the ItemSelector with `$$.Map.Item`), at most `MaxConcurrency`
 * at once, and fails with `States.ExceedToleratedFailureThreshold` once failed children pass the
 * tolerated percentage or count (stopping the rest, as the service does). With a ResultWriter it
 * writes `<Prefix>/<map run id>/` SUCCEEDED_0.json, FAILED_0.json and manifest.json, and returns the
 * map run's ARN and the manifest's place; without, the children's outputs in item order.
 */
export async function runMapRun(host: MapRunHost, spec: DistributedMapSpec, request: Json): Promise<Json> {
  const parameters = isJsonObject(request) ? request : {};
  const input = parameters.input ?? null;
  const items = await readItems(host, spec, parameters);
  const mapRunId = randomUUID();
  const label = `${host.stateMachineName}/${spec.stateName}:${mapRunId}`;
  const mapRunArn = `arn:aws:states:${host.region}:${LOCAL_ACCOUNT_ID}:mapRun:${label}`;

  const outcomes: (ChildOutcome | undefined)[] = new Array(items.length);
  const running = new Set<MapRunChild>();
  let failed = 0;
  let breached = false;
  let next = 0;
  const limit = Math.min(
    spec.maxConcurrency > 0 ? spec.maxConcurrency : MAP_RUN_CONCURRENCY_LIMIT,
    MAP_RUN_CONCURRENCY_LIMIT,
  );
  // Either threshold breached fails the run; with neither set, the first failure does.
  const { toleratedFailurePercentage: percentage, toleratedFailureCount: count } = spec;
  const overThreshold = () =>
    (percentage === undefined && count === undefined && failed > 0) ||
    (percentage !== undefined && (failed / items.length) * 100 > percentage) ||
    (count !== undefined && failed > count);

  // An item that cannot be started (its ItemSelector fails) fails the map run: nothing more starts.
  let broken = false;
  const worker = async (): Promise<void> => {
    while (!breached && !broken && !host.stopped() && next < items.length) {
      const index = next++;
      let child: MapRunChild;
      let childInput: Json;
      try {
        childInput = await selectItem(host, spec, input, items[index] ?? null, index);
        child = host.startChild(childInput, randomUUID());
      } catch (error) {
        broken = true;
        for (const other of running) other.abort();
        throw error;
      }
      running.add(child);
      const result = await child.finished;
      running.delete(child);
      outcomes[index] = { child, input: childInput, ...result };
      if (result.status !== 'SUCCEEDED') {
        failed++;
        if (overThreshold() && !breached) {
          breached = true;
          for (const other of running) other.abort();
        }
      }
    }
  };
  // allSettled: every worker has stopped before the run reports, whichever failed first.
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const thrown = settled.find((outcome) => outcome.status === 'rejected');
  if (thrown !== undefined) throw thrown.reason;

  let manifestKey: string | undefined;
  if (spec.writesResults) {
    manifestKey = await writeResults(host, parameters.resultWriter, mapRunArn, mapRunId, outcomes);
  }
  if (breached) {
    throw new StatesError(
      'States.ExceedToleratedFailureThreshold',
      `The specified tolerated failure threshold was exceeded: ${failed} of ${items.length} child executions failed (ToleratedFailurePercentage ${percentage ?? 'unset'}, ToleratedFailureCount ${count ?? 'unset'}); map run ${mapRunArn}`,
    );
  }
  if (host.stopped()) throw new StatesError('States.Runtime', `map run ${mapRunArn} was stopped`);
  if (manifestKey !== undefined && isJsonObject(parameters.resultWriter)) {
    return {
      MapRunArn: mapRunArn,
      ResultWriterDetails: { Bucket: parameters.resultWriter.Bucket ?? null, Key: manifestKey },
    };
  }
  return outcomes.map((outcome) => (outcome?.output ?? null) as Json);
}

async function readItems(
  host: MapRunHost,
  spec: DistributedMapSpec,
  parameters: JsonObject,
): Promise<Json[]> {
  let items: Json;
  if (spec.readsItems) {
    const reader = isJsonObject(parameters.itemReader) ? parameters.itemReader : {};
    const { Bucket: bucket, Key: key } = reader;
    if (typeof bucket !== 'string' || typeof key !== 'string') {
      throw new StatesError('States.ItemReaderFailed', 'ItemReader Parameters need Bucket and Key');
    }
    if (host.storage === undefined) {
      throw new StatesError(
        'States.ItemReaderFailed',
        'the local runner was given no object storage to read from',
      );
    }
    try {
      items = parseJson(await host.storage.getText(bucket, key));
    } catch (error) {
      const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new StatesError(
        'States.ItemReaderFailed',
        `s3://${bucket}/${key} could not be read as JSON (${detail})`,
      );
    }
    if (!Array.isArray(items)) {
      throw new StatesError('States.ItemReaderFailed', `s3://${bucket}/${key} does not hold a JSON array`);
    }
  } else {
    items = parameters.items ?? null;
    if (!Array.isArray(items))
      throw new StatesError('States.Runtime', "the Map state's items path is not an array");
  }
  return spec.maxItems === undefined ? items : items.slice(0, spec.maxItems);
}

async function selectItem(
  host: MapRunHost,
  spec: DistributedMapSpec,
  input: Json,
  value: Json,
  index: number,
): Promise<Json> {
  if (spec.selector === undefined) return value;
  const run = spec.selector.run(input, {
    context: { ...host.context, Map: { Item: { Index: index, Value: value } } },
  } as Parameters<StateMachine['run']>[1]);
  return (await run.result) as Json;
}

/** Writes the result files as the service lays them out, and returns the manifest's key. */
async function writeResults(
  host: MapRunHost,
  writer: Json | undefined,
  mapRunArn: string,
  mapRunId: string,
  outcomes: readonly (ChildOutcome | undefined)[],
): Promise<string> {
  const parameters = isJsonObject(writer) ? writer : {};
  const bucket = parameters.Bucket;
  if (typeof bucket !== 'string')
    throw new StatesError('States.ResultWriterFailed', 'ResultWriter Parameters need Bucket');
  if (host.storage === undefined) {
    throw new StatesError(
      'States.ResultWriterFailed',
      'the local runner was given no object storage to write to',
    );
  }
  const prefix =
    typeof parameters.Prefix === 'string' && parameters.Prefix !== '' ? `${parameters.Prefix}/` : '';
  const folder = `${prefix}${mapRunId}/`;
  const byStatus = new Map<string, JsonObject[]>([
    ['SUCCEEDED', []],
    ['FAILED', []],
  ]);
  for (const outcome of outcomes) {
    if (outcome === undefined) continue;
    const status = outcome.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
    byStatus.get(status)?.push(describe(host, outcome));
  }
  const resultFiles: JsonObject = { FAILED: [], PENDING: [], SUCCEEDED: [] };
  for (const [status, entries] of byStatus) {
    if (entries.length === 0) continue;
    const key = `${folder}${status}_0.json`;
    const body = JSON.stringify(entries);
    await host.storage.putText(bucket, key, body);
    resultFiles[status] = [{ Key: key, Size: Buffer.byteLength(body) }];
  }
  const manifestKey = `${folder}manifest.json`;
  await host.storage.putText(
    bucket,
    manifestKey,
    JSON.stringify({ DestinationBucket: bucket, MapRunArn: mapRunArn, ResultFiles: resultFiles }),
  );
  return manifestKey;
}

/** One line of a result file: the child's DescribeExecution, Input and Output as JSON text. */
function describe(host: MapRunHost, outcome: ChildOutcome): JsonObject {
  const line: JsonObject = {
    ExecutionArn: outcome.child.executionArn,
    Input: JSON.stringify(outcome.input),
    InputDetails: { Included: true },
    Name: outcome.child.name,
    StartDate: outcome.child.startDate.toISOString(),
    StateMachineArn: `arn:aws:states:${host.region}:${LOCAL_ACCOUNT_ID}:stateMachine:${host.stateMachineName}`,
    Status: outcome.status,
    StopDate: outcome.stopDate.toISOString(),
  };
  if (outcome.status === 'SUCCEEDED') {
    line.Output = JSON.stringify(outcome.output ?? null);
    line.OutputDetails = { Included: true };
  }
  if (outcome.error !== undefined) line.Error = outcome.error;
  if (outcome.cause !== undefined) line.Cause = outcome.cause;
  return line;
}
