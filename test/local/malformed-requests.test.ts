import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListWorkGroupsCommand } from '@aws-sdk/client-athena';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { createConnection } from 'mysql2/promise';
import { type LocalStack, startStack } from '#local/stack';

/** A raw HTTP exchange, for what no SDK would send: the answer's status and body, or the socket's fate. */
function rawHttp(endpoint: string, request: string | Buffer, closeAfterWrite = false): Promise<string> {
  const url = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.write(request, () => {
      if (closeAfterWrite) socket.destroy();
    });
  });
}

const post = (endpoint: string, target: string, body: string) =>
  fetch(endpoint, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target },
    body,
  });

describe('the local stack stays up whatever a client sends', () => {
  let directory: string;
  let stack: LocalStack;
  let s3: string;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'etl-malformed-'));
    stack = await startStack({ directory });
    s3 = stack.endpoints.s3;
    await fetch(`${s3}/probe-bucket`, { method: 'PUT' });
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Every service answers a normal call right after the request under test. */
  const everyServiceAnswers = async () => {
    await stack.clients.s3.send(new ListBucketsCommand({}));
    await stack.clients.dynamodb.send(new ListTablesCommand({}));
    await stack.clients.secretsManager.send(new ListSecretsCommand({}));
    await stack.clients.athena.send(new ListWorkGroupsCommand({}));
    const mysql = await createConnection(stack.endpoints.mysql);
    await mysql.query('SELECT 1');
    await mysql.end();
  };

  const s3Cases: [string, () => Promise<unknown>, RegExp | number][] = [
    [
      'a PutObject whose key has a 250-character segment',
      async () =>
        (await fetch(`${s3}/probe-bucket/a/${'x'.repeat(250)}/b`, { method: 'PUT', body: 'long segment' }))
          .status,
      200,
    ],
    [
      'a key longer than 1,024 bytes',
      async () =>
        (await fetch(`${s3}/probe-bucket/${'k'.repeat(2000)}`, { method: 'PUT', body: 'x' })).text(),
      /<Code>KeyTooLongError<\/Code>/,
    ],
    [
      'a key with a broken percent-encoding',
      async () => (await fetch(`${s3}/probe-bucket/bad%ZZkey`, { method: 'PUT', body: 'x' })).text(),
      /<Code>InvalidURI<\/Code>/,
    ],
    [
      'a CompleteMultipartUpload naming a part never uploaded',
      async () => {
        const created = await (await fetch(`${s3}/probe-bucket/mp?uploads`, { method: 'POST' })).text();
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created)?.[1] ?? '';
        const part = await fetch(`${s3}/probe-bucket/mp?partNumber=1&uploadId=${uploadId}`, {
          method: 'PUT',
          body: 'part one',
        });
        const etag = part.headers.get('etag') ?? '';
        const body = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${etag}</ETag></Part><Part><PartNumber>9999</PartNumber><ETag>${etag}</ETag></Part></CompleteMultipartUpload>`;
        return (await fetch(`${s3}/probe-bucket/mp?uploadId=${uploadId}`, { method: 'POST', body })).text();
      },
      /<Code>InvalidPart<\/Code>/,
    ],
    [
      'a CompleteMultipartUpload with a body that is not XML',
      async () => {
        const created = await (await fetch(`${s3}/probe-bucket/mp2?uploads`, { method: 'POST' })).text();
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created)?.[1] ?? '';
        return (
          await fetch(`${s3}/probe-bucket/mp2?uploadId=${uploadId}`, { method: 'POST', body: '<Complete<<' })
        ).text();
      },
      /<Code>MalformedXML<\/Code>/,
    ],
    [
      'a DeleteObjects with a body that is not XML',
      async () =>
        (await fetch(`${s3}/probe-bucket?delete`, { method: 'POST', body: 'not xml at all' })).text(),
      /<Code>MalformedXML<\/Code>/,
    ],
    [
      'a part under an unknown upload id',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/mp3?partNumber=1&uploadId=nope`, { method: 'PUT', body: 'x' })
        ).text(),
      /<Code>NoSuchUpload<\/Code>/,
    ],
    [
      'a part number out of range',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/mp3?partNumber=0&uploadId=nope`, { method: 'PUT', body: 'x' })
        ).text(),
      /<Code>InvalidArgument<\/Code>/,
    ],
    [
      'a copy from a missing source',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/copy`, {
            method: 'PUT',
            headers: { 'x-amz-copy-source': '/probe-bucket/none' },
          })
        ).text(),
      /<Code>NoSuchKey<\/Code>/,
    ],
    [
      'a copy source that names no key',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/copy`, {
            method: 'PUT',
            headers: { 'x-amz-copy-source': '%E0%A4%A' },
          })
        ).text(),
      /<Code>InvalidArgument<\/Code>/,
    ],
    [
      'a wrong Content-MD5',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/md5`, {
            method: 'PUT',
            headers: { 'Content-MD5': 'AAAAAAAAAAAAAAAAAAAAAA==' },
            body: 'x',
          })
        ).text(),
      /<Code>BadDigest<\/Code>/,
    ],
    [
      'a Content-MD5 that is not base64 of 16 bytes',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/md5`, {
            method: 'PUT',
            headers: { 'Content-MD5': 'zzz' },
            body: 'x',
          })
        ).text(),
      /<Code>InvalidDigest<\/Code>/,
    ],
    [
      'an unsatisfiable range',
      async () => {
        await fetch(`${s3}/probe-bucket/small`, { method: 'PUT', body: 'abc' });
        return (await fetch(`${s3}/probe-bucket/small`, { headers: { Range: 'bytes=10-20' } })).text();
      },
      /<Code>InvalidRange<\/Code>/,
    ],
    [
      'a broken aws-chunked body',
      async () =>
        (
          await fetch(`${s3}/probe-bucket/chunked`, {
            method: 'PUT',
            headers: {
              'Content-Encoding': 'aws-chunked',
              'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
            },
            body: 'zz\r\nnot a chunk',
          })
        ).text(),
      /<Code>IncompleteBody<\/Code>/,
    ],
    [
      'a versioning document with an unknown status',
      async () =>
        (
          await fetch(`${s3}/probe-bucket?versioning`, {
            method: 'PUT',
            body: '<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>',
          })
        ).text(),
      /<Code>MalformedXML<\/Code>/,
    ],
    [
      'a bucket policy that is not JSON',
      async () => (await fetch(`${s3}/probe-bucket?policy`, { method: 'PUT', body: '{not json' })).text(),
      /<Code>MalformedPolicy<\/Code>/,
    ],
    ['a request that is not HTTP', () => rawHttp(s3, 'HELLO THERE\r\n\r\n'), /400/],
    [
      'a body cut off before its Content-Length',
      () =>
        rawHttp(
          s3,
          'PUT /probe-bucket/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a little',
          true,
        ),
      /^$/,
    ],
  ];

  it.each(s3Cases)(
    'S3 answers %s with an S3 error, and every service still answers',
    async (_label, send, expected) => {
      const answer = await send();
      if (typeof expected === 'number') expect(answer).toBe(expected);
      else expect(String(answer)).toMatch(expected);
      await everyServiceAnswers();
    },
  );

  it('S3 stores a key with a 250-character segment and reads it back through the SDK', async () => {
    const Key = `deep/${'s'.repeat(250)}/${'t'.repeat(250)}.gz`;
    await stack.clients.s3.send(new PutObjectCommand({ Bucket: 'probe-bucket', Key, Body: 'ok' }));
    const response = await fetch(`${s3}/probe-bucket/${Key}`);
    expect(await response.text()).toBe('ok');
  });

  const jsonCases: [string, () => Promise<Response>][] = [
    [
      'DynamoDB: a body that is not JSON',
      () => post(stack.endpoints.dynamodb, 'DynamoDB_20120810.ListTables', '{'),
    ],
    ['DynamoDB: an unknown operation', () => post(stack.endpoints.dynamodb, 'DynamoDB_20120810.Nope', '{}')],
    [
      'DynamoDB: a BatchWriteItem of 26 items',
      () =>
        post(
          stack.endpoints.dynamodb,
          'DynamoDB_20120810.BatchWriteItem',
          JSON.stringify({
            RequestItems: {
              t: Array.from({ length: 26 }, (_, index) => ({
                PutRequest: { Item: { k: { S: String(index) } } },
              })),
            },
          }),
        ),
    ],
    [
      'Secrets Manager: a body that is not JSON',
      () => post(stack.endpoints.secretsmanager, 'secretsmanager.GetSecretValue', '{'),
    ],
    [
      'Athena: a body that is not JSON',
      () => post(stack.endpoints.athena, 'AmazonAthena.StartQueryExecution', '['),
    ],
    [
      'Athena: COPY … TO a file',
      () =>
        post(
          stack.endpoints.athena,
          'AmazonAthena.StartQueryExecution',
          JSON.stringify({ QueryString: "COPY (SELECT 1) TO '/tmp/escape.csv'", WorkGroup: 'primary' }),
        ),
    ],
  ];

  it.each(jsonCases)('%s gets an error answer, and every service still answers', async (_label, send) => {
    const response = await send();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    await everyServiceAnswers();
  });

  it('restarts a local S3 that dies, on the same port, with its data, and counts the restart', async () => {
    await stack.clients.s3.send(
      new PutObjectCommand({ Bucket: 'probe-bucket', Key: 'survivor', Body: 'kept' }),
    );
    const before = stack.services().find((service) => service.name === 's3')!;
    expect(before.pid).toBeDefined();
    process.kill(before.pid!, 'SIGKILL');
    let after = stack.services().find((service) => service.name === 's3')!;
    for (let tries = 0; tries < 300 && (after.restarts === 0 || after.pid === undefined); tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = stack.services().find((service) => service.name === 's3')!;
    }
    expect(after.restarts).toBe(1);
    expect(after.pid).not.toBe(before.pid);
    expect(after.endpoint).toBe(before.endpoint);
    expect(await (await fetch(`${s3}/probe-bucket/survivor`)).text()).toBe('kept');
    await everyServiceAnswers();
  }, 60_000);
});
