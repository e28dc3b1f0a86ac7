import { setImmediate as nextMacrotask, setTimeout as sleep } from 'node:timers/promises';
import {
  ExecutionAbortedError,
  ExecutionError,
  ExecutionTimeoutError,
  type RunOptions,
  type StateMachine,
} from 'aws-local-stepfunctions';
import { stateMachineArn } from './arn';
import type { CompiledStateMachine, StateInfo, TaskIntegration } from './definition';
import { type DistributedMapSpec, type MapRunObjectStorage, runMapRun } from './distributed-map';
import { StatesError, statesRuntimeError, taskErrorFrom } from './errors';
import { HistoryRecorder, type RunLevel } from './history';
import { isJsonObject, type Json, type JsonObject, jsonByteLength, parseJson } from './json';
import {
  installRunHook,
  interceptRunsUsing,
  type LibraryEvent,
  type LibraryRun,
  noEvents,
  type StartRun,
} from './library-hooks';

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface ExecutionResult {
  executionArn: string;
  name: string;
  stateMachineName: string;
  status: ExecutionStatus;
  /** The input the execution was started with. */
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  /** History events the service would have recorded for this execution alone (children excluded). */
  historyEventCount: number;
  startDate: Date;
  stopDate: Date;
  /** Executions this one started (`startExecution[.sync|.sync:2]`), in order of completion. */
  children: ExecutionResult[];
}

/** One history event as it is recorded (see `HistoryRecorder` for the rules). */
export interface ExecutionEvent {
  executionArn: string;
  stateMachineName: string;
  type: string;
  stateName?: string;
}

/** What an execution needs from the runner that started it. */
export interface ExecutionServices {
  region: string;
  waitTimeScale: number;
  historyEventLimit: number;
  onEvent?: (event: ExecutionEvent) => void;
  invokeLambda(functionName: string, payload: Json): Promise<Json>;
  invokeLambdaIntegration(request: Json): Promise<Json>;
  /** Starts a child execution; throws a `StatesError` the calling Task state reports. */
  startChild(parent: Execution, stateMachineArn: string, input: Json, name: string | undefined): Execution;
  /** Where Distributed Maps read items and write results (the local S3). */
  objectStorage?: MapRunObjectStorage;
}

/** Step Functions' payload quota: 256 KiB of UTF-8 JSON per state input or output. */
const PAYLOAD_LIMIT_BYTES = 256 * 1024;

type Outcome = Pick<ExecutionResult, 'status' | 'error' | 'cause'> & { output?: Json };
type TaskHandler = (input: Json) => Promise<Json>;
type TaskHandlers = NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
type ClosingEvent = 'Succeeded' | 'Failed' | 'Aborted' | 'TimedOut';

/**
 * Item-processor machines (one per Map invocation) whose iterations were aborted because one
 * failed: any further run of them is a queued iteration the service would never start.
 */
const failedIterators = new WeakSet<StateMachine>();

/** One library run of an execution: the execution itself, a Map iteration or a Parallel branch. */
class RunScope {
  aborted = false;
  readonly syncChildren = new Set<Execution>();

  constructor(
    readonly parent: RunScope | undefined,
    /** Started after its Map failed or its execution ended: does nothing and is not counted. */
    readonly stray: boolean,
  ) {}

  get dead(): boolean {
    return this.aborted || this.stray || (this.parent?.dead ?? false);
  }
}

/** One execution: a run of the library plus this runner's integrations and history accounting. */
export class Execution {
  readonly startDate = new Date();
  /** Settles once this execution has ended (not its fire-and-forget children). */
  readonly finished: Promise<ExecutionResult>;
  private readonly children: ExecutionResult[] = [];
  private readonly childExecutions: Execution[] = [];
  private readonly runningSyncChildren = new Set<Execution>();
  /** Event log readers of every run of this execution (nested runs included). */
  private readonly logReaders: Promise<void>[] = [];
  /** The library run has settled: no task of this execution may start work any more. */
  private closed = false;
  /** The runner has asked the library run to stop (abort, history cap, payload quota). */
  private stopping = false;
  private historyEventCount = 0;
  private closingEvent: ClosingEvent | undefined;
  private runnerFailure: { error: string; cause: string } | undefined;
  private hookError: { error: unknown } | undefined;
  private abortRun: () => void = () => {};
  /** The output as JSON, for the `.sync` integrations (the public result types it `unknown`). */
  private outputJson: Json | undefined;

