import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { functionNameOf, functionNameOfArn, stateMachineNameOfArn } from './arn';
import {
  type DistributedMapSpec,
  distributedMapAsLocalTask,
  distributedMapSpec,
  processorDefinition,
} from './distributed-map';
import { DefinitionError } from './errors';
import { isJsonObject, type Json, type JsonObject, toJson } from './json';

/** How a Task state's `Resource` is served locally. */
export type TaskIntegration =
  | { kind: 'lambda-function'; functionName: string }
  | { kind: 'lambda-invoke' }
  | { kind: 'start-execution'; pattern: 'request-response' | 'sync' | 'sync:2' }
  /** A Map state in DISTRIBUTED mode: a map run of child workflow executions (distributed-map.ts). */
  | { kind: 'distributed-map'; map: DistributedMapSpec };

export interface StateInfo {
  name: string;
  /** `Type` as written in the definition (a Wait stays a Wait even when it runs as a local task). */
  type: string;
  /** The state as written (intrinsics already resolved). */
  definition: JsonObject;
  integration?: TaskIntegration;
}

export interface CompiledStateMachine {
  name: string;
  /** Every state, nested Map/Parallel states included: ASL requires names unique machine-wide. */
  states: ReadonlyMap<string, StateInfo>;
  /** Runs the prepared copy of the definition (see `prepareForLibrary`). */
  machine: StateMachine;
  /**
   * The Map or Parallel state whose item processor or branch starts at a given state: identifies
   * what a nested library run is (iteration or branch) from its definition's `StartAt`.
   */
  enclosingStates: ReadonlyMap<string, { type: 'Map' | 'Parallel'; name: string }>;
  /** Wait states run as local tasks so `waitTimeScale` can scale path-based waits too. */
  waitsRunAsTasks: boolean;
  /** Lambda functions and state machines named literally in the definition (checked up front). */
  functionNames: ReadonlySet<string>;
  stateMachineNames: ReadonlySet<string>;
  /** Item processors of Distributed Maps, by name (`<machine>/<state>`): each a machine of its own. */
  processors: ReadonlyMap<string, JsonObject>;
}

/**
 * `setTimeout` holds at most 2^31-1 ms (~24.8 days) and fires after 1 ms when given more, so every
 * timeout handed to the library is capped here.
 */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const OPTIMISED_INTEGRATION = /^arn:[^:]+:states:::(lambda:invoke|states:startExecution(?:\.sync(?::2)?)?)$/;

/** Fields aws-local-stepfunctions 3.0.0 does not implement and would skip without a word. */
const IGNORED_FIELDS: Readonly<Record<string, string>> = {
  Arguments: 'is a JSONata field',
  Output: 'is a JSONata field',
  Assign: '(variables) is not implemented by aws-local-stepfunctions',
};

/** Fields of a Distributed Map only: on any other state the service refuses them. */
const DISTRIBUTED_MAP_FIELDS = [
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
];

/**
 * Checks a definition and prepares it for aws-local-stepfunctions. Throws `DefinitionError` for
 * invalid ASL and for anything the library would silently run differently from the service.
 */
export function compileStateMachine(
  name: string,
  definition: object,
  options: { waitTimeScale: number },
): CompiledStateMachine {
  const original = toJson(definition);
  if (!isJsonObject(original))
    throw new DefinitionError(`State machine "${name}": the definition is not an object`);
  refuseIgnoredFeatures(name, original);
  validateWithLibrary(name, original);

  const states = new Map<string, StateInfo>();
  const functionNames = new Set<string>();
  const stateMachineNames = new Set<string>();
  const enclosingStates = new Map<string, { type: 'Map' | 'Parallel'; name: string }>();
  const processors = new Map<string, JsonObject>();
  forEachState(original, (stateName, state) => {
    const type = typeof state.Type === 'string' ? state.Type : '';
    if (isDistributedMap(state)) {
      const map = distributedMapSpec(name, stateName, state);
      processors.set(map.processorName, processorDefinition(state));
      stateMachineNames.add(map.processorName);
      states.set(stateName, {
        name: stateName,
        type,
        definition: state,
        integration: { kind: 'distributed-map', map },
      });
      return;
    }
    if (type === 'Map' || type === 'Parallel') {
      for (const nested of nestedMachines(state)) {
        if (typeof nested.StartAt === 'string')
          enclosingStates.set(nested.StartAt, { type, name: stateName });
      }
    }
    const info: StateInfo = { name: stateName, type, definition: state };
    if (type === 'Task') {
      info.integration = taskIntegration(name, stateName, state);
      collectStaticReferences(name, stateName, state, info.integration, functionNames, stateMachineNames);
    }
    states.set(stateName, info);
  });

  const waitsRunAsTasks = options.waitTimeScale !== 1;
  const prepared = prepareForLibrary(original, options.waitTimeScale);
  // The original passed the library's validator above; the prepared copy only adds fields of the
  // same schema (or swaps a Wait for a Task), so it skips validation.
  const machine = new StateMachine(asLibraryDefinition(prepared), {
    validationOptions: { noValidate: true },
  });
  return {
    name,
    states,
    machine,
    enclosingStates,
    waitsRunAsTasks,
    functionNames,
    stateMachineNames,
    processors,
  };
}

