import { ConfigError } from '#shared/core/errors';
import { DATASETS, datasetNamed } from '#shared/datasets/index';
import { TABLES, tableNamed } from '#shared/datasets/tables';

describe('dataset registry', () => {
  it('lists the same datasets with their tables alone (tables.ts, for the aggregate function) as with their readers', () => {
    expect(Object.keys(TABLES).sort()).toEqual(Object.keys(DATASETS).sort());
    for (const name of Object.keys(DATASETS)) expect(tableNamed(name)).toBe(datasetNamed(name).table);
  });

  it('refuses an unknown dataset, naming the known ones', () => {
    expect(() => tableNamed('nope')).toThrow(ConfigError);
    expect(() => tableNamed('nope')).toThrow(/known: cloudfront/);
  });
});