  constructor(
    private readonly services: ExecutionServices,
    private readonly machine: CompiledStateMachine,
    readonly input: Json,
    readonly name: string,
    readonly executionArn: string,
  ) {
    installRunHook();
    this.finished = this.run();
  }

  /** Stops the execution (status ABORTED), as StopExecution would; a no-op once it has ended. */
  abort(): void {
    if (this.closed) return;
    this.stopping = true;
    this.abortRun();
  }

  /** Waits for this execution and every execution it started, fire-and-forget ones included. */
  async settled(): Promise<void> {
    await this.finished.catch(() => undefined);
    await Promise.all(this.childExecutions.map((child) => child.settled()));
  }

  /** Records a child started by one of this execution's tasks. */
  adopt(child: Execution): void {
    this.childExecutions.push(child);
    child.finished.then(
      (result) => this.children.push(result),
      () => undefined,
    );
  }

  private async run(): Promise<ExecutionResult> {
    const overrides = {};
    interceptRunsUsing(overrides, (machine, options, start) =>
      this.interceptRun(machine, options, start, undefined),
    );
    const run = this.machine.machine.run(this.input, {
      overrides,
      context: {
        Execution: { Id: this.executionArn, Name: this.name },
        StateMachine: {
          Id: stateMachineArn(this.services.region, this.machine.name),
          Name: this.machine.name,
        },
      },
    });
    this.abortRun = run.abort;
    const settled = await run.result.then(
      (output): Outcome => ({ status: 'SUCCEEDED', output }),
      (error: unknown) => this.failureOutcome(error),
    );
    this.closed = true;
    const stopDate = new Date();
    // The service stops `.sync` children whose parent task is cancelled; fire-and-forget ones run on.
    for (const child of this.runningSyncChildren) child.abort();
    await this.readAllLogs();
    // Quotas are checked on the logs, which may trail the run: a breach found late still fails it.
    const outcome: Outcome =
      this.runnerFailure === undefined ? settled : { status: 'FAILED', ...this.runnerFailure };
    this.recordClosingEvent(outcome);
    if (this.hookError !== undefined) throw this.hookError.error;
    this.outputJson = outcome.output;
    return {
      executionArn: this.executionArn,
      name: this.name,
      stateMachineName: this.machine.name,
      input: this.input,
      ...outcome,
      historyEventCount: this.historyEventCount,
      startDate: this.startDate,
      stopDate,
      children: this.children,
    };
  }

  /**
   * Every library run of this execution comes through here (see `installRunHook`): it gets task
   * handlers bound to its own scope, its event log is read directly, and its abort is observed.
   */
  private interceptRun(
    machine: StateMachine,
    options: RunOptions,
    start: StartRun,
    parent: RunScope | undefined,
  ): LibraryRun {
    const stray =
      parent !== undefined && (this.closed || this.stopping || parent.dead || failedIterators.has(machine));
    const scope = new RunScope(parent, stray);
    const overrides = { ...options.overrides, taskResourceLocalHandlers: this.taskHandlers(scope) };
    interceptRunsUsing(overrides, (nested, nestedOptions, nestedStart) =>
      this.interceptRun(nested, nestedOptions, nestedStart, scope),
    );
    const run = start({ ...options, overrides });
    if (stray) {
      run.abort();
      return { ...run, eventLogs: noEvents() };
    }
    const level = parent === undefined ? { level: 'execution' as const } : this.levelOf(machine);
    this.logReaders.push(this.readLog(run.eventLogs, level));
    // The library's Map and Parallel states call this when a sibling run failed.
    const abort = () => {
      if (parent !== undefined) failedIterators.add(machine);
      scope.aborted = true;
      for (const child of scope.syncChildren) child.abort();
      run.abort();
    };
    return { abort, result: run.result, eventLogs: noEvents() };
  }

