/** The account id the local stack uses in every ARN it makes up. */
export const LOCAL_ACCOUNT_ID = '000000000000';

export function stateMachineArn(region: string, name: string): string {
  return `arn:aws:states:${region}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
}

export function executionArn(region: string, stateMachineName: string, executionName: string): string {
  return `arn:aws:states:${region}:${LOCAL_ACCOUNT_ID}:execution:${stateMachineName}:${executionName}`;
}

export function lambdaFunctionArn(region: string, functionName: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`;
}

const LAMBDA_FUNCTION_ARN = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/;
const LAMBDA_PARTIAL_ARN = /^\d{12}:function:([^:]+)(?::[^:]+)?$/;
const STATE_MACHINE_ARN = /^arn:[^:]+:states:[^:]*:[^:]*:stateMachine:([^:]+)(?::[^:]+)?$/;

/** The function name of a full Lambda function ARN (qualifier dropped), or undefined. */
export function functionNameOfArn(arn: string): string | undefined {
  return LAMBDA_FUNCTION_ARN.exec(arn)?.[1];
}

/**
 * `lambda:invoke` accepts `FunctionName` as a name, a full ARN or a partial ARN, each with an
 * optional `:qualifier` (version or alias); locally every qualifier runs the one handler.
 */
export function functionNameOf(nameOrArn: string): string {
  const match = LAMBDA_FUNCTION_ARN.exec(nameOrArn) ?? LAMBDA_PARTIAL_ARN.exec(nameOrArn);
  if (match?.[1] !== undefined) return match[1];
  return nameOrArn.split(':')[0] ?? nameOrArn;
}

/** The state machine name of a state machine ARN (version or alias suffix dropped), or undefined. */
export function stateMachineNameOfArn(arn: string): string | undefined {
  return STATE_MACHINE_ARN.exec(arn)?.[1];
}
