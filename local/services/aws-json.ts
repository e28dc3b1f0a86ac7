import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody } from './service';

/**
 * A minimal AWS JSON 1.1 protocol server: `POST /` with `X-Amz-Target: <Prefix>.<Operation>` and a
 * JSON body; errors as `{"__type": "...", "message": "..."}` with the HTTP status AWS uses, which
 * the SDK v3 turns into the service's named exception classes.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export type JsonObject = Record<string, unknown>;
export type Operation = (input: JsonObject) => Promise<JsonObject> | JsonObject;

export function createAwsJsonServer(targetPrefix: string, operations: Record<string, Operation>): Server {
  return createServer((request, response) => {
    void handle(targetPrefix, operations, request, response);
  });
}

async function handle(
  targetPrefix: string,
  operations: Record<string, Operation>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    const target = String(request.headers['x-amz-target'] ?? '');
    const [prefix, name] = target.split('.');
    const operation = name !== undefined ? operations[name] : undefined;
    if (prefix !== targetPrefix || operation === undefined) {
      throw new AwsServiceError(
        'UnknownOperationException',
        `Operation ${target || '(none)'} is not supported`,
      );
    }
    const body = await readBody(request);
    const input: unknown = body.length > 0 ? JSON.parse(body) : {};
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new AwsServiceError('SerializationException', 'Request body must be a JSON object');
    }
    send(response, 200, await operation(input as JsonObject));
  } catch (error) {
    if (error instanceof AwsServiceError) {
      send(response, error.statusCode, {
        __type: error.type,
        message: error.message,
        Message: error.message,
      });
    } else if (error instanceof SyntaxError) {
      send(response, 400, { __type: 'SerializationException', message: error.message });
    } else {
      const message = error instanceof Error ? error.message : String(error);
      send(response, 500, { __type: 'InternalServerException', message });
    }
  }
}

function send(response: ServerResponse, status: number, body: JsonObject): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': crypto.randomUUID(),
  });
  response.end(payload);
}

/** Reads a required string parameter, with the validation error AWS gives. */
export function requireString(input: JsonObject, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsServiceError('InvalidRequestException', `${key} is required`);
  }
  return value;
}

export function optionalString(input: JsonObject, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' ? value : undefined;
}