/** A Map state whose item processor runs in DISTRIBUTED mode (child workflow executions). */
export function isDistributedMap(state: JsonObject): boolean {
  const processor = state.ItemProcessor;
  return (
    state.Type === 'Map' &&
    isJsonObject(processor) &&
    isJsonObject(processor.ProcessorConfig) &&
    processor.ProcessorConfig.Mode === 'DISTRIBUTED'
  );
}

/** Calls `visit` for every state, recursing into Map item processors and Parallel branches. */
export function forEachState(
  machine: JsonObject,
  visit: (stateName: string, state: JsonObject, siblings: JsonObject) => void,
): void {
  const states = machine.States;
  if (!isJsonObject(states)) return;
  for (const [stateName, state] of Object.entries(states)) {
    if (!isJsonObject(state)) continue;
    visit(stateName, state, states);
    for (const nested of nestedMachines(state)) forEachState(nested, visit);
  }
}

function nestedMachines(state: JsonObject): JsonObject[] {
  const processor = state.ItemProcessor ?? state.Iterator;
  if (isJsonObject(processor)) return [processor];
  if (Array.isArray(state.Branches)) return state.Branches.filter(isJsonObject);
  return [];
}

function refuseIgnoredFeatures(name: string, definition: JsonObject): void {
  const refuse = (where: string, why: string): never => {
    throw new DefinitionError(
      `State machine "${name}"${where}: ${why}. aws-local-stepfunctions would run the definition ` +
        'differently from AWS, so this runner refuses it; write it in JSONPath without that feature.',
    );
  };
  const checkQueryLanguage = (where: string, node: JsonObject): void => {
    if (node.QueryLanguage === 'JSONata') refuse(where, 'QueryLanguage "JSONata" is not supported');
  };
  checkQueryLanguage('', definition);
  forEachState(definition, (stateName, state) => {
    const where = `, state "${stateName}"`;
    checkQueryLanguage(where, state);
    for (const [field, why] of Object.entries(IGNORED_FIELDS)) {
      if (field in state) refuse(where, `${field} ${why}`);
    }
    if (!isDistributedMap(state)) {
      for (const field of DISTRIBUTED_MAP_FIELDS) {
        if (field in state) refuse(where, `${field} belongs to a Map in DISTRIBUTED mode only`);
      }
    }
    const processor = state.ItemProcessor;
    if (isJsonObject(processor)) checkQueryLanguage(where, processor);
    const rules = [...arrayOf(state.Catch), ...arrayOf(state.Choices)];
    for (const rule of rules) {
      if ('Assign' in rule) refuse(where, `Assign ${IGNORED_FIELDS.Assign}`);
      if ('Output' in rule) refuse(where, 'Output is a JSONata field');
      if ('Condition' in rule) refuse(where, 'Condition is a JSONata field');
    }
  });
}

function arrayOf(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isJsonObject) : [];
}

/** The library's own validator (asl-validator): schema, JSONPaths, ARNs, reachability, unique names. */
function validateWithLibrary(name: string, definition: JsonObject): void {
  try {
    new StateMachine(asLibraryDefinition(definition));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new DefinitionError(`State machine "${name}" is not valid ASL: ${detail}`);
  }
}

/**
 * The library types definitions state by state; a JSON object is handed over as is because the
 * library validates it at runtime (`validateWithLibrary`) before any prepared copy is run.
 */
function asLibraryDefinition(definition: JsonObject): StateMachineDefinition {
  return definition as unknown as StateMachineDefinition;
}

function taskIntegration(name: string, stateName: string, state: JsonObject): TaskIntegration {
  const resource = state.Resource;
  if (typeof resource !== 'string') {
    throw new DefinitionError(
      `State machine "${name}", state "${stateName}": Resource is not a string (resolve intrinsics such as ` +
        'Fn::GetAtt with resolveIntrinsics first)',
    );
  }
  const functionName = functionNameOfArn(resource);
  if (functionName !== undefined) return { kind: 'lambda-function', functionName };
  const action = OPTIMISED_INTEGRATION.exec(resource)?.[1];
  switch (action) {
    case 'lambda:invoke':
      return { kind: 'lambda-invoke' };
    case 'states:startExecution':
      return { kind: 'start-execution', pattern: 'request-response' };
    case 'states:startExecution.sync':
      return { kind: 'start-execution', pattern: 'sync' };
    case 'states:startExecution.sync:2':
      return { kind: 'start-execution', pattern: 'sync:2' };
    default:
      throw new DefinitionError(
        `State machine "${name}", state "${stateName}": Resource "${resource}" is not supported locally ` +
          '(supported: Lambda function ARNs, arn:aws:states:::lambda:invoke, ' +
          'arn:aws:states:::states:startExecution[.sync|.sync:2])',
      );
  }
}

