import { z } from 'zod';

/** Column types the curated tables use, spelled as Glue/Hive spells them. */
export const ColumnTypeSchema = z.enum(['string', 'int', 'bigint', 'double', 'timestamp', 'array<string>']);
export type ColumnType = z.infer<typeof ColumnTypeSchema>;

export const ColumnSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'column names are lower snake_case (Glue lower-cases them anyway)'),
  type: ColumnTypeSchema,
  /** The source field this column is read from (dataset-specific naming). */
  field: z.string().optional(),
  /** Several source fields combined (e.g. CloudFront date + time). */
  fields: z.array(z.string()).optional(),
  /** `url`: the source value is URL-encoded and is stored decoded once. */
  decode: z.enum(['url']).optional(),
  comment: z.string().optional(),
});
export type Column = z.infer<typeof ColumnSchema>;

export const TableDefinitionSchema = z.object({
  dataset: z.string(),
  table: z.string().regex(/^[a-z][a-z0-9_]*$/),
  description: z.string().optional(),
  columns: z.array(ColumnSchema).min(1),
  partitionKeys: z.array(
    z.object({ name: z.string(), type: z.literal('string'), comment: z.string().optional() }),
  ),
});
export type TableDefinition = z.infer<typeof TableDefinitionSchema>;

/** A parsed value: strings, numbers (int/bigint/double; timestamps as epoch ms), string lists, or null. */
export type CellValue = string | number | string[] | null;
