import { randomUUID } from 'node:crypto';
import { executionArn, stateMachineArn, stateMachineNameOfArn } from './arn';
import { type CompiledStateMachine, compileStateMachine } from './definition';
import type { MapRunObjectStorage } from './distributed-map';
import { DefinitionError, StatesError } from './errors';
import { Execution, type ExecutionEvent, type ExecutionResult, type ExecutionServices } from './execution';
import { HISTORY_EVENT_LIMIT } from './history';
import { type Json, toJson } from './json';
import { invokeLambda, invokeLambdaIntegration, type LambdaHandler } from './lambda';

export interface LocalStepFunctionsOptions {
  /** Region used in every ARN: `arn:aws:states:<region>:000000000000:stateMachine:<name>`. */
  region: string;
  /** State machine name → ASL definition (JSONPath, intrinsics already resolved). */
  stateMachines: Record<string, object>;
  /** Lambda function name (as in the function ARN) → local handler. */
  lambdas: Record<string, LambdaHandler>;
  /**
   * Multiplies every Retry interval and Wait duration without touching the definition:
   * 0 skips waiting (tests), 1 (default) waits as in AWS.
   */
  waitTimeScale?: number;
  /** Called for every history event as it is recorded (progress, tests). Must not throw. */
  onEvent?: (event: ExecutionEvent) => void;
  /** History events after which an execution fails with `States.Runtime` (the service's cap: 25,000). */
  historyEventLimit?: number;
  /** Where Distributed Maps read their items (`ItemReader`) and write results (`ResultWriter`). */
  objectStorage?: MapRunObjectStorage;
}

/**
 * Runs the project's ASL definitions locally, as they are, on aws-local-stepfunctions: Lambda
 * tasks call local handlers, `states:startExecution[.sync|.sync:2]` runs the named child
 * definition as an execution of its own, Retry/Wait timing scales with `waitTimeScale`, and every
 * execution counts its history events against the 25,000-event cap. Never calls AWS.
 */
export class LocalStepFunctions {
  private readonly region: string;
  private readonly machines = new Map<string, CompiledStateMachine>();
  /** Execution ARNs handed out so far: names are unique per state machine, as in the service. */
  private readonly executionArns = new Set<string>();
  private readonly services: ExecutionServices;

  constructor(options: LocalStepFunctionsOptions) {
    const waitTimeScale = options.waitTimeScale ?? 1;
    if (!Number.isFinite(waitTimeScale) || waitTimeScale < 0) {
      throw new RangeError(`waitTimeScale must be a finite number >= 0, got ${waitTimeScale}`);
    }
    const historyEventLimit = options.historyEventLimit ?? HISTORY_EVENT_LIMIT;
    if (!Number.isInteger(historyEventLimit) || historyEventLimit < 1) {
      throw new RangeError(`historyEventLimit must be a positive integer, got ${historyEventLimit}`);
    }
    this.region = options.region;
    // A Distributed Map's item processor runs as a state machine of its own (`<machine>/<state>`).
    const pending: [string, object][] = Object.entries(options.stateMachines);
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
      const [name, definition] = next;
      const machine = compileStateMachine(name, definition, { waitTimeScale });
      this.machines.set(name, machine);
      pending.push(...machine.processors);
    }
    const lambdas = { ...options.lambdas };
    this.checkReferences(lambdas);
    this.services = {
      region: this.region,
      waitTimeScale,
      historyEventLimit,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      invokeLambda: (functionName, payload) => invokeLambda(this.region, lambdas, functionName, payload),
      invokeLambdaIntegration: (request) => invokeLambdaIntegration(this.region, lambdas, request),
      startChild: (parent, arn, input, name) => this.startChild(parent, arn, input, name),
      ...(options.objectStorage === undefined ? {} : { objectStorage: options.objectStorage }),
    };
  }

  /** The ARN definitions use to start `name` (e.g. as a `Ref` resolved by `resolveIntrinsics`). */
  stateMachineArn(name: string): string {
    return stateMachineArn(this.region, name);
  }

  /**
   * Runs an execution to its end and resolves with its result, once every execution it started
   * (fire-and-forget ones included) has ended too, so `children` is complete. A failed execution
   * resolves with status FAILED; only misuse (unknown machine, duplicate name) rejects.
   */
  async startExecution(
    stateMachineName: string,
    input: unknown,
    options: { name?: string } = {},
  ): Promise<ExecutionResult> {
    const machine = this.machines.get(stateMachineName);
    if (machine === undefined) {
      throw new Error(
        `Unknown state machine "${stateMachineName}" (known: ${[...this.machines.keys()].join(', ') || 'none'})`,
      );
    }
    const execution = this.launch(machine, toJson(input), options.name);
    const result = await execution.finished;
    await execution.settled();
    return result;
  }

  /** Fail fast: a definition naming a function or state machine the runner lacks is a setup error. */
  private checkReferences(lambdas: Readonly<Record<string, LambdaHandler>>): void {
    for (const machine of this.machines.values()) {
      for (const functionName of machine.functionNames) {
        if (!Object.hasOwn(lambdas, functionName)) {
          throw new DefinitionError(
            `State machine "${machine.name}" invokes Lambda function "${functionName}", which has no local handler ` +
              `(lambdas: ${Object.keys(lambdas).join(', ') || 'none'})`,
          );
        }
      }
      for (const target of machine.stateMachineNames) {
        if (!this.machines.has(target)) {
          throw new DefinitionError(
            `State machine "${machine.name}" starts state machine "${target}", which was not given ` +
              `(stateMachines: ${[...this.machines.keys()].join(', ')})`,
          );
        }
      }
    }
  }

  private startChild(parent: Execution, arn: string, input: Json, name: string | undefined): Execution {
    const targetName = stateMachineNameOfArn(arn);
    const machine = targetName === undefined ? undefined : this.machines.get(targetName);
    if (machine === undefined) {
      throw new StatesError(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${arn}'`,
      );
    }
    const child = this.launch(machine, input, name);
    parent.adopt(child);
    return child;
  }

  private launch(machine: CompiledStateMachine, input: Json, name: string = randomUUID()): Execution {
    const arn = executionArn(this.region, machine.name, name);
    if (this.executionArns.has(arn)) {
      throw new StatesError(
        'StepFunctions.ExecutionAlreadyExistsException',
        `Execution Already Exists: '${arn}'`,
      );
    }
    this.executionArns.add(arn);
    return new Execution(this.services, machine, input, name, arn);
  }
}

/** The largest history of an execution and all executions it started: what the 25,000 cap applies to. */
export function maxHistoryEvents(result: ExecutionResult): number {
  return Math.max(result.historyEventCount, ...result.children.map(maxHistoryEvents));
}