  /** What a nested run is, from the state its definition starts at. */
  private levelOf(machine: StateMachine): RunLevel {
    // `definition` is private in the library's types; it is the nested definition from our copy.
    const definition: unknown = Reflect.get(machine, 'definition');
    const startAt =
      isJsonObject(definition) && typeof definition.StartAt === 'string' ? definition.StartAt : '';
    const enclosing = this.machine.enclosingStates.get(startAt);
    if (enclosing?.type === 'Map') return { level: 'map-iteration', mapState: enclosing.name };
    return { level: 'parallel-branch' };
  }

  private async readLog(events: AsyncGenerator<LibraryEvent>, level: RunLevel): Promise<void> {
    const recorder = new HistoryRecorder(
      this.machine.states,
      level,
      (type, stateName) => this.record(type, stateName),
      (closing) => {
        this.closingEvent = closing;
      },
    );
    for await (const event of events) {
      this.checkPayloadQuota(event);
      recorder.translate(event);
    }
  }

  /** Reads until every run's log has closed (runs may start while earlier logs are read). */
  private async readAllLogs(): Promise<void> {
    let read = 0;
    while (read < this.logReaders.length) {
      const pending = this.logReaders.slice(read);
      read = this.logReaders.length;
      await Promise.all(pending);
    }
  }

  /** Recorded last, once all logs are read, so it closes the history as in the service. */
  private recordClosingEvent(outcome: Outcome): void {
    if (this.closingEvent === undefined) return;
    const byStatus: Record<ExecutionStatus, string> = {
      SUCCEEDED: 'ExecutionSucceeded',
      FAILED: 'ExecutionFailed',
      ABORTED: 'ExecutionAborted',
      TIMED_OUT: 'ExecutionTimedOut',
    };
    this.record(byStatus[outcome.status], undefined);
  }

  private failureOutcome(error: unknown): Outcome {
    if (error instanceof ExecutionAbortedError) return { status: 'ABORTED' };
    if (error instanceof ExecutionTimeoutError) return { status: 'TIMED_OUT', error: 'States.Timeout' };
    const inner = error instanceof ExecutionError ? error.cause : error;
    if (!(inner instanceof Error)) return { status: 'FAILED', error: 'States.Runtime', cause: String(inner) };
    // A Fail state without Error/Cause gets the library's placeholders; the service reports none.
    return {
      status: 'FAILED',
      error: inner.name === 'FailStateError' ? undefined : inner.name,
      cause: inner.message === 'Execution failed because of a Fail state' ? undefined : inner.message,
    };
  }

  private record(type: string, stateName: string | undefined): void {
    this.historyEventCount += 1;
    try {
      this.services.onEvent?.({
        executionArn: this.executionArn,
        stateMachineName: this.machine.name,
        type,
        ...(stateName === undefined ? {} : { stateName }),
      });
    } catch (error) {
      // A broken progress hook must not leave an execution running unobserved.
      this.hookError ??= { error };
      this.abort();
    }
    const limit = this.services.historyEventLimit;
    if (this.historyEventCount > limit) {
      this.failFromRunner(
        'States.Runtime',
        `The execution reached the maximum number of history events (${limit}).`,
      );
    }
  }

  /**
   * The library has no payload quota. Checked on the event log, so the execution fails as a whole
   * (the service's States.DataLimitExceeded is terminal as well: `States.ALL` does not catch it).
   */
  private checkPayloadQuota(event: LibraryEvent): void {
    if (event.type !== 'StateEntered' && event.type !== 'StateExited') return;
    const payload = event.type === 'StateEntered' ? event.state.input : event.state.output;
    if (payload === undefined || jsonByteLength(payload) <= PAYLOAD_LIMIT_BYTES) return;
    const what = event.type === 'StateEntered' ? 'received an input' : 'returned a result';
    this.failFromRunner(
      'States.DataLimitExceeded',
      `The state/task '${event.state.name}' ${what} with a size exceeding the maximum number of bytes service limit.`,
    );
  }

