/**
 * Seeded sample CloudFront standard logs for local runs, tests and benchmarks: realistic rows,
 * planted problems, and the counts a correct transform must produce.
 */
export type { LogLinesOptions, SampleExpectation, SampleFile, SampleOptions } from './generate';
export { generateLogLines, generateSample, withHour, writeSampleDirectory } from './generate';
