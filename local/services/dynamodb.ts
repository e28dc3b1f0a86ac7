import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import dynalite from 'dynalite';
import { closeServer, LOOPBACK, listen, type RunningService, readBody } from './service';

export interface DynamoDbOptions {
  port?: number;
  /** LevelDB directory for persistence; in memory when omitted. */
  path?: string;
}

/** TTL settings per table: dynalite implements no UpdateTimeToLive, so this front answers it. */
type TtlSpecification = { AttributeName: string; Enabled: boolean };

export interface LocalDynamoDb extends RunningService {
  /** TTL settings applied through UpdateTimeToLive (for tests and the report of the local stack). */
  readonly timeToLive: ReadonlyMap<string, TtlSpecification>;
}

/**
 * DynamoDB through dynalite (`createTableMs: 0`, so tables are ACTIVE at once), behind a small
 * front that implements UpdateTimeToLive / DescribeTimeToLive. The cloud template keeps its TTL
 * specification; the local stack applies the same specification through this front. Expiry itself
 * is not simulated (AWS deletes expired items lazily, within days, anyway).
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const inner = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path && { path: options.path }) });
  const [dynaliteHandler] = inner.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (dynaliteHandler === undefined) throw new Error('dynalite exposes no request handler');
  const timeToLive = new Map<string, TtlSpecification>();

  const server = createServer((request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target.endsWith('.UpdateTimeToLive') || target.endsWith('.DescribeTimeToLive')) {
      void answerTimeToLive(target, request, response, timeToLive);
      return;
    }
    dynaliteHandler(request, response);
  });
  const port = await listen(server, options.port ?? 0);
  return {
    name: 'dynamodb',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    timeToLive,
    async stop() {
      await closeServer(server);
      // dynalite's own close() also closes its LevelDB store; its server never listened.
      await new Promise<void>((resolve) => inner.close(() => resolve()));
    },
  };
}

async function answerTimeToLive(
  target: string,
  request: IncomingMessage,
  response: ServerResponse,
  timeToLive: Map<string, TtlSpecification>,
): Promise<void> {
  const input = JSON.parse((await readBody(request)) || '{}') as {
    TableName?: string;
    TimeToLiveSpecification?: TtlSpecification;
  };
  const reply = (status: number, body: object) => {
    response.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0' });
    response.end(JSON.stringify(body));
  };
  if (!input.TableName) {
    reply(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'TableName is required' });
    return;
  }
  if (target.endsWith('.UpdateTimeToLive')) {
    const spec = input.TimeToLiveSpecification;
    if (!spec?.AttributeName) {
      reply(400, {
        __type: 'com.amazon.coral.validate#ValidationException',
        message: 'TimeToLiveSpecification.AttributeName is required',
      });
      return;
    }
    timeToLive.set(input.TableName, { AttributeName: spec.AttributeName, Enabled: Boolean(spec.Enabled) });
    reply(200, { TimeToLiveSpecification: spec });
    return;
  }
  const spec = timeToLive.get(input.TableName);
  reply(200, {
    TimeToLiveDescription: spec?.Enabled
      ? { TimeToLiveStatus: 'ENABLED', AttributeName: spec.AttributeName }
      : { TimeToLiveStatus: 'DISABLED' },
  });
}
