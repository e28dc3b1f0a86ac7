import { athenaBilledBytes, athenaCostUsd, PRICES, PRICES_REGION } from './prices';

/**
 * A run's bill by service, from what the run used: the one pricing of a run, shared by the run
 * report (counts the run gathered) and `npm run plan` (counts it estimates). Pure: counts in,
 * dollars out, at the list prices of `prices.ts`.
 */

/** What one function used in a run. */
export interface FunctionUsage {
  invocations: number;
  /** Summed billed duration of its invocations, milliseconds. */
  durationMs: number;
  memoryMb: number;
  /** Its /tmp size; above 512 MB it is billed per GB-s. */
  ephemeralStorageMb: number;
}

/** A run's usage of each service the bill is made of. */
export interface RunUsage {
  architecture: 'arm64' | 'x86_64';
  /** Bytes each Athena query scanned. */
  athenaBytesScanned: readonly number[];
  /** By function name. */
  lambda: Readonly<Record<string, FunctionUsage>>;
  stateTransitions: number;
  s3: { putCopyListRequests: number; getRequests: number };
  dynamodb: { writeUnits: number; readUnits: number };
}

export interface RunCost {
  /** Prices used: on demand, no free tier (shared/core/prices.ts). */
  pricesRegion: string;
  architecture: RunUsage['architecture'];
  totalUsd: number;
  athena: { usd: number; queries: number; bytesScanned: number; billedBytes: number };
  lambda: {
    usd: number;
    requests: number;
    gbSeconds: number;
    functions: Record<string, FunctionUsage & { gbSeconds: number }>;
  };
  stepFunctions: { usd: number; stateTransitions: number };
  s3: { usd: number; putCopyListRequests: number; getRequests: number };
  dynamodb: { usd: number; writeUnits: number; readUnits: number };
}

/** GB-seconds of `durationMs` at `memoryMb` (Lambda bills memory in GB of 1,024 MB). */
export function gbSeconds(durationMs: number, memoryMb: number): number {
  return (durationMs / 1000) * (memoryMb / 1024);
}

/** Write request units of putting these items: one per started KB of each item. */
export function dynamodbWriteUnits(itemBytes: readonly number[]): number {
  return itemBytes.reduce((sum, bytes) => sum + Math.max(1, Math.ceil(bytes / 1024)), 0);
}

/**
 * Read request units of strongly consistent Queries, each returning items of `bytesPerQuery` in
 * all: one per started 4 KB of a query's items (a Query sums its items before rounding).
 */
export function dynamodbReadUnits(bytesPerQuery: readonly number[]): number {
  return bytesPerQuery.reduce((sum, bytes) => sum + Math.max(1, Math.ceil(bytes / 4096)), 0);
}

/** Prices a run's usage by service (unrounded: `roundCost` for a report). */
export function priceRun(usage: RunUsage): RunCost {
  const billedBytes = usage.athenaBytesScanned.reduce((sum, bytes) => sum + athenaBilledBytes(bytes), 0);
  const athena = {
    usd: athenaCostUsd(billedBytes),
    queries: usage.athenaBytesScanned.length,
    bytesScanned: usage.athenaBytesScanned.reduce((sum, bytes) => sum + bytes, 0),
    billedBytes,
  };

  const gbSecondPrice =
    usage.architecture === 'arm64' ? PRICES.lambda.usdPerGbSecondArm : PRICES.lambda.usdPerGbSecondX86;
  const functions: RunCost['lambda']['functions'] = {};
  let lambdaGbSeconds = 0;
  let storageGbSeconds = 0;
  let requests = 0;
  for (const [name, use] of Object.entries(usage.lambda)) {
    const used = gbSeconds(use.durationMs, use.memoryMb);
    functions[name] = { ...use, gbSeconds: used };
    lambdaGbSeconds += used;
    storageGbSeconds += gbSeconds(use.durationMs, Math.max(0, use.ephemeralStorageMb - 512));
    requests += use.invocations;
  }
  const lambda = {
    usd:
      lambdaGbSeconds * gbSecondPrice +
      requests * PRICES.lambda.usdPerRequest +
      storageGbSeconds * PRICES.lambda.usdPerEphemeralGbSecond,
    requests,
    gbSeconds: lambdaGbSeconds,
    functions,
  };

  const stepFunctions = {
    usd: usage.stateTransitions * PRICES.stepFunctions.usdPerStateTransition,
    stateTransitions: usage.stateTransitions,
  };
  const s3 = {
    usd:
      usage.s3.putCopyListRequests * PRICES.s3.usdPerPutCopyListRequest +
      usage.s3.getRequests * PRICES.s3.usdPerGetRequest,
    ...usage.s3,
  };
  const dynamodb = {
    usd:
      usage.dynamodb.writeUnits * PRICES.dynamodb.usdPerWriteRequestUnit +
      usage.dynamodb.readUnits * PRICES.dynamodb.usdPerReadRequestUnit,
    ...usage.dynamodb,
  };
  return {
    pricesRegion: PRICES_REGION,
    architecture: usage.architecture,
    totalUsd: athena.usd + lambda.usd + stepFunctions.usd + s3.usd + dynamodb.usd,
    athena,
    lambda,
    stepFunctions,
    s3,
    dynamodb,
  };
}

/** The cost with dollars and GB-seconds to 6 decimals, as a report shows them. */
export function roundCost(cost: RunCost): RunCost {
  const r = (value: number) => Number(value.toFixed(6));
  return {
    ...cost,
    totalUsd: r(cost.totalUsd),
    athena: { ...cost.athena, usd: r(cost.athena.usd) },
    lambda: {
      ...cost.lambda,
      usd: r(cost.lambda.usd),
      gbSeconds: r(cost.lambda.gbSeconds),
      functions: Object.fromEntries(
        Object.entries(cost.lambda.functions).map(([name, use]) => [
          name,
          { ...use, gbSeconds: r(use.gbSeconds) },
        ]),
      ),
    },
    stepFunctions: { ...cost.stepFunctions, usd: r(cost.stepFunctions.usd) },
    s3: { ...cost.s3, usd: r(cost.s3.usd) },
    dynamodb: { ...cost.dynamodb, usd: r(cost.dynamodb.usd) },
  };
}

/**
 * The same cost with Lambda and Step Functions priced again from a better count (locally, the
 * handlers' own invocations), the other services as they were.
 */
export function withCountedInvocations(
  cost: RunCost,
  counted: Pick<RunUsage, 'lambda' | 'stateTransitions'>,
): RunCost {
  const { lambda, stepFunctions } = priceRun({
    architecture: cost.architecture,
    athenaBytesScanned: [],
    lambda: counted.lambda,
    stateTransitions: counted.stateTransitions,
    s3: { putCopyListRequests: 0, getRequests: 0 },
    dynamodb: { writeUnits: 0, readUnits: 0 },
  });
  return {
    ...cost,
    lambda,
    stepFunctions,
    totalUsd: cost.athena.usd + lambda.usd + stepFunctions.usd + cost.s3.usd + cost.dynamodb.usd,
  };
}
