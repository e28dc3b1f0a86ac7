import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { startSecretsManager } from '#local/services/secrets-manager';
import type { RunningService } from '#local/services/service';
import { DatabaseCredentialsProvider, DatabaseSecretError } from '#shared/adapters/secrets';
import type { AwsClients } from '#shared/aws/clients';
import { localClients } from '../support/clients';

const PASSWORD = 'Sup3r-Secret/Value"1';

describe('DatabaseCredentialsProvider (real Secrets Manager stand-in)', () => {
  let service: RunningService;
  let clients: AwsClients;

  beforeAll(async () => {
    service = await startSecretsManager({ region: 'us-east-1' });
    const endpoint = service.endpoint;
    clients = localClients({ s3: endpoint });
  });

  afterAll(async () => {
    clients.destroy();
    await service.stop();
  });

  const secret = (password: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      engine: 'mysql',
      host: 'db.internal',
      port: 3306,
      username: 'etl',
      password,
      dbname: 'analytics',
      ...extra,
    });

  it('reads RDS secret JSON once, serves it from the cache, and re-reads it on refresh()', async () => {
    await clients.secretsManager.send(
      new CreateSecretCommand({ Name: 'etl/test/db', SecretString: secret(PASSWORD) }),
    );
    const provider = new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/db');
    const [first, second] = await Promise.all([provider.get(), provider.get()]);
    expect(first).toEqual({
      host: 'db.internal',
      port: 3306,
      username: 'etl',
      password: PASSWORD,
      dbname: 'analytics',
    });
    expect(second).toBe(first);

    await clients.secretsManager.send(
      new PutSecretValueCommand({ SecretId: 'etl/test/db', SecretString: secret('rotated') }),
    );
    // Cached per container: the rotation is not seen until a refresh.
    expect((await provider.get()).password).toBe(PASSWORD);
    expect((await provider.refresh()).password).toBe('rotated');
    expect((await provider.get()).password).toBe('rotated');
  });

  it('accepts a port held as a string and defaults a missing port to 3306', async () => {
    await clients.secretsManager.send(
      new CreateSecretCommand({
        Name: 'etl/test/port-text',
        SecretString: secret('p', { port: '3307' }),
      }),
    );
    const withoutPort = JSON.parse(secret('p')) as Record<string, unknown>;
    delete withoutPort.port;
    await clients.secretsManager.send(
      new CreateSecretCommand({ Name: 'etl/test/no-port', SecretString: JSON.stringify(withoutPort) }),
    );
    expect(
      (await new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/port-text').get()).port,
    ).toBe(3307);
    expect(
      (await new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/no-port').get()).port,
    ).toBe(3306);
  });

  it('names a missing secret with DatabaseSecretError, and asks again on the next call', async () => {
    const provider = new DatabaseCredentialsProvider(clients.secretsManager, 'etl/test/later');
    await expect(provider.get()).rejects.toThrow(DatabaseSecretError);
    await expect(provider.get()).rejects.toThrow('Database secret etl/test/later not found');
    await clients.secretsManager.send(
      new CreateSecretCommand({ Name: 'etl/test/later', SecretString: secret('p') }),
    );
    expect((await provider.get()).username).toBe('etl');
  });

  it.each([
    ['not JSON', `{"password": "${PASSWORD}", oops`, /is not JSON$/],
    [
      'missing fields',
      JSON.stringify({ password: PASSWORD, username: 'etl' }),
      /missing or has invalid fields: host, dbname/,
    ],
    ['a wrong type', secret(PASSWORD, { port: 'x' }), /invalid fields: port/],
  ])('refuses a secret that is %s without quoting it', async (name, secretString, message) => {
    const id = `etl/test/bad-${name.replaceAll(' ', '-')}`;
    await clients.secretsManager.send(new CreateSecretCommand({ Name: id, SecretString: secretString }));
    const error = await new DatabaseCredentialsProvider(clients.secretsManager, id).get().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DatabaseSecretError);
    expect((error as Error).name).toBe('DatabaseSecretError');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
    expect(String((error as Error).stack)).not.toContain(PASSWORD);
  });
});
