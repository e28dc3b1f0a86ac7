import type { StateInfo } from './definition';
import type { LibraryEvent } from './library-hooks';

/**
 * Which run of the library an event log belongs to: the execution itself, a Map iteration or a
 * Parallel branch (each runs as a nested library run with its own log).
 */
export type RunLevel =
  | { level: 'execution' }
  | { level: 'map-iteration'; mapState: string }
  | { level: 'parallel-branch' };

/** One execution's history is capped at 25,000 events; the service then fails it with `States.Runtime`. */
export const HISTORY_EVENT_LIMIT = 25_000;

/**
 * Translates the library's event log into the history events the service would record, so each
 * execution's count can be checked against the 25,000-event cap. A child started with
 * `startExecution` has its own history: its events never count towards the parent's.
 *
 * Rules (names as in GetExecutionHistory):
 * - ExecutionStarted; ExecutionSucceeded | ExecutionFailed | ExecutionAborted | ExecutionTimedOut.
 * - Every state: `<Type>StateEntered`; `<Type>StateExited` when it completes or a Catch routes
 *   on (a caught failure still exits). An uncaught failure records no exit: ExecutionFailed
 *   follows. Fail states record only FailStateEntered.
 * - Task, per attempt: Scheduled + Started (+ TaskSubmitted for `.sync`/`.sync:2`), then
 *   Succeeded, Failed or TimedOut. A Lambda function ARN as `Resource` records LambdaFunction*
 *   events, every other resource Task* events. Each Retry adds another attempt.
 * - Map: MapStateStarted after entering; per iteration MapIterationStarted and
 *   MapIterationSucceeded | MapIterationFailed | MapIterationAborted (a sibling failed) plus the
 *   iteration's own state events; MapStateSucceeded before exiting, or MapStateFailed.
 * - Distributed Map: as a Map, with MapRunStarted after MapStateStarted and MapRunSucceeded |
 *   MapRunFailed before its end; its items run as child executions with histories of their own.
 * - Parallel: ParallelStateStarted; the branches' state events; ParallelStateSucceeded | Failed.
 * Iterations the library starts after its Map has already failed are not counted (the service
 * never starts them). Each library run (execution, iteration, branch) has its own recorder.
 */
export class HistoryRecorder {
  /** Caught failures whose StateExited is still to come, by state name. */
  private readonly pendingCatches = new Map<string, number>();

  constructor(
    private readonly states: ReadonlyMap<string, StateInfo>,
    private readonly run: RunLevel,
    private readonly record: (type: string, stateName?: string) => void,
    /** The execution's closing event (ExecutionSucceeded, …): recorded by the execution once all logs are read. */
    private readonly closeExecution: (outcome: 'Succeeded' | 'Failed' | 'Aborted' | 'TimedOut') => void,
  ) {}

  translate(event: LibraryEvent): void {
    switch (event.type) {
      case 'ExecutionStarted':
        if (this.run.level === 'execution') this.record('ExecutionStarted');
        if (this.run.level === 'map-iteration') this.record('MapIterationStarted', this.run.mapState);
        return;
      case 'ExecutionSucceeded':
        this.runEnded('Succeeded');
        return;
      case 'ExecutionFailed':
        this.runEnded('Failed');
        return;
      case 'ExecutionAborted':
        this.runEnded('Aborted');
        return;
      case 'ExecutionTimeout':
        this.runEnded('TimedOut');
        return;
      // Nested runs' logs are read directly, so the library's forwarded copies never arrive.
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
      case 'ParallelBranchStarted':
      case 'ParallelBranchSucceeded':
      case 'ParallelBranchFailed':
        return;
      case 'StateEntered':
        this.entered(this.stateOf(event.state.name, event.state.type));
        return;
      case 'StateRetried':
        this.started(this.stateOf(event.state.name, event.state.type));
        return;
      case 'StateFailed':
        this.failed(this.stateOf(event.state.name, event.state.type), event.Error);
        return;
      case 'StateCaught':
        this.pendingCatches.set(event.state.name, (this.pendingCatches.get(event.state.name) ?? 0) + 1);
        return;
      case 'StateExited':
        this.exited(this.stateOf(event.state.name, event.state.type));
        return;
    }
  }

  private runEnded(outcome: 'Succeeded' | 'Failed' | 'Aborted' | 'TimedOut'): void {
    if (this.run.level === 'execution') this.closeExecution(outcome);
    if (this.run.level === 'map-iteration') this.record(`MapIteration${outcome}`, this.run.mapState);
  }

  private stateOf(name: string, libraryType: string): StateInfo {
    return this.states.get(name) ?? { name, type: libraryType, definition: {} };
  }

  private entered(state: StateInfo): void {
    this.record(`${state.type}StateEntered`, state.name);
    this.started(state);
  }

  /** The events of one attempt starting (first entry or a retry). */
  private started(state: StateInfo): void {
    if (state.type === 'Map' || state.type === 'Parallel')
      this.record(`${state.type}StateStarted`, state.name);
    if (state.integration?.kind === 'distributed-map') this.record('MapRunStarted', state.name);
    if (state.type !== 'Task') return;
    const prefix = taskEventPrefix(state);
    this.record(`${prefix}Scheduled`, state.name);
    this.record(`${prefix}Started`, state.name);
    const integration = state.integration;
    if (integration?.kind === 'start-execution' && integration.pattern !== 'request-response') {
      this.record('TaskSubmitted', state.name);
    }
  }

  private failed(state: StateInfo, error: string): void {
    if (state.integration?.kind === 'distributed-map') this.record('MapRunFailed', state.name);
    if (state.type === 'Map' || state.type === 'Parallel')
      this.record(`${state.type}StateFailed`, state.name);
    if (state.type !== 'Task') return;
    const outcome = error === 'States.Timeout' ? 'TimedOut' : 'Failed';
    this.record(`${taskEventPrefix(state)}${outcome}`, state.name);
  }

  private exited(state: StateInfo): void {
    const caught = this.pendingCatches.get(state.name) ?? 0;
    if (caught > 0) {
      // Concurrent iterations may interleave, but every catch is followed by exactly one exit of
      // that state, so the total stays exact.
      this.pendingCatches.set(state.name, caught - 1);
    } else if (state.type === 'Task') {
      this.record(`${taskEventPrefix(state)}Succeeded`, state.name);
    } else if (state.type === 'Map' || state.type === 'Parallel') {
      if (state.integration?.kind === 'distributed-map') this.record('MapRunSucceeded', state.name);
      this.record(`${state.type}StateSucceeded`, state.name);
    }
    this.record(`${state.type}StateExited`, state.name);
  }
}

function taskEventPrefix(state: StateInfo): string {
  return state.integration?.kind === 'lambda-function' ? 'LambdaFunction' : 'Task';
}
