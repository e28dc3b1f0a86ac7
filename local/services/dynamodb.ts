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
  /**
   * Fault injection: the next `times` BatchWriteItem calls write only the first half of their
   * requests and return the rest as UnprocessedItems, as DynamoDB does under throttling.
   */
  injectUnprocessedItems(times: number): void;
  /** Drops faults not yet consumed. */
  clearFaults(): void;
  /** BatchWriteItem calls answered with UnprocessedItems so far. */
  readonly unprocessedResponses: number;
}

/**
 * DynamoDB through dynalite (`createTableMs: 0`, so tables are ACTIVE at once), behind a small
 * front that implements UpdateTimeToLive / DescribeTimeToLive. The cloud template keeps its TTL
 * specification; the local stack applies the same specification through this front. Expiry itself
 * is not simulated (AWS deletes expired items lazily, within days, anyway).
 */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const inner = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path && { path: options.path }),
  });
  const [dynaliteHandler] = inner.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  if (dynaliteHandler === undefined) throw new Error('dynalite exposes no request handler');
  const timeToLive = new Map<string, TtlSpecification>();
  // dynalite also listens on a private port, used only to forward the reduced half of a
  // BatchWriteItem under fault injection; everything else is handed to its handler directly.
  const innerPort = await listen(inner, 0);
  let faultsLeft = 0;
  let unprocessedResponses = 0;

  const server = createServer((request, response) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target.endsWith('.UpdateTimeToLive') || target.endsWith('.DescribeTimeToLive')) {
      void answerTimeToLive(target, request, response, timeToLive);
      return;
    }
    if (faultsLeft > 0 && target.endsWith('.BatchWriteItem')) {
      faultsLeft--;
      unprocessedResponses++;
      void answerWithUnprocessed(request, response, innerPort);
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
    injectUnprocessedItems(times) {
      faultsLeft += times;
    },
    clearFaults() {
      faultsLeft = 0;
    },
    get unprocessedResponses() {
      return unprocessedResponses;
    },
    async stop() {
      await closeServer(server);
      // dynalite's close() also closes its LevelDB store.
      await new Promise<void>((resolve) => inner.close(() => resolve()));
    },
  };
}

type RequestItems = Record<string, unknown[]>;

/** Writes the first half of each table's requests through dynalite and returns the rest unprocessed. */
async function answerWithUnprocessed(request: IncomingMessage, response: ServerResponse, innerPort: number) {
  const input = JSON.parse(await readBody(request)) as { RequestItems: RequestItems };
  const processed: RequestItems = {};
  const unprocessed: RequestItems = {};
  for (const [table, requests] of Object.entries(input.RequestItems)) {
    const keep = Math.floor(requests.length / 2);
    if (keep > 0) processed[table] = requests.slice(0, keep);
    unprocessed[table] = requests.slice(keep);
  }
  if (Object.keys(processed).length > 0) {
    const forwarded = await fetch(`http://${LOOPBACK}:${innerPort}/`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.BatchWriteItem',
        // dynalite checks that a signature is present, not that it is valid.
        Authorization: String(request.headers.authorization ?? ''),
        'X-Amz-Date': String(request.headers['x-amz-date'] ?? ''),
      },
      body: JSON.stringify({ ...input, RequestItems: processed }),
    });
    if (!forwarded.ok) {
      response.writeHead(forwarded.status, { 'Content-Type': 'application/x-amz-json-1.0' });
      response.end(await forwarded.text());
      return;
    }
  }
  response.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
  response.end(JSON.stringify({ UnprocessedItems: unprocessed }));
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
