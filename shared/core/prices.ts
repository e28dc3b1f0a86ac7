/**
 * AWS list prices the cost estimates use (`npm run plan`, the run report): region us-east-1, on
 * demand, no free tier, as published on each service's pricing page
 * (https://aws.amazon.com/<service>/pricing/). Prices change and differ per region: this is the one
 * place to update them.
 */
export const PRICES_REGION = 'us-east-1';

export const PRICES = {
  athena: {
    /** SQL queries, $5.00 per TB scanned (https://aws.amazon.com/athena/pricing/). */
    usdPerTbScanned: 5,
    /** Bytes scanned are rounded up to the next megabyte… */
    billingIncrementBytes: 1024 ** 2,
    /** …with a 10 MB minimum per query. */
    minimumBilledBytes: 10 * 1024 ** 2,
  },
  lambda: {
    /** Duration, arm64 (Graviton), first 7.5 billion GB-s a month (https://aws.amazon.com/lambda/pricing/). */
    usdPerGbSecondArm: 0.0000133334,
    /** Duration, x86_64, first 6 billion GB-s a month. */
    usdPerGbSecondX86: 0.0000166667,
    /** $0.20 per million requests. */
    usdPerRequest: 0.2 / 1_000_000,
    /** Ephemeral storage above the free 512 MB, per GB-s. */
    usdPerEphemeralGbSecond: 0.0000000309,
  },
  stepFunctions: {
    /** Standard workflows: $0.025 per 1,000 state transitions (https://aws.amazon.com/step-functions/pricing/). */
    usdPerStateTransition: 0.025 / 1_000,
  },
  s3: {
    /** S3 Standard: PUT, COPY, POST and LIST requests, $0.005 per 1,000 (https://aws.amazon.com/s3/pricing/). */
    usdPerPutCopyListRequest: 0.005 / 1_000,
    /** GET, SELECT and all other requests (HEAD included), $0.0004 per 1,000. */
    usdPerGetRequest: 0.0004 / 1_000,
  },
  dynamodb: {
    /** On-demand: $0.625 per million write request units (https://aws.amazon.com/dynamodb/pricing/on-demand/). */
    usdPerWriteRequestUnit: 0.625 / 1_000_000,
    /** On-demand: $0.125 per million read request units. */
    usdPerReadRequestUnit: 0.125 / 1_000_000,
  },
} as const;

/** What Athena bills for one query that scanned `bytesScanned`: rounded up to a MB, at least 10 MB. */
export function athenaBilledBytes(bytesScanned: number): number {
  const { billingIncrementBytes, minimumBilledBytes } = PRICES.athena;
  return Math.max(
    minimumBilledBytes,
    Math.ceil(bytesScanned / billingIncrementBytes) * billingIncrementBytes,
  );
}

/** Athena's price for queries that billed `billedBytes` in all. */
export function athenaCostUsd(billedBytes: number): number {
  return (billedBytes / 1024 ** 4) * PRICES.athena.usdPerTbScanned;
}
