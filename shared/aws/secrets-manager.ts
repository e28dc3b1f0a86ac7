import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { onePerContainer } from './container-clients';
import { type AwsSettings, clientOptions } from './settings';

export function createSecretsManagerClient(settings: AwsSettings): SecretsManagerClient {
  return new SecretsManagerClient(clientOptions(settings, 'secretsmanager'));
}

/** The container's Secrets Manager client. */
export const containerSecretsManagerClient = onePerContainer('secretsmanager', createSecretsManagerClient);
