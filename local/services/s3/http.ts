/** Request parsing and S3 answers (XML documents, errors, common headers), shared by the API modules. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgument, S3Error } from './errors';
import { OWNER, urlEncodeKey } from './handlers-util';
import { type XmlNode, xmlDocument, xmlError } from './xml';

export interface Request {
  http: IncomingMessage;
  response: ServerResponse;
  method: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
  requestId: string;
  resource: string;
}

export type Headers = Record<string, string | number>;

// Request parsing and answers.

export const SUBRESOURCES = [
  'accelerate',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'website',
  'legal-hold',
  'retention',
  'restore',
  'select',
  'torrent',
];
export const hasOtherSubresource = (query: URLSearchParams) => SUBRESOURCES.some((name) => query.has(name));

export function notImplemented(request: Request) {
  return new S3Error(
    'NotImplemented',
    501,
    'A header or query you provided implies functionality that is not implemented by the local S3',
    {
      Method: request.method,
    },
  );
}

export function methodNotAllowed(request: Request) {
  return new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', {
    Method: request.method,
    ResourceType: request.key === undefined ? 'BUCKET' : 'OBJECT',
  });
}

export function parseRequest(http: IncomingMessage, response: ServerResponse, requestId: string): Request {
  const url = http.url ?? '/';
  const mark = url.indexOf('?');
  const rawPath = mark === -1 ? url : url.slice(0, mark);
  const query = new URLSearchParams(mark === -1 ? '' : url.slice(mark + 1));
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new S3Error('InvalidURI', 400, "Couldn't parse the specified URI.", { URI: url });
    }
  };
  let bucket: string | undefined;
  let key: string | undefined;
  // `<bucket>.localhost` is what SDKs send when told to use virtual-hosted style locally.
  const host = (http.headers.host ?? '').replace(/:\d+$/, '');
  const virtualHost = /^(.+)\.localhost$/.exec(host);
  if (virtualHost) {
    bucket = virtualHost[1];
    key = rawPath.length > 1 ? decode(rawPath.slice(1)) : undefined;
  } else {
    const path = rawPath.slice(1);
    const slash = path.indexOf('/');
    const bucketPart = slash === -1 ? path : path.slice(0, slash);
    bucket = bucketPart === '' ? undefined : decode(bucketPart);
    const keyPart = slash === -1 ? '' : path.slice(slash + 1);
    key = keyPart === '' ? undefined : decode(keyPart);
  }
  return {
    http,
    response,
    method: http.method ?? 'GET',
    bucket,
    key,
    query,
    requestId,
    resource: bucket === undefined ? '/' : `/${bucket}${key === undefined ? '' : `/${key}`}`,
  };
}

export function ownerXml(): XmlNode[] {
  return [
    ['ID', OWNER.ID],
    ['DisplayName', OWNER.DisplayName],
  ];
}

export function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

export function commonHeaders(request: { requestId: string }): Headers {
  return { 'x-amz-request-id': request.requestId, 'x-amz-id-2': request.requestId, Server: 'LocalS3' };
}

export function send(request: Request, status: number, body?: string, headers: Headers = {}): void {
  const payload = body === undefined ? undefined : Buffer.from(body);
  request.response.writeHead(status, {
    ...commonHeaders(request),
    ...(payload !== undefined || !('Content-Length' in headers)
      ? { 'Content-Length': payload?.length ?? 0 }
      : {}),
    ...headers,
  });
  request.response.end(request.method === 'HEAD' ? undefined : payload);
}

export function sendRaw(request: Request, status: number, xml: string, headers: Headers = {}): void {
  send(request, status, xml, { 'Content-Type': 'application/xml', ...headers });
}

export function sendXml(
  request: Request,
  status: number,
  root: string,
  nodes: XmlNode[],
  headers: Headers = {},
): void {
  sendRaw(request, status, xmlDocument(root, nodes), headers);
}

export function sendError(
  response: ServerResponse,
  method: string,
  error: S3Error,
  resource: string,
  requestId: string,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = Buffer.from(
    xmlError([
      ['Code', error.code],
      ['Message', error.message],
      ...Object.entries(error.details),
      ['Resource', resource],
      ['RequestId', requestId],
    ]),
  );
  response.writeHead(error.status, {
    ...commonHeaders({ requestId }),
    ...error.headers,
    'Content-Type': 'application/xml',
    'Content-Length': method === 'HEAD' ? 0 : body.length,
  });
  response.end(method === 'HEAD' ? undefined : body);
}

export function maxKeysOf(request: Request, name: string): number {
  const raw = request.query.get(name);
  if (raw === null) return 1000;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value))
    throw invalidArgument('Provided max-keys not an integer or within integer range', name, raw);
  return Math.min(value, 1000);
}

export function encodingOf(request: Request): ((value: string) => string) | undefined {
  const encoding = request.query.get('encoding-type');
  if (encoding === null) return undefined;
  if (encoding !== 'url')
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
  return urlEncodeKey;
}
