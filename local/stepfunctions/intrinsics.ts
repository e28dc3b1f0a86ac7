import { isJsonObject, type Json, type JsonObject } from './json';

export interface IntrinsicResolvers {
  /** `{"Fn::GetAtt": ["<functionKey>", "Arn"]}` → the function's ARN. */
  functionArn(functionKey: string): string;
  /** `{"Ref": "<LogicalId>"}` → the resource's ARN (for a state machine, its ARN). */
  ref(logicalId: string): string;
}

/**
 * Resolves the CloudFormation intrinsics serverless-step-functions lets a definition use:
 * `Fn::GetAtt [<functionKey>, Arn]` (also the `"<functionKey>.Arn"` string form) and `Ref`.
 * Every other value is copied unchanged; any other intrinsic is refused, since an unresolved one
 * would reach the state machine as a plain object.
 */
export function resolveIntrinsics(definition: unknown, resolvers: IntrinsicResolvers): JsonObject {
  const resolved = resolve(definition, resolvers, '$');
  if (!isJsonObject(resolved)) throw new TypeError('A state machine definition must be a JSON object');
  return resolved;
}

function resolve(value: unknown, resolvers: IntrinsicResolvers, path: string): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((item, index) => resolve(item, resolvers, `${path}[${index}]`));
  if (!isPlainObject(value)) throw new TypeError(`${path}: ${String(value)} is not a JSON value`);
  const keys = Object.keys(value);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only === 'Ref') return resolveRef(value.Ref, resolvers, path);
  if (only === 'Fn::GetAtt') return resolveGetAtt(value['Fn::GetAtt'], resolvers, path);
  if (only?.startsWith('Fn::'))
    throw new Error(`${path}: intrinsic ${only} is not supported (only Fn::GetAtt and Ref)`);
  const copy: JsonObject = {};
  for (const key of keys) copy[key] = resolve(value[key], resolvers, `${path}.${key}`);
  return copy;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function resolveRef(logicalId: unknown, resolvers: IntrinsicResolvers, path: string): string {
  if (typeof logicalId !== 'string') throw new Error(`${path}: Ref must name a logical id`);
  return resolvers.ref(logicalId);
}

function resolveGetAtt(argument: unknown, resolvers: IntrinsicResolvers, path: string): string {
  const [key, attribute] =
    typeof argument === 'string'
      ? splitOnce(argument)
      : Array.isArray(argument)
        ? argument
        : [undefined, undefined];
  if (typeof key !== 'string' || attribute !== 'Arn') {
    throw new Error(
      `${path}: only Fn::GetAtt [<functionKey>, "Arn"] is supported, got ${JSON.stringify(argument)}`,
    );
  }
  return resolvers.functionArn(key);
}

function splitOnce(text: string): [string, string] | [undefined, undefined] {
  const dot = text.indexOf('.');
  return dot < 0 ? [undefined, undefined] : [text.slice(0, dot), text.slice(dot + 1)];
}