function collectStaticReferences(
  name: string,
  stateName: string,
  state: JsonObject,
  integration: TaskIntegration,
  functionNames: Set<string>,
  stateMachineNames: Set<string>,
): void {
  const parameters = isJsonObject(state.Parameters) ? state.Parameters : {};
  if (integration.kind === 'lambda-function') functionNames.add(integration.functionName);
  if (integration.kind === 'lambda-invoke' && typeof parameters.FunctionName === 'string') {
    functionNames.add(functionNameOf(parameters.FunctionName));
  }
  if (integration.kind === 'start-execution' && typeof parameters.StateMachineArn === 'string') {
    const target = stateMachineNameOfArn(parameters.StateMachineArn);
    if (target === undefined) {
      throw new DefinitionError(
        `State machine "${name}", state "${stateName}": StateMachineArn "${parameters.StateMachineArn}" ` +
          'is not a state machine ARN',
      );
    }
    stateMachineNames.add(target);
  }
}

/**
 * The copy the library runs. Only timing changes; the definition's logic stays as written:
 * - Task timeouts: the library defaults a Task to 60 s (the ASL spec's default) where AWS waits up
 *   to 99,999,999 s, which would time out any child execution running over a minute.
 * - A Distributed Map becomes a local task whose map run starts child executions of its item
 *   processor (`runMapRun`): the library has no Distributed Map and would run it inline.
 * - `ResultPath: "$"` (the result replaces the input) is dropped, for states and catchers: it is
 *   the default, and the library would write the result under a key named `$` instead.
 * - `waitTimeScale`: retrier `IntervalSeconds`/`MaxDelaySeconds` are scaled (the library then
 *   applies `BackoffRate` and `JitterStrategy` to the scaled values, so every wait scales), and
 *   Wait states become local tasks that sleep the scaled time (the library's own Wait override
 *   is a fixed number per state name and cannot scale `SecondsPath`/`TimestampPath`).
 */
function prepareForLibrary(original: JsonObject, waitTimeScale: number): JsonObject {
  const copy = toJson(original);
  if (!isJsonObject(copy)) throw new DefinitionError('unreachable: a JSON object copies to a JSON object');
  if (typeof copy.TimeoutSeconds === 'number')
    copy.TimeoutSeconds = Math.min(copy.TimeoutSeconds, MAX_TIMER_SECONDS);
  forEachState(copy, (stateName, state, siblings) => {
    if (state.ResultPath === '$') delete state.ResultPath;
    for (const catcher of arrayOf(state.Catch)) if (catcher.ResultPath === '$') delete catcher.ResultPath;
    if (state.Type === 'Task' && state.TimeoutSecondsPath === undefined) {
      const timeout = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : MAX_TIMER_SECONDS;
      state.TimeoutSeconds = Math.min(timeout, MAX_TIMER_SECONDS);
    }
    if (waitTimeScale !== 1 && Array.isArray(state.Retry)) {
      state.Retry = state.Retry.map((retrier) => scaleRetrier(retrier, waitTimeScale));
    }
    if (waitTimeScale !== 1 && state.Type === 'Wait') siblings[stateName] = waitAsLocalTask(state);
    // The library would run it as an inline Map; the runner serves it as a map run instead.
    if (isDistributedMap(state)) siblings[stateName] = distributedMapAsLocalTask(state, MAX_TIMER_SECONDS);
  });
  return copy;
}

function scaleRetrier(retrier: Json, scale: number): Json {
  if (!isJsonObject(retrier)) return retrier;
  // 1 s is the ASL default interval; it must be written out to be scaled.
  const interval = typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1;
  const scaled: JsonObject = { ...retrier, IntervalSeconds: interval * scale };
  if (typeof retrier.MaxDelaySeconds === 'number') scaled.MaxDelaySeconds = retrier.MaxDelaySeconds * scale;
  return scaled;
}

/**
 * A Wait state as a Task the runner serves (`waitHandler`): the library still applies `InputPath`
 * and `OutputPath`, and evaluates `SecondsPath`/`TimestampPath` against the effective input via
 * `Parameters`; the handler returns the effective input unchanged, as a Wait state does.
 */
function waitAsLocalTask(wait: JsonObject): JsonObject {
  const parameters: JsonObject = { 'input.$': '$' };
  if (typeof wait.SecondsPath === 'string') parameters['seconds.$'] = wait.SecondsPath;
  if (typeof wait.TimestampPath === 'string') parameters['timestamp.$'] = wait.TimestampPath;
  const task: JsonObject = {
    Type: 'Task',
    Resource: 'arn:aws:states:::local:wait',
    Parameters: parameters,
    TimeoutSeconds: MAX_TIMER_SECONDS,
  };
  for (const field of ['Comment', 'InputPath', 'OutputPath', 'Next', 'End']) {
    const value = wait[field];
    if (value !== undefined) task[field] = value;
  }
  return task;
}
