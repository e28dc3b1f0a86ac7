/**
 * Renders the Glue table of serverless.yml from the dataset's one table definition
 * (shared/datasets/<param:dataset>/table.json), so the template, the parser and the Parquet schema cannot
 * drift apart. The local stack creates the same table from the packaged template (local/provision.ts).
 *
 * Partition projection on dt (dates) and hour (00-23): Athena computes partitions from the query's
 * predicates, so there is no MSCK REPAIR TABLE and no crawler. Without
 * `storage.location.template`, projection uses the Hive layout under LOCATION (dt=…/hour=…/).
 */
const { join } = require('node:path');

const glueName = (name) => name.toLowerCase().replace(/[^a-z0-9_]/g, '_');

module.exports = async ({ resolveVariable }) => {
  const dataBucket = await resolveVariable('param:dataBucket');
  const projectionStart = await resolveVariable('param:projectionStartDate');
  const dataset = await resolveVariable('param:dataset');
  if (!/^[a-z0-9_-]+$/.test(dataset))
    throw new Error(`param dataset '${dataset}' is not a dataset folder name`);
  const definition = require(join(__dirname, '..', 'shared', 'datasets', dataset, 'table.json'));
  return {
    databaseName: glueName(`${await resolveVariable('self:service')}_${await resolveVariable('sls:stage')}`),
    tableInput: {
      Name: definition.table,
      Description: definition.description,
      TableType: 'EXTERNAL_TABLE',
      Parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        'parquet.compression': 'ZSTD',
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': `${projectionStart},NOW`,
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'projection.hour.type': 'integer',
        'projection.hour.range': '0,23',
        'projection.hour.digits': '2',
      },
      PartitionKeys: definition.partitionKeys.map(({ name, type, comment }) => ({
        Name: name,
        Type: type,
        Comment: comment,
      })),
      StorageDescriptor: {
        Columns: definition.columns.map(({ name, type, comment }) => ({
          Name: name,
          Type: type,
          ...(comment && { Comment: comment }),
        })),
        Location: `s3://${dataBucket}/curated/`,
        InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
      },
    },
  };
};
