import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AwsServiceError,
  createAwsJsonServer,
  type JsonObject,
  optionalString,
  requireString,
} from './aws-json';
import { closeServer, LOOPBACK, listen, type RunningService } from './service';

/** The local account id every stand-in puts in its ARNs. */
export const LOCAL_ACCOUNT_ID = '000000000000';

interface SecretVersion {
  versionId: string;
  secretString: string;
  createdDate: number;
}

interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  createdDate: number;
  versions: SecretVersion[]; // newest last; the last one is AWSCURRENT
}

export interface SecretsManagerOptions {
  port?: number;
  region: string;
  /** JSON file the secrets persist to between restarts; in memory when omitted. */
  file?: string;
}

/**
 * A Secrets Manager stand-in speaking AWS JSON 1.1 (`X-Amz-Target: secretsmanager.<Op>`):
 * CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret, ListSecrets, DeleteSecret, with the
 * service's error shapes (`ResourceNotFoundException`, `ResourceExistsException`).
 */
export async function startSecretsManager(options: SecretsManagerOptions): Promise<RunningService> {
  const secrets = new Map<string, StoredSecret>(load(options.file).map((secret) => [secret.name, secret]));
  const persist = () => {
    if (options.file === undefined) return;
    mkdirSync(dirname(options.file), { recursive: true });
    writeFileSync(options.file, JSON.stringify([...secrets.values()]), { mode: 0o600 });
  };

  const find = (input: JsonObject): StoredSecret => {
    const id = requireString(input, 'SecretId');
    const secret = secrets.get(id) ?? [...secrets.values()].find((candidate) => candidate.arn === id);
    if (secret === undefined) {
      throw new AwsServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    return secret;
  };
  const addVersion = (secret: StoredSecret, input: JsonObject): SecretVersion => {
    const secretString = optionalString(input, 'SecretString');
    if (secretString === undefined) {
      throw new AwsServiceError(
        'InvalidRequestException',
        'SecretString is required (SecretBinary is not supported)',
      );
    }
    const version = {
      versionId: optionalString(input, 'ClientRequestToken') ?? randomUUID(),
      secretString,
      createdDate: Date.now() / 1000,
    };
    secret.versions.push(version);
    persist();
    return version;
  };

  const server = createAwsJsonServer('secretsmanager', {
    CreateSecret(input) {
      const name = requireString(input, 'Name');
      if (secrets.has(name)) {
        throw new AwsServiceError(
          'ResourceExistsException',
          `The operation failed because the secret ${name} already exists.`,
        );
      }
      const secret: StoredSecret = {
        name,
        // Real ARNs end in a dash and six random characters.
        arn: `arn:aws:secretsmanager:${options.region}:${LOCAL_ACCOUNT_ID}:secret:${name}-${randomBytes(3).toString('hex')}`,
        createdDate: Date.now() / 1000,
        versions: [],
        ...(optionalString(input, 'Description') !== undefined && {
          description: optionalString(input, 'Description'),
        }),
      };
      secrets.set(name, secret);
      const version = addVersion(secret, input);
      return { ARN: secret.arn, Name: name, VersionId: version.versionId };
    },
    PutSecretValue(input) {
      const secret = find(input);
      const version = addVersion(secret, input);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: ['AWSCURRENT'],
      };
    },
    GetSecretValue(input) {
      const secret = find(input);
      const wantedVersion = optionalString(input, 'VersionId');
      const stage = optionalString(input, 'VersionStage') ?? 'AWSCURRENT';
      const current = secret.versions.at(-1);
      const previous = secret.versions.at(-2);
      const version =
        wantedVersion !== undefined
          ? secret.versions.find((candidate) => candidate.versionId === wantedVersion)
          : stage === 'AWSCURRENT'
            ? current
            : stage === 'AWSPREVIOUS'
              ? previous
              : undefined;
      if (version === undefined) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        SecretString: version.secretString,
        VersionStages: [version === current ? 'AWSCURRENT' : 'AWSPREVIOUS'],
        CreatedDate: version.createdDate,
      };
    },
    DescribeSecret(input) {
      const secret = find(input);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Description: secret.description,
        CreatedDate: secret.createdDate,
        LastChangedDate: secret.versions.at(-1)?.createdDate,
      };
    },
    ListSecrets() {
      return {
        SecretList: [...secrets.values()].map((secret) => ({ ARN: secret.arn, Name: secret.name })),
      };
    },
    DeleteSecret(input) {
      const secret = find(input);
      secrets.delete(secret.name);
      persist();
      return { ARN: secret.arn, Name: secret.name, DeletionDate: Date.now() / 1000 };
    },
  });

  const port = await listen(server, options.port ?? 0);
  return {
    name: 'secretsmanager',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    stop: () => closeServer(server),
  };
}

function load(file: string | undefined): StoredSecret[] {
  if (file === undefined) return [];
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StoredSecret[];
  } catch {
    return [];
  }
}
