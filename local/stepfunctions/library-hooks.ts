import { type RunOptions, StateMachine } from 'aws-local-stepfunctions';

export type LibraryRun = ReturnType<StateMachine['run']>;
export type LibraryInput = Parameters<StateMachine['run']>[0];
export type LibraryEvent = LibraryRun['eventLogs'] extends AsyncGenerator<infer Event> ? Event : never;

/** Starts the run as the library would, with the (possibly replaced) options. */
export type StartRun = (options: RunOptions) => LibraryRun;
export type RunInterceptor = (machine: StateMachine, options: RunOptions, start: StartRun) => LibraryRun;

/** Interceptors by the `overrides` object of the runs they observe. */
const interceptors = new WeakMap<object, RunInterceptor>();

/**
 * Routes every library run started with `overrides` through `interceptor`. The library starts a
 * Map iteration or Parallel branch with its parent's run options, spread shallowly, so the
 * `overrides` object identifies the execution (and the run) a nested run belongs to.
 */
export function interceptRunsUsing(overrides: object, interceptor: RunInterceptor): void {
  interceptors.set(overrides, interceptor);
}

let installed = false;

/**
 * Wraps `StateMachine.prototype.run` once. Needed because the library gives no other access to
 * the runs it starts for Map iterations and Parallel branches:
 * - it forwards their event logs to the root log asynchronously and drops what arrives after a
 *   log has closed, so the tail events of the last iterations go missing; observing each run's
 *   own log loses nothing;
 * - after a failed iteration it aborts the running ones and still starts the queued ones; only
 *   per-run identity lets the runner stop those from invoking Lambdas or starting children.
 * Runs whose `overrides` were not registered here (anyone else's) are left untouched.
 */
export function installRunHook(): void {
  if (installed) return;
  installed = true;
  const originalRun = StateMachine.prototype.run;
  StateMachine.prototype.run = function run(this: StateMachine, input: LibraryInput, options?: RunOptions) {
    const interceptor = options?.overrides === undefined ? undefined : interceptors.get(options.overrides);
    if (options === undefined || interceptor === undefined) return originalRun.call(this, input, options);
    return interceptor(this, options, (replaced) => originalRun.call(this, input, replaced));
  };
}

/** An event log with nothing in it: what the library's forwarder gets instead of a nested run's log. */
export async function* noEvents(): AsyncGenerator<LibraryEvent> {}
