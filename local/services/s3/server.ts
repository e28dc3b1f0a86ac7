import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bucketApi } from './bucket-api';
import { S3Error } from './errors';
import { checkKey, header } from './handlers-util';
import {
  hasOtherSubresource,
  methodNotAllowed,
  notImplemented,
  parseRequest,
  type Request,
  send,
  sendError,
} from './http';
import { listingApi } from './listing-api';
import { multipartApi } from './multipart-api';
import { objectApi } from './object-api';
import type { S3Storage } from './store';

export interface S3HandlerOptions {
  storage: S3Storage;
  region: string;
  /** Called with every request that ended in a 500, so the stack log shows the cause. */
  onInternalError?: (error: unknown, request: { method: string; resource: string }) => void;
}

/**
 * The S3 REST API (path-style and `<bucket>.localhost` virtual-host style) over {@link S3Storage}.
 * Any credentials are accepted and signatures are not checked (the local-stack convention). Every
 * failure inside a request becomes an S3 XML error answer: nothing a client sends can throw out of
 * the handler.
 */
export function createS3Handler(options: S3HandlerOptions) {
  const { storage, region } = options;
  const {
    listBuckets,
    createBucket,
    getLocation,
    putVersioning,
    getVersioning,
    putPolicy,
    getPolicy,
    putAcl,
    getAcl,
    putTagging,
    getTagging,
  } = bucketApi(storage, region);
  const { listObjects, listVersions, listUploads } = listingApi(storage);
  const objects = objectApi(storage);
  const { putObject, getObject, copyObject, getAttributes, deleteObjects } = objects;
  const { createUpload, uploadPart, completeUpload, listParts } = multipartApi(storage, objects);

  return (http: IncomingMessage, response: ServerResponse): void => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const method = http.method ?? 'GET';
    let request: Request | undefined;
    const run = async () => {
      request = parseRequest(http, response, requestId);
      await route(request);
    };
    run().catch((error: unknown) => {
      const resource = request?.resource ?? http.url ?? '/';
      let s3Error: S3Error;
      if (error instanceof S3Error) s3Error = error;
      else {
        options.onInternalError?.(error, { method, resource });
        s3Error = new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
      }
      sendError(response, method, s3Error, resource, requestId);
      // A body the handler did not read (an error before reading it) is drained, not left hanging.
      if (!http.complete) http.resume();
    });
  };

  async function route(request: Request): Promise<void> {
    const { method, bucket, key, query } = request;
    if (bucket === undefined) {
      if (method === 'GET') return listBuckets(request);
      throw notImplemented(request);
    }
    if (key === undefined) {
      switch (method) {
        case 'GET':
          if (query.has('location')) return getLocation(request, bucket);
          if (query.has('versioning')) return getVersioning(request, bucket);
          if (query.has('policy')) return getPolicy(request, bucket);
          if (query.has('acl')) return getAcl(request, storage.bucket(bucket).meta.acl);
          if (query.has('tagging')) return getTagging(request, storage.bucket(bucket).meta.tags, true);
          if (query.has('versions')) return listVersions(request, bucket);
          if (query.has('uploads')) return listUploads(request, bucket);
          if (hasOtherSubresource(query)) throw notImplemented(request);
          return listObjects(request, bucket, query.get('list-type') === '2');
        case 'HEAD':
          storage.bucket(bucket);
          return send(request, 200, undefined, { 'x-amz-bucket-region': storage.bucket(bucket).meta.region });
        case 'PUT':
          if (query.has('versioning')) return putVersioning(request, bucket);
          if (query.has('policy')) return putPolicy(request, bucket);
          if (query.has('acl')) return putAcl(request, bucket, undefined);
          if (query.has('tagging')) return putTagging(request, bucket, undefined);
          if (hasOtherSubresource(query)) throw notImplemented(request);
          return createBucket(request, bucket);
        case 'DELETE':
          if (query.has('policy')) {
            await storage.updateBucket(bucket, (meta) => delete meta.policy);
            return send(request, 204);
          }
          if (query.has('tagging')) {
            await storage.updateBucket(bucket, (meta) => delete meta.tags);
            return send(request, 204);
          }
          if (hasOtherSubresource(query)) throw notImplemented(request);
          await storage.deleteBucket(bucket);
          return send(request, 204);
        case 'POST':
          if (query.has('delete')) return deleteObjects(request, bucket);
          throw notImplemented(request);
        default:
          throw methodNotAllowed(request);
      }
    }
    checkKey(key);
    switch (method) {
      case 'GET':
        if (query.has('uploadId')) return listParts(request, bucket, key);
        if (query.has('acl')) return getAcl(request, storage.head(bucket, key).acl);
        if (query.has('tagging')) return getTagging(request, storage.head(bucket, key).tags, false);
        if (query.has('attributes')) return getAttributes(request, bucket, key);
        return getObject(request, bucket, key, true);
      case 'HEAD':
        return getObject(request, bucket, key, false);
      case 'PUT':
        if (query.has('uploadId')) return uploadPart(request, bucket, key);
        if (query.has('acl')) return putAcl(request, bucket, key);
        if (query.has('tagging')) return putTagging(request, bucket, key);
        if (header(request.http, 'x-amz-copy-source') !== undefined) return copyObject(request, bucket, key);
        return putObject(request, bucket, key);
      case 'POST':
        if (query.has('uploads')) return createUpload(request, bucket, key);
        if (query.has('uploadId')) return completeUpload(request, bucket, key);
        throw notImplemented(request);
      case 'DELETE':
        if (query.has('uploadId')) {
          storage.upload(bucket, key, query.get('uploadId') ?? '');
          await storage.removeUpload(bucket, query.get('uploadId') ?? '');
          return send(request, 204);
        }
        if (query.has('tagging')) {
          await storage.updateObject(bucket, key, (meta) => delete meta.tags);
          return send(request, 204);
        }
        storage.bucket(bucket);
        await storage.delete(bucket, key);
        return send(request, 204);
      default:
        throw methodNotAllowed(request);
    }
  }
}
