/** JSON values as Step Functions passes them between states (what survives `JSON.stringify`). */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep JSON copy of `value`, as a Lambda payload or an execution input travels over the wire:
 * Dates become strings, `undefined` properties disappear, and a top-level `undefined` becomes `null`
 * (a Lambda handler that returns nothing hands Step Functions `null`).
 */
export function toJson(value: unknown): Json {
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  // JSON.parse of JSON.stringify output is JSON by construction.
  const parsed: Json = JSON.parse(text);
  return parsed;
}

/** Parses a JSON document (e.g. `startExecution`'s `Input` given as a string). */
export function parseJson(text: string): Json {
  const parsed: Json = JSON.parse(text);
  return parsed;
}

/** UTF-8 size of the JSON text, the unit of the Step Functions payload quota. */
export function jsonByteLength(value: Json): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}
