import { ConfigError } from '#shared/core/errors';
import { cloudfront } from './cloudfront';
import type { Dataset } from './dataset';

/** Registered datasets. Adding one here is all the orchestration needs to know about it. */
export const DATASETS: Readonly<Record<string, Dataset>> = { cloudfront };

export function datasetNamed(name: string): Dataset {
  const dataset = DATASETS[name];
  if (dataset === undefined) {
    throw new ConfigError(`Unknown dataset '${name}'; known: ${Object.keys(DATASETS).join(', ')}`);
  }
  return dataset;
}

export type { Dataset } from './dataset';
