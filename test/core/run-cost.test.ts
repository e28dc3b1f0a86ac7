import {
  dynamodbReadUnits,
  dynamodbWriteUnits,
  gbSeconds,
  priceRun,
  type RunUsage,
  roundCost,
} from '#shared/core/run-cost';

const MB = 1024 ** 2;

/** A small run whose bill is worked out by hand below, at us-east-1 list prices. */
const usage: RunUsage = {
  architecture: 'arm64',
  // An empty query bills the 10 MB minimum; 15 MB and a byte bills 16 MB: 26 MB in all.
  athenaBytesScanned: [0, 15 * MB + 1],
  lambda: {
    // 6 s at 1 GB = 6 GB-s, and 6 s of 3.5 GB of /tmp above the free 512 MB = 21 GB-s of storage.
    transform: { invocations: 3, durationMs: 6_000, memoryMb: 1024, ephemeralStorageMb: 4096 },
    // 2 s at 0.5 GB = 1 GB-s.
    ingest: { invocations: 1, durationMs: 2_000, memoryMb: 512, ephemeralStorageMb: 512 },
  },
  stateTransitions: 40,
  s3: { putCopyListRequests: 1_000, getRequests: 2_500 },
  dynamodb: { writeUnits: 5, readUnits: 4 },
};

describe('run cost', () => {
  it('bills Athena per query rounded up to a MB with a 10 MB minimum, at $5 per TB', () => {
    const cost = priceRun(usage);
    expect(cost.athena.queries).toBe(2);
    expect(cost.athena.bytesScanned).toBe(15 * MB + 1);
    expect(cost.athena.billedBytes).toBe(26 * MB);
    // 26 MB of 1,048,576 MB per TB at $5.
    expect(cost.athena.usd).toBeCloseTo(0.000123977661, 12);
  });

  it('bills Lambda GB-s from durations and memory, requests, and /tmp above 512 MB', () => {
    const cost = priceRun(usage);
    expect(cost.lambda.gbSeconds).toBe(7);
    expect(cost.lambda.functions.transform?.gbSeconds).toBe(6);
    expect(cost.lambda.functions.ingest?.gbSeconds).toBe(1);
    expect(cost.lambda.requests).toBe(4);
    // 7 × 0.0000133334 + 4 × 0.0000002 + 21 × 0.0000000309
    expect(cost.lambda.usd).toBeCloseTo(0.0000947827, 12);
  });

  it('bills x86_64 at its own GB-s price', () => {
    const cost = priceRun({ ...usage, architecture: 'x86_64' });
    // 7 × 0.0000166667 + 4 × 0.0000002 + 21 × 0.0000000309
    expect(cost.lambda.usd).toBeCloseTo(0.0001181158, 12);
  });

  it('bills state transitions, S3 requests by class and DynamoDB units, and totals the services', () => {
    const cost = priceRun(usage);
    expect(cost.stepFunctions.usd).toBeCloseTo(0.001, 12);
    // 1,000 PUT at $0.005/1,000 and 2,500 GET at $0.0004/1,000.
    expect(cost.s3.usd).toBeCloseTo(0.006, 12);
    // 5 × $0.625/M + 4 × $0.125/M.
    expect(cost.dynamodb.usd).toBeCloseTo(0.000003625, 12);
    expect(cost.totalUsd).toBeCloseTo(0.007222385361, 12);
    expect(cost.pricesRegion).toBe('us-east-1');
  });

  it('rounds a report to 6 decimals of a dollar', () => {
    const rounded = roundCost(priceRun(usage));
    expect(rounded.totalUsd).toBe(0.007222);
    expect(rounded.athena.usd).toBe(0.000124);
    expect(rounded.lambda.usd).toBe(0.000095);
  });

  it('counts GB-s as seconds × memory in GB of 1,024 MB', () => {
    expect(gbSeconds(1_500, 512)).toBe(0.75);
    expect(gbSeconds(0, 10_240)).toBe(0);
  });

  it('counts a write unit per started KB of each item, at least one', () => {
    expect(dynamodbWriteUnits([300, 1024, 1025, 0])).toBe(5);
    expect(dynamodbWriteUnits([])).toBe(0);
  });

  it('counts a read unit per started 4 KB of each query, summed over its items first', () => {
    expect(dynamodbReadUnits([4096, 4097, 100])).toBe(4);
  });
});
