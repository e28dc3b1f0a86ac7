import { TableDefinitionSchema } from '../table';
import definition from './table.json';

/** The curated CloudFront table, from `table.json` (the one schema: parser, Parquet, Glue, local catalog). */
export const cloudfrontTable = TableDefinitionSchema.parse(definition);