  /** Fails the execution with an error the library cannot raise itself. */
  private failFromRunner(error: string, cause: string): void {
    if (this.runnerFailure !== undefined) return;
    this.runnerFailure = { error, cause };
    this.abort();
  }

  /**
   * The library keys local task handlers by state name; names are unique machine-wide (ASL), so
   * one map per run serves every state that run can reach.
   */
  private taskHandlers(scope: RunScope): TaskHandlers {
    const handlers: Record<string, TaskHandler> = {};
    for (const state of this.machine.states.values()) {
      const integration = state.integration;
      if (integration !== undefined) {
        handlers[state.name] = (input) => this.runTask(scope, () => this.serve(scope, integration, input));
      } else if (state.type === 'Wait' && this.machine.waitsRunAsTasks) {
        handlers[state.name] = (input) => this.runTask(scope, () => this.wait(state, input));
      }
    }
    return handlers;
  }

  /**
   * A task of a run that was aborted (the library still finishes, and even retries, the state in
   * flight) or of an execution that has ended does no work: no Lambda call, no child execution.
   * It first yields one macrotask: when an iteration fails, the library's concurrency limiter
   * starts the next queued iteration a few microtasks before the Map aborts its siblings, and
   * that iteration must see the abort before it invokes anything.
   */
  private async runTask(scope: RunScope, work: () => Promise<Json>): Promise<Json> {
    await nextMacrotask();
    if (scope.dead || this.closed || this.stopping) {
      throw statesRuntimeError(`Execution ${this.executionArn}: the run of this task has been stopped`);
    }
    try {
      return await work();
    } catch (error) {
      throw taskErrorFrom(error);
    }
  }

  private serve(scope: RunScope, integration: TaskIntegration, input: Json): Promise<Json> {
    switch (integration.kind) {
      case 'lambda-function':
        return this.services.invokeLambda(integration.functionName, input);
      case 'lambda-invoke':
        return this.services.invokeLambdaIntegration(input);
      case 'start-execution':
        return this.startExecutionTask(scope, integration.pattern, input);
      case 'distributed-map':
        return this.mapRunTask(scope, integration.map, input);
    }
  }

  /**
   * A Distributed Map's map run: its children are executions of the item processor with histories
   * of their own; like `.sync` children they are stopped when this execution or the state's run is.
   */
  private mapRunTask(scope: RunScope, map: DistributedMapSpec, request: Json): Promise<Json> {
    const processorArn = stateMachineArn(this.services.region, map.processorName);
    return runMapRun(
      {
        region: this.services.region,
        stateMachineName: this.machine.name,
        context: {
          Execution: { Id: this.executionArn, Name: this.name },
          StateMachine: {
            Id: stateMachineArn(this.services.region, this.machine.name),
            Name: this.machine.name,
          },
        },
        storage: this.services.objectStorage,
        startChild: (input, name) => {
          const child = this.services.startChild(this, processorArn, input, name);
          this.runningSyncChildren.add(child);
          scope.syncChildren.add(child);
          const forget = () => {
            this.runningSyncChildren.delete(child);
            scope.syncChildren.delete(child);
          };
          child.finished.then(forget, forget);
          return child;
        },
        stopped: () => scope.dead || this.closed || this.stopping,
      },
      map,
      request,
    );
  }

