/**
 * Local Step Functions runner: executes the project's ASL definitions (JSONPath) as they are on
 * aws-local-stepfunctions, with Lambda tasks served by local handlers and
 * `states:startExecution[.sync|.sync:2]` running child definitions as executions of their own.
 *
 *   const sfn = new LocalStepFunctions({ region, stateMachines, lambdas, waitTimeScale: 0 });
 *   const result = await sfn.startExecution('etl-parent', input);
 *   maxHistoryEvents(result); // largest history in the execution tree, against the 25,000 cap
 */
export { executionArn, LOCAL_ACCOUNT_ID, lambdaFunctionArn, stateMachineArn } from './arn';
export { DefinitionError, StatesError } from './errors';
export type { ExecutionEvent, ExecutionResult, ExecutionStatus } from './execution';
export { HISTORY_EVENT_LIMIT } from './history';
export { type IntrinsicResolvers, resolveIntrinsics } from './intrinsics';
export type { LambdaHandler, LocalLambdaContext } from './lambda';
export { LocalStepFunctions, type LocalStepFunctionsOptions, maxHistoryEvents } from './runner';
