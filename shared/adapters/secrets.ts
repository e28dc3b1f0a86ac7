import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { EtlError } from '#shared/core/errors';

/**
 * The database secret is missing, has no SecretString, or is not the JSON RDS writes. The message
 * names the secret and the offending fields, never a value from the secret.
 */
export class DatabaseSecretError extends EtlError {}

/**
 * The `SecretString` shape of an RDS database secret (what "Credentials for Amazon RDS database"
 * stores, and what the rotation Lambdas keep up to date). Extra keys (`engine`,
 * `dbInstanceIdentifier`…) are ignored.
 */
const DatabaseSecretSchema = z.object({
  host: z.string().min(1),
  // RDS writes a number; hand-made secrets often hold "3306". Both are accepted.
  port: z.coerce.number().int().min(1).max(65_535).default(3306),
  username: z.string().min(1),
  password: z.string().min(1),
  dbname: z.string().min(1),
});

/** Credentials for one MySQL database, as read from the secret. */
export type DatabaseCredentials = Readonly<z.infer<typeof DatabaseSecretSchema>>;

/** What the warehouse needs from a credentials source: the cached value, and a fresh one after a rotation. */
export interface DatabaseCredentialsSource {
  /** The cached credentials (read from the source on first use). */
  get(): Promise<DatabaseCredentials>;
  /** Reads the credentials again, replacing the cache: call after MySQL refused the cached ones. */
  refresh(): Promise<DatabaseCredentials>;
}

/**
 * Database credentials from a Secrets Manager secret, read once per container and cached (a
 * GetSecretValue per invocation costs latency and money, and is throttled at 10,000 requests/s
 * per account). `refresh()` re-reads the AWSCURRENT version after a rotation. Concurrent callers
 * share one request. The secret's text never reaches an error message or a log.
 */
export class DatabaseCredentialsProvider implements DatabaseCredentialsSource {
  private cached?: Promise<DatabaseCredentials>;
  private refreshing?: Promise<DatabaseCredentials>;

  constructor(
    private readonly secretsManager: SecretsManagerClient,
    readonly secretId: string,
  ) {}

  get(): Promise<DatabaseCredentials> {
    if (this.cached === undefined) {
      const reading = this.read();
      this.cached = reading;
      // A failed read is not cached: the next call asks again.
      reading.catch(() => {
        if (this.cached === reading) this.cached = undefined;
      });
    }
    return this.cached;
  }

  refresh(): Promise<DatabaseCredentials> {
    // Callers that all saw the same refused login share one re-read.
    if (this.refreshing === undefined) {
      this.cached = undefined;
      this.refreshing = this.get().finally(() => {
        this.refreshing = undefined;
      });
    }
    return this.refreshing;
  }

  private async read(): Promise<DatabaseCredentials> {
    let secretString: string | undefined;
    try {
      const response = await this.secretsManager.send(new GetSecretValueCommand({ SecretId: this.secretId }));
      secretString = response.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        throw new DatabaseSecretError(`Database secret ${this.secretId} not found`, { cause: error });
      }
      throw error;
    }
    if (secretString === undefined) {
      throw new DatabaseSecretError(
        `Database secret ${this.secretId} has no SecretString (SecretBinary is not supported)`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(secretString);
    } catch {
      // No `cause`: JSON.parse's message quotes the text around the error, i.e. part of the secret.
      throw new DatabaseSecretError(`Database secret ${this.secretId} is not JSON`);
    }
    const parsed = DatabaseSecretSchema.safeParse(json);
    if (!parsed.success) {
      // Field names only: an issue's message may echo what it received.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
      throw new DatabaseSecretError(
        `Database secret ${this.secretId} is missing or has invalid fields: ${fields.join(', ')} (expected RDS's JSON: host, port, username, password, dbname)`,
      );
    }
    return Object.freeze(parsed.data);
  }
}
