import { EtlError } from './errors';

/** A template placeholder was given a value that does not have its expected shape. */
export class SqlParameterError extends EtlError {}

const SHAPES: Record<string, RegExp> = {
  database: /^[a-z_][a-z0-9_]{0,254}$/,
  table: /^[a-z_][a-z0-9_]{0,254}$/,
  dt: /^\d{4}-\d{2}-\d{2}$/,
  hour: /^\d{2}$/,
};

/**
 * Fills `{{name}}` placeholders of a SQL template. Every value must match the fixed shape of its
 * placeholder (identifiers, partition values), so nothing but those shapes can reach the SQL text.
 * Unknown or unfilled placeholders are errors, not silent blanks.
 */
export function renderSql(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const shape = SHAPES[name];
    const value = values[name];
    if (shape === undefined) throw new SqlParameterError(`Unknown SQL placeholder {{${name}}}`);
    if (value === undefined) throw new SqlParameterError(`No value for SQL placeholder {{${name}}}`);
    if (!shape.test(value))
      throw new SqlParameterError(`Value for {{${name}}} has the wrong shape: '${value}'`);
    return value;
  });
}

/** Stage names may hold `-`; Glue and Athena database names may not. */
export function glueName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
