import { AwsServiceError, type JsonObject } from '../aws-json';

/** AWS's wording for a request member outside its constraints (returned as InvalidRequestException). */
export function validationError(value: unknown, member: string, constraint: string): AwsServiceError {
  return new AwsServiceError(
    'InvalidRequestException',
    `1 validation error detected: Value '${String(value)}' at '${member}' failed to satisfy constraint: ${constraint}`,
  );
}

export function optionalObject(input: JsonObject, key: string): JsonObject | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AwsServiceError('SerializationException', `${key} must be an object`);
  }
  return value as JsonObject;
}

export function optionalBoolean(input: JsonObject, key: string): boolean | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw new AwsServiceError('SerializationException', `${key} must be a boolean`);
  return value;
}

export function optionalInteger(
  input: JsonObject,
  key: string,
  member: string,
  bounds: { min?: number; max?: number },
): number | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AwsServiceError('SerializationException', `${key} must be an integer`);
  }
  if (bounds.min !== undefined && value < bounds.min) {
    throw validationError(value, member, `Member must have value greater than or equal to ${bounds.min}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw validationError(value, member, `Member must have value less than or equal to ${bounds.max}`);
  }
  return value;
}

export function optionalStringList(input: JsonObject, key: string): string[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new AwsServiceError('SerializationException', `${key} must be a list of strings`);
  }
  return value as string[];
}

/** `MaxResults` / `NextToken` paging over an in-memory list (the token is an opaque offset). */
export function pageOf<T>(
  items: readonly T[],
  input: JsonObject,
  maxPage: number,
): { items: T[]; nextToken?: string } {
  const size = optionalInteger(input, 'MaxResults', 'maxResults', { min: 1, max: maxPage }) ?? maxPage;
  const token = input.NextToken;
  let offset = 0;
  if (typeof token === 'string' && token !== '') {
    const decoded = Number(
      Buffer.from(token, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0) {
      throw new AwsServiceError('InvalidRequestException', 'The NextToken provided is not valid.');
    }
    offset = decoded;
  }
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length
    ? { items: page, nextToken: Buffer.from(`offset:${next}`).toString('base64url') }
    : { items: page };
}
