import type { Server } from 'node:http';
import {
  AwsServiceError,
  createAwsJsonServer,
  type JsonObject,
  optionalString,
  requireString,
} from '../aws-json';
import { type Catalog, DATA_CATALOG, tableMetadata } from './catalog';
import type { QueryExecutions } from './queries';
import type { StoredDatabase } from './store';
import { pageOf } from './validation';
import type { WorkGroups } from './workgroups';

/** The Athena API (AWS JSON 1.1, `X-Amz-Target: AmazonAthena.<Operation>`) over the stand-in's parts. */
export function createAthenaServer(parts: {
  queries: QueryExecutions;
  workGroups: WorkGroups;
  catalog: Catalog;
}): Server {
  const { queries, workGroups, catalog } = parts;

  const requireCatalog = (input: JsonObject): void => {
    const name = requireString(input, 'CatalogName');
    // Athena matches catalog names case-insensitively; only the Glue catalog exists locally.
    if (name.toLowerCase() !== DATA_CATALOG.toLowerCase()) {
      throw new AwsServiceError('MetadataException', `Catalog ${name} not found.`);
    }
  };
  const requireDatabase = (input: JsonObject): StoredDatabase => {
    requireCatalog(input);
    const name = requireString(input, 'DatabaseName');
    const database = catalog.database(name);
    if (database === undefined) throw new AwsServiceError('MetadataException', `Database ${name} not found.`);
    return database;
  };

  return createAwsJsonServer('AmazonAthena', {
    StartQueryExecution: (input) => queries.start(input),
    GetQueryExecution: (input) => queries.get(input),
    GetQueryResults: (input) => queries.queryResults(input),
    StopQueryExecution: (input) => queries.stop(input),
    BatchGetQueryExecution: (input) => queries.batchGet(input),
    ListQueryExecutions: (input) => queries.list(input),

    CreateWorkGroup: (input) => workGroups.create(input),
    GetWorkGroup: (input) => workGroups.get(input),
    ListWorkGroups: (input) => workGroups.list(input),
    DeleteWorkGroup: (input) => workGroups.delete(input),
    UpdateWorkGroup: (input) => workGroups.update(input),

    ListDataCatalogs: () => ({ DataCatalogsSummary: [{ CatalogName: DATA_CATALOG, Type: 'GLUE' }] }),
    GetDataCatalog: (input) => {
      const name = requireString(input, 'Name');
      if (name.toLowerCase() !== DATA_CATALOG.toLowerCase()) {
        throw new AwsServiceError('InvalidRequestException', `Catalog ${name} not found.`);
      }
      return {
        DataCatalog: { Name: DATA_CATALOG, Type: 'GLUE', Parameters: { 'catalog-id': '000000000000' } },
      };
    },
    ListDatabases: (input) => {
      requireCatalog(input);
      const { items, nextToken } = pageOf(catalog.databases(), input, 50);
      return {
        DatabaseList: items.map(databaseShape),
        ...(nextToken !== undefined && { NextToken: nextToken }),
      };
    },
    GetDatabase: (input) => ({ Database: databaseShape(requireDatabase(input)) }),
    ListTableMetadata: (input) => {
      const database = requireDatabase(input);
      const expression = optionalString(input, 'Expression');
      let matches = (_name: string) => true;
      if (expression !== undefined) {
        let regex: RegExp;
        try {
          regex = new RegExp(`^(?:${expression})$`, 'i');
        } catch {
          throw new AwsServiceError(
            'InvalidRequestException',
            `Expression ${expression} is not a valid regular expression.`,
          );
        }
        matches = (name) => regex.test(name);
      }
      const tables = catalog.tables(database).filter((table) => matches(table.name));
      const { items, nextToken } = pageOf(tables, input, 50);
      return {
        TableMetadataList: items.map(tableMetadata),
        ...(nextToken !== undefined && { NextToken: nextToken }),
      };
    },
    GetTableMetadata: (input) => {
      const database = requireDatabase(input);
      const name = requireString(input, 'TableName');
      const table = database.tables[name.toLowerCase()];
      if (table === undefined) throw new AwsServiceError('MetadataException', `Table ${name} not found.`);
      return { TableMetadata: tableMetadata(table) };
    },
  });
}

function databaseShape(database: StoredDatabase): JsonObject {
  return {
    Name: database.name,
    ...(database.description !== undefined && { Description: database.description }),
    Parameters: {
      ...database.parameters,
      ...(database.locationUri !== undefined && { location: database.locationUri }),
    },
  };
}
