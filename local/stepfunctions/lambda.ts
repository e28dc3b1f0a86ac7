import { randomUUID } from 'node:crypto';
import { functionNameOf, lambdaFunctionArn } from './arn';
import { StatesError, statesRuntimeError, taskErrorFrom } from './errors';
import { isJsonObject, type Json, type JsonObject, toJson } from './json';

/** The parts of the Lambda Node.js context a handler may read. */
export interface LocalLambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

export type LambdaHandler = (event: unknown, context: LocalLambdaContext) => Promise<unknown>;

/** Lambda's maximum timeout (15 min): the most a handler can count on, so the local budget. */
const LAMBDA_MAX_TIMEOUT_MS = 15 * 60 * 1000;
/** The Serverless Framework's default `memorySize`. */
const DEFAULT_MEMORY_MB = '1024';

/**
 * Runs the local handler registered for `functionName` with a JSON copy of `payload` (a handler
 * must not be able to mutate the state's data, as over the wire) and returns a JSON copy of its
 * result. A throw becomes the state error named after the thrown error.
 */
export async function invokeLambda(
  region: string,
  lambdas: Readonly<Record<string, LambdaHandler>>,
  functionName: string,
  payload: Json,
): Promise<Json> {
  const handler = Object.hasOwn(lambdas, functionName) ? lambdas[functionName] : undefined;
  const functionArn = lambdaFunctionArn(region, functionName);
  if (handler === undefined) {
    throw new StatesError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${functionArn} (no local handler is registered under "${functionName}")`,
    );
  }
  const requestId = randomUUID();
  const deadline = Date.now() + LAMBDA_MAX_TIMEOUT_MS;
  const context: LocalLambdaContext = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: DEFAULT_MEMORY_MB,
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${requestId}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    return toJson(await handler(toJson(payload), context));
  } catch (error) {
    throw taskErrorFrom(error);
  }
}

/**
 * `arn:aws:states:::lambda:invoke`: the effective input is the Invoke request; the output is the
 * Invoke response as the service integration returns it (payload parsed, `StatusCode` 200).
 */
export async function invokeLambdaIntegration(
  region: string,
  lambdas: Readonly<Record<string, LambdaHandler>>,
  request: Json,
): Promise<JsonObject> {
  if (!isJsonObject(request) || typeof request.FunctionName !== 'string') {
    throw statesRuntimeError('lambda:invoke needs Parameters.FunctionName (a function name or ARN)');
  }
  const invocationType = request.InvocationType ?? 'RequestResponse';
  if (invocationType !== 'RequestResponse') {
    throw statesRuntimeError(
      `lambda:invoke InvocationType ${JSON.stringify(invocationType)} is not supported locally`,
    );
  }
  const payload = await invokeLambda(
    region,
    lambdas,
    functionNameOf(request.FunctionName),
    request.Payload ?? {},
  );
  const requestId = randomUUID();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      HttpHeaders: {
        'Content-Type': 'application/json',
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-RequestId': requestId,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}
