import type { IncomingMessage } from 'node:http';
import { S3Error } from './errors';

/** S3 stores `binary/octet-stream` when a PUT names no Content-Type. */
export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
/** Object headers S3 stores and returns as they were sent. */
export const STORED_HEADERS = [
  'content-encoding',
  'content-disposition',
  'cache-control',
  'content-language',
  'expires',
];
export const MAX_KEY_BYTES = 1024;
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const OWNER = {
  ID: '75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a',
  DisplayName: 'local',
};

export const CANNED_ACLS = new Set([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
  'log-delivery-write',
]);

export function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const httpDate = (ms: number) => new Date(ms).toUTCString();
/** S3 keeps Last-Modified to the second. */
export const nowSeconds = () => Math.floor(Date.now() / 1000) * 1000;

/** A canned ACL from `x-amz-acl`, checked against S3's list. */
export function cannedAcl(request: IncomingMessage): string | undefined {
  const acl = header(request, 'x-amz-acl');
  if (acl !== undefined && !CANNED_ACLS.has(acl))
    throw new S3Error('InvalidArgument', 400, `Invalid canned ACL: ${acl}`);
  return acl;
}

/** `x-amz-meta-*` headers, without the prefix (Node lower-cases header names, as S3 does). */
export function userMetadata(request: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('x-amz-meta-') && value !== undefined)
      metadata[name.slice('x-amz-meta-'.length)] = Array.isArray(value) ? value.join(',') : value;
  }
  return metadata;
}

export function storedHeaders(request: IncomingMessage): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = header(request, name);
    // aws-chunked is the transfer framing of this request, not the object's encoding.
    const kept =
      name === 'content-encoding'
        ? value
            ?.split(',')
            .map((v) => v.trim())
            .filter((v) => v && v !== 'aws-chunked')
            .join(',')
        : value;
    if (kept) stored[name] = kept;
  }
  return stored;
}

/** `x-amz-tagging` (URL query form) into tags. */
export function taggingHeader(request: IncomingMessage): Record<string, string> | undefined {
  const value = header(request, 'x-amz-tagging');
  if (value === undefined) return undefined;
  return Object.fromEntries(new URLSearchParams(value));
}

export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES)
    throw new S3Error('KeyTooLongError', 400, 'Your key is too long', {
      MaxSizeAllowed: String(MAX_KEY_BYTES),
      Size: String(Buffer.byteLength(key, 'utf8')),
    });
}

/** Bucket naming rules of general purpose buckets. */
export function checkBucketName(name: string): void {
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias');
  if (!valid)
    throw new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: name });
}

/** EncodingType=url: everything but unreserved characters percent-encoded, spaces as `+`. */
export function urlEncodeKey(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

/** An entity tag without quotes or weakness marker, for comparisons. */
export const bareEtag = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

export function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => {
    const trimmed = candidate.trim();
    return trimmed === '*' || bareEtag(trimmed) === bareEtag(etag);
  });
}

/** A parsed HTTP date in ms, or undefined when the header is absent or not a date (then ignored, RFC 9110). */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
