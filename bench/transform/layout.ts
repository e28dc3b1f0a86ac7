import { DuckDBInstance } from '@duckdb/node-api';

/** What a transform wrote, read from the Parquet footers by DuckDB (an independent reader). */
export interface OutputLayout {
  objects: number;
  rowGroups: number;
  /** Row groups that are neither full (`rowGroupRows`) nor the last of their file: should be 0. */
  shortRowGroups: number;
}

export async function outputLayout(folder: string, rowGroupRows = 64_000): Promise<OutputLayout> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(`
      WITH groups AS (
        SELECT DISTINCT file_name, row_group_id, row_group_num_rows
        FROM parquet_metadata('${folder.replaceAll("'", "''")}/**/*.parquet')
      ), last AS (SELECT file_name, max(row_group_id) AS last_id FROM groups GROUP BY file_name)
      SELECT count(DISTINCT groups.file_name) AS objects, count(*) AS row_groups,
             count(*) FILTER (WHERE row_group_id < last_id AND row_group_num_rows <> ${rowGroupRows}) AS short
      FROM groups JOIN last USING (file_name)`);
    const [row] = reader.getRowObjectsJson();
    return {
      objects: Number(row?.objects ?? 0),
      rowGroups: Number(row?.row_groups ?? 0),
      shortRowGroups: Number(row?.short ?? 0),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
