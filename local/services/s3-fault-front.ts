import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK, type RunningService } from './service';

/** An S3 error answer, as S3 sends it (XML body, status, `Code`). */
export interface S3Fault {
  method: 'GET' | 'PUT';
  status: 500 | 503;
  code: 'InternalError' | 'SlowDown';
  /** How many of the next requests of `method` get it. */
  times: number;
}

export interface S3FaultFront extends RunningService {
  inject(fault: S3Fault): void;
  /** Faulty answers given so far. */
  readonly answered: number;
  /** Requests still to be answered with a fault. */
  readonly pending: number;
}

/**
 * An HTTP front for the local S3 that answers chosen requests as S3 does when it struggles
 * (`500 InternalError`, `503 SlowDown`) and forwards everything else untouched. Pointing the
 * handlers' S3 endpoint at it puts the real SDK retry behaviour under test, with no mock in
 * the way. GET covers object reads (HEAD and listings are GETs of another kind: not counted);
 * PUT covers object writes and multipart part uploads.
 */
export async function startS3FaultFront(options: { target: string; port?: number }): Promise<S3FaultFront> {
  const target = new URL(options.target);
  const faults: S3Fault[] = [];
  let answered = 0;

  const take = (request: IncomingMessage): S3Fault | undefined => {
    const isListing =
      request.method === 'GET' && /[?&](list-type|uploads|delimiter|prefix)=/.test(request.url ?? '');
    const fault = faults.find((candidate) => candidate.method === request.method && candidate.times > 0);
    if (fault === undefined || isListing) return undefined;
    fault.times--;
    return fault;
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const fault = take(request);
    if (fault !== undefined) {
      answered++;
      request.resume();
      request.once('end', () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>injected by the S3 fault front</Message><RequestId>fault-${answered}</RequestId></Error>`;
        response.writeHead(fault.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
      });
      return;
    }
    const upstream = forward(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: target.host },
      },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.once('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, LOOPBACK, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name: 's3-fault-front',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    inject(fault) {
      faults.push({ ...fault });
    },
    get answered() {
      return answered;
    },
    get pending() {
      return faults.reduce((sum, fault) => sum + fault.times, 0);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