  private async startExecutionTask(
    scope: RunScope,
    pattern: 'request-response' | 'sync' | 'sync:2',
    request: Json,
  ): Promise<Json> {
    if (!isJsonObject(request) || typeof request.StateMachineArn !== 'string') {
      throw statesRuntimeError('startExecution needs Parameters.StateMachineArn');
    }
    const child = this.services.startChild(
      this,
      request.StateMachineArn,
      childInput(request.Input),
      stringOr(request.Name),
    );
    if (pattern === 'request-response') {
      return { ExecutionArn: child.executionArn, StartDate: child.startDate.getTime() };
    }
    this.runningSyncChildren.add(child);
    scope.syncChildren.add(child);
    let result: ExecutionResult;
    try {
      result = await child.finished;
    } finally {
      this.runningSyncChildren.delete(child);
      scope.syncChildren.delete(child);
    }
    const description = describeExecution(
      result,
      child.input,
      child.outputJson ?? null,
      this.services.region,
      pattern,
    );
    if (result.status !== 'SUCCEEDED')
      throw new StatesError('States.TaskFailed', JSON.stringify(description));
    return description;
  }

  private async wait(state: StateInfo, input: Json): Promise<Json> {
    const seconds = waitSeconds(state, input);
    await sleep(seconds * 1000 * this.services.waitTimeScale);
    return isJsonObject(input) ? (input.input ?? null) : null;
  }
}

/** `Input` may be given as JSON text (the API's form) or as JSON (the usual ASL form). */
function childInput(input: Json | undefined): Json {
  if (input === undefined) return {};
  if (typeof input !== 'string') return input;
  try {
    return parseJson(input);
  } catch {
    throw new StatesError(
      'StepFunctions.InvalidExecutionInputException',
      `Invalid State Machine Execution Input: '${input}'`,
    );
  }
}

function stringOr(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * What `startExecution.sync[:2]` returns (the DescribeExecution response): `.sync:2` carries Input
 * and Output as JSON, `.sync` as JSON text; dates are epoch milliseconds. On failure the same
 * document, with Error and Cause, is the parent task's `States.TaskFailed` cause.
 */
function describeExecution(
  result: ExecutionResult,
  input: Json,
  output: Json,
  region: string,
  pattern: 'sync' | 'sync:2',
): JsonObject {
  const encode = (value: Json): Json => (pattern === 'sync:2' ? value : JSON.stringify(value));
  const description: JsonObject = {
    ExecutionArn: result.executionArn,
    Input: encode(input),
    InputDetails: { Included: true },
    Name: result.name,
  };
  if (result.status === 'SUCCEEDED') {
    description.Output = encode(output);
    description.OutputDetails = { Included: true };
  }
  description.RedriveCount = 0;
  description.RedriveStatus = result.status === 'SUCCEEDED' ? 'NOT_REDRIVABLE' : 'REDRIVABLE';
  if (result.status === 'SUCCEEDED')
    description.RedriveStatusReason = 'Execution is SUCCEEDED and cannot be redriven';
  description.StartDate = result.startDate.getTime();
  description.StateMachineArn = stateMachineArn(region, result.stateMachineName);
  description.Status = result.status;
  description.StopDate = result.stopDate.getTime();
  if (result.error !== undefined) description.Error = result.error;
  if (result.cause !== undefined) description.Cause = result.cause;
  return description;
}

/** Seconds a Wait state (running as a local task, see `waitAsLocalTask`) has to wait. */
function waitSeconds(state: StateInfo, input: Json): number {
  const wait = state.definition;
  const evaluated = isJsonObject(input) ? input : {};
  const seconds = typeof wait.Seconds === 'number' ? wait.Seconds : evaluated.seconds;
  if (seconds !== undefined) {
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw statesRuntimeError(
        `Wait state '${state.name}': seconds must be a non-negative integer, got ${JSON.stringify(seconds)}`,
      );
    }
    return seconds;
  }
  const timestamp = typeof wait.Timestamp === 'string' ? wait.Timestamp : evaluated.timestamp;
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (Number.isNaN(at)) {
    throw statesRuntimeError(
      `Wait state '${state.name}': timestamp must be an ISO-8601 date, got ${JSON.stringify(timestamp)}`,
    );
  }
  return Math.max(0, (at - Date.now()) / 1000);
}
