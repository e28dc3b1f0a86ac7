import { readFileSync } from 'node:fs';
import * as z from 'zod';

/**
 * The endpoints file that `npm run local:up` writes to `.local/endpoints.json`.
 * Its shape is a public interface: other SDKs and the AWS CLI read it too.
 */
export const LocalEndpointsSchema = z.object({
  region: z.string().min(1),
  s3: z.url(),
  dynamodb: z.url(),
  athena: z.url(),
  secretsmanager: z.url(),
  mysql: z.object({
    host: z.string().min(1),
    port: z.number().int().positive(),
    user: z.string().min(1),
    password: z.string(),
    database: z.string().min(1),
  }),
});
export type LocalEndpoints = z.infer<typeof LocalEndpointsSchema>;

/** Reads and validates an endpoints file, naming the file in any error. */
export function readEndpointsFile(path: string): LocalEndpoints {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Local endpoints file ${path} cannot be read; is the stack up (npm run local:up)?`, {
      cause: error,
    });
  }
  const parsed = LocalEndpointsSchema.safeParse(JSON.parse(raw));
  if (!parsed.success) {
    throw new Error(`Local endpoints file ${path} is malformed: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
