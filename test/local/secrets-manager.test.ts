import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { startSecretsManager } from '#local/services/secrets-manager';
import type { RunningService } from '#local/services/service';
import { AwsClients, localAwsSettings } from '#shared/aws/clients';

describe('local Secrets Manager stand-in (AWS JSON 1.1)', () => {
  let service: RunningService;
  let clients: AwsClients;

  beforeAll(async () => {
    service = await startSecretsManager({ region: 'eu-west-1' });
    const endpoint = service.endpoint;
    clients = new AwsClients(
      localAwsSettings({
        region: 'eu-west-1',
        s3: endpoint,
        dynamodb: endpoint,
        athena: endpoint,
        secretsmanager: endpoint,
      }),
    );
  });

  afterAll(async () => {
    clients.destroy();
    await service.stop();
  });

  it('round-trips a secret and its rotation through the real SDK client', async () => {
    const first = JSON.stringify({
      host: '127.0.0.1',
      port: 3306,
      username: 'etl',
      password: 'p1',
      dbname: 'etl',
    });
    const created = await clients.secretsManager.send(
      new CreateSecretCommand({ Name: 'etl/test/mysql', SecretString: first }),
    );
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:000000000000:secret:etl\/test\/mysql-[0-9a-f]{6}$/,
    );

    const read = await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: 'etl/test/mysql' }));
    expect(read.SecretString).toBe(first);
    expect(read.VersionStages).toEqual(['AWSCURRENT']);

    const rotated = first.replace('p1', 'p2');
    await clients.secretsManager.send(
      new PutSecretValueCommand({ SecretId: created.ARN, SecretString: rotated }),
    );
    const current = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: 'etl/test/mysql' }),
    );
    const previous = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: 'etl/test/mysql', VersionStage: 'AWSPREVIOUS' }),
    );
    expect(current.SecretString).toBe(rotated);
    expect(previous.SecretString).toBe(first);
  });

  it('answers a missing secret with ResourceNotFoundException', async () => {
    const attempt = clients.secretsManager.send(new GetSecretValueCommand({ SecretId: 'etl/test/absent' }));
    await expect(attempt).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(attempt).rejects.toThrow("Secrets Manager can't find the specified secret.");
  });

  it('refuses to create a secret twice with ResourceExistsException', async () => {
    await clients.secretsManager.send(new CreateSecretCommand({ Name: 'etl/test/twice', SecretString: 'a' }));
    await expect(
      clients.secretsManager.send(new CreateSecretCommand({ Name: 'etl/test/twice', SecretString: 'b' })),
    ).rejects.toBeInstanceOf(ResourceExistsException);
  });
});
