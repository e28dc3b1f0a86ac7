import { AthenaClient } from '@aws-sdk/client-athena';
import { onePerContainer } from './container-clients';
import { type AwsSettings, clientOptions } from './settings';

export function createAthenaClient(settings: AwsSettings): AthenaClient {
  return new AthenaClient(clientOptions(settings, 'athena'));
}

/** The container's Athena client. */
export const containerAthenaClient = onePerContainer('athena', createAthenaClient);
