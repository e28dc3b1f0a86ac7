import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { onePerContainer } from './container-clients';
import { type AwsSettings, clientOptions } from './settings';

export function createDynamoDbClient(settings: AwsSettings): DynamoDBClient {
  return new DynamoDBClient(clientOptions(settings, 'dynamodb'));
}

/** Document client: native JS values in and out; empty strings and undefined handled explicitly. */
export function createDocumentClient(dynamodb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/**
 * The container's DynamoDB document client, over its own DynamoDB client. The document client's
 * own `destroy()` does nothing, so the pair is released through the underlying client.
 */
const containerClients = onePerContainer('dynamodb', (settings) => {
  const dynamodb = createDynamoDbClient(settings);
  return { documents: createDocumentClient(dynamodb), destroy: () => dynamodb.destroy() };
});

export const containerDocumentClient = (settings: AwsSettings): DynamoDBDocumentClient =>
  containerClients(settings).documents;
