import { parseByteSize } from '#local/cli/plan-table';
import { planBackfill } from '#shared/core/backfill-plan';
import { PRICES } from '#shared/core/prices';
import { priceRun } from '#shared/core/run-cost';
import {
  estimateRunUsage,
  planRun,
  type StageSettings,
  s3RequestEstimate,
  stageSettingsFromConfig,
} from '#shared/core/run-plan';

/** Stage prod of serverless.yml as `sls print` resolves it (the parts the planner reads). */
const prodConfig = {
  provider: { stage: 'prod', architecture: 'arm64' },
  custom: {
    limits: {
      windowHours: 1,
      lookbackHours: 2,
      batchConcurrency: 8,
      batchMapMode: 'inline',
      toleratedBatchFailurePercentage: 0,
      fileConcurrency: 20,
      batchMaxBytes: 2147483648,
      athenaConcurrency: 20,
      athenaPollSeconds: 5,
      athenaQueryTimeoutSeconds: 600,
      hoursPerExecution: 16,
      batchMaxFiles: 200,
      projectionStartDate: '2008-01-01',
      accountConcurrencyLimit: 1000,
      ephemeralStorageTransform: 4096,
      maxRawFileBytes: 268435456,
      rawExpansion: 8,
      backfillHoursPerRun: 24,
      backfillConcurrency: 1,
    },
  },
  functions: {
    ingest: { memorySize: 512, timeout: 300 },
    transform: { memorySize: 1024, timeout: 900, reservedConcurrency: 200, ephemeralStorageSize: 4096 },
    aggregate: { memorySize: 512, timeout: 120 },
    stage: { memorySize: 512, timeout: 300 },
    write: { memorySize: 512, timeout: 900, reservedConcurrency: 2 },
  },
};
const prod: StageSettings = stageSettingsFromConfig(prodConfig);
const busyDay = { filesPerDay: 100_000, meanFileBytes: 40_000, days: 1 };

describe('npm run plan: one day of a busy distribution (100,000 files)', () => {
  const plan = planRun(busyDay, prod);

  it('cuts 500 batches of 200 files and 2 hour groups, each execution inside the history budget', () => {
    expect(plan.batches).toEqual({ count: 500, largestFiles: 200, maxPerRun: 2494 });
    expect(plan.childExecutions).toEqual({ batch: 500, hours: 2, mapRun: 0 });
    expect(plan.batchMap).toEqual({ mode: 'inline', used: 'inline' });
    expect(plan.history).toMatchObject({
      run: 32 + 8 * (500 + 2),
      batch: 13 + 7 * 200,
      // 16 hours, each query polled to its 600 s budget every 5 s: 121 polls.
      hoursWorst: 8 + 16 * (17 + 9 * 121),
      cap: 25_000,
      budget: 20_000,
    });
    expect(plan.findings.map((finding) => finding.reason)).not.toContainEqual(
      expect.stringMatching(/batches/),
    );
  });

  it('keeps Athena under its quota and the transforms under their reservation', () => {
    expect(plan.athena).toMatchObject({ queries: 26, concurrency: 16, quota: 20 });
    expect(plan.lambda).toEqual({
      transformPeak: 160,
      transformReserved: 200,
      reservedTotal: 202,
      unreserved: 798,
    });
  });

  it('prices every service, Step Functions from the transitions the run model counts', () => {
    const byService = Object.fromEntries(plan.cost.lines.map((line) => [line.service, line]));
    expect(Object.keys(byService)).toEqual(['Athena', 'Lambda', 'Step Functions', 'S3', 'DynamoDB']);
    // Parent 7 + 502; batches 3 each + a task per file; hour groups 2 each + 3 per hour and per poll (1 at 4 s).
    const transitions = 7 + 502 + 500 * 3 + 100_000 + 2 * 2 + 26 * 3 + 26 * 3;
    expect(byService['Step Functions']?.usd).toBeCloseTo(
      transitions * PRICES.stepFunctions.usdPerStateTransition,
      6,
    );
    for (const line of plan.cost.lines) expect(line.usd).toBeGreaterThan(0);
    expect(plan.cost.totalUsd).toBeCloseTo(
      plan.cost.lines.reduce((sum, line) => sum + line.usd, 0),
      9,
    );
  });

  it('keeps every invocation within its timeout: ingest copies 64 files at once, PlanHours reads 64 results at once', () => {
    expect(plan.findings.filter((finding) => finding.level === 'refused')).toEqual([]);
    // At 16 copies and one result at a time they took ≈ 380 s and ≈ 3,000 s: past 300 s and 120 s.
    expect(plan.longestInvocation.ingest.seconds).toBeGreaterThan(60);
    expect(plan.longestInvocation.ingest.seconds).toBeLessThan(plan.longestInvocation.ingest.timeoutSeconds);
    expect(plan.longestInvocation.aggregate.seconds).toBeGreaterThan(40);
    expect(plan.longestInvocation.aggregate.seconds).toBeLessThan(
      plan.longestInvocation.aggregate.timeoutSeconds,
    );
  });
});

describe('npm run plan: a year backfill of that distribution', () => {
  const plan = planRun({ ...busyDay, days: 365 }, prod);

  it("refuses its 182,500 batches, naming the parent's history and the ways out", () => {
    expect(plan.batches).toMatchObject({ count: 182_500, maxPerRun: 1948 });
    expect(plan.history.run).toBeGreaterThan(25_000);
    const batches = plan.findings.find((finding) => /batches/.test(finding.reason));
    expect(batches).toMatchObject({ level: 'refused' });
    expect(batches?.reason).toMatch(/182,500 batches .* at most 1,948 beside its 548 hour groups/);
    expect(batches?.fix).toMatch(/92 windows of ≤ 4 days/);
    expect(batches?.fix).toMatch(/raise batchMaxFiles to 1,000 \(windows of ≤ 18 days\)/);
    expect(batches?.fix).toMatch(/Distributed Map/);
    expect(plan.daysPerRunThatFit).toBe(4);
    // Four days do fit: the suggestion holds.
    expect(
      planRun({ ...busyDay, days: 4 }, prod).findings.map((finding) => finding.reason),
    ).not.toContainEqual(expect.stringMatching(/batches/));
    expect(planRun({ ...busyDay, days: 5 }, prod).daysPerRunThatFit).toBe(4);
  });
});

describe('npm run plan: the year with a Distributed Map parent', () => {
  const year = { ...busyDay, days: 365 };
  const distributed = planRun(year, { ...prod, batchMapMode: 'distributed' });

  it('holds the 182,500 batches in one execution: the parent records the map run, not the batches', () => {
    expect(distributed.batchMap).toEqual({ mode: 'distributed', used: 'distributed' });
    expect(distributed.batches.maxPerRun).toBe(Number.POSITIVE_INFINITY);
    // 4 tasks, the Choice, 2 Maps, the map run (2 events), and 8 per hour group.
    expect(distributed.history.run).toBe(34 + 8 * 548);
    expect(distributed.childExecutions).toEqual({ batch: 182_500, hours: 548, mapRun: 182_500 });
    expect(distributed.findings.map((finding) => finding.reason)).not.toContainEqual(
      expect.stringMatching(/batches of/),
    );
  });

  it('still refuses the year for what runs in one invocation: ingest and PlanHours', () => {
    const refused = distributed.findings.filter((finding) => finding.level === 'refused');
    expect(refused.map((finding) => finding.reason)).toEqual([
      expect.stringMatching(/^ingest would run ≈ 35,400 s/),
      expect.stringMatching(/^aggregate would run ≈ 18,205 s/),
    ]);
  });

  it("bills each map-run child's start: one transition a batch more than inline (its task replaces the parent's)", () => {
    const inline = planRun(year, prod);
    const transitions = (plan: typeof inline) =>
      Number(
        plan.cost.lines
          .find((line) => line.service === 'Step Functions')
          ?.detail.match(/^([\d,]+) state transitions/)?.[1]
          ?.replaceAll(',', ''),
      );
    expect(transitions(distributed) - transitions(inline)).toBe(182_500);
  });

  it("counts the map run's S3 requests: the batch list, the ItemReader's read, the result file and manifest", () => {
    const run = { files: 1_000, batches: 5, queries: 26 };
    const inline = s3RequestEstimate(run);
    const withMapRun = s3RequestEstimate({ ...run, batchMap: 'distributed' });
    expect(withMapRun.putCopyListRequests - inline.putCopyListRequests).toBe(3);
    expect(withMapRun.getRequests - inline.getRequests).toBe(1);
  });

  it('lets auto take the Distributed Map for the year and the inline Map for a day', () => {
    const auto = { ...prod, batchMapMode: 'auto' as const };
    expect(planRun(year, auto).batchMap.used).toBe('distributed');
    expect(planRun(busyDay, auto).batchMap.used).toBe('inline');
    expect(planRun(busyDay, auto).history.run).toBe(planRun(busyDay, prod).history.run);
  });
});

describe('npm run plan: prices and settings', () => {
  it('estimates a query per hour the files can fill, not per hour of a long sparse window', () => {
    // Ten years of window, 3 files: ⌈3 × 1.2⌉ = 4 hours with rows, not 87,600 queries.
    const usage = estimateRunUsage({ files: 3, bytes: 9_000, hours: 87_600 }, prod);
    expect(usage.athenaBytesScanned).toHaveLength(4);
    expect(priceRun(usage).totalUsd).toBeLessThan(0.01);
    // A day of 24 files fills its 24 hours and the 2 of lookback.
    expect(estimateRunUsage({ files: 24, bytes: 24_000, hours: 24 }, prod).athenaBytesScanned).toHaveLength(
      26,
    );
  });

  it('bills Athena per query rounded up to a MB, at least 10 MB', () => {
    const plan = planRun({ filesPerDay: 24, meanFileBytes: 1_000, days: 1 }, prod);
    const athena = plan.cost.lines.find((line) => line.service === 'Athena');
    expect(athena?.usd).toBeCloseTo((26 * 10 * 1024 ** 2 * PRICES.athena.usdPerTbScanned) / 1024 ** 4, 12);
    expect(plan.findings).toEqual([]);
  });

  it('flags transforms that their reservation would throttle, with the settings to change', () => {
    const dev = { ...prod, stage: 'dev', batchConcurrency: 2, fileConcurrency: 10 };
    dev.functions = {
      ...prod.functions,
      transform: { ...prod.functions.transform, reservedConcurrency: 10 },
    };
    const plan = planRun({ filesPerDay: 2_000, meanFileBytes: 40_000, days: 1 }, dev);
    expect(plan.findings).toEqual([
      {
        level: 'warning',
        reason: expect.stringMatching(/up to 20 transforms at once .* against reservedTransform 10/),
        fix: 'lower batchConcurrency or fileConcurrency to a product ≤ 10, or raise reservedTransform',
      },
    ]);
  });

  it('passes on the package-time refusals of the run model', () => {
    const plan = planRun(busyDay, { ...prod, athenaConcurrency: 25 });
    expect(plan.findings[0]).toMatchObject({
      level: 'refused',
      reason: expect.stringMatching(/athenaConcurrency is 25/),
    });
  });

  it('reads the settings where sls package does, and names a missing one', () => {
    expect(prod.functions.transform).toEqual({
      memoryMb: 1024,
      timeoutSeconds: 900,
      reservedConcurrency: 200,
      ephemeralStorageMb: 4096,
    });
    const { batchConcurrency: _left, ...limits } = prodConfig.custom.limits;
    expect(() => stageSettingsFromConfig({ ...prodConfig, custom: { limits } })).toThrow(
      'custom.limits.batchConcurrency in serverless.yml is undefined, not a number',
    );
  });

  it('reads sizes in bytes, decimal and binary units', () => {
    expect(parseByteSize('40000')).toBe(40_000);
    expect(parseByteSize('40KB')).toBe(40_000);
    expect(parseByteSize('1.5 MiB')).toBe(1.5 * 1024 ** 2);
    expect(parseByteSize('forty')).toBeUndefined();
    expect(parseByteSize('0')).toBeUndefined();
  });
});

describe('npm run plan: a year of a busy distribution as a backfill', () => {
  const year = { ...busyDay, days: 365 };

  it('refuses the year as one distributed run, naming ingest and PlanHours', () => {
    const plan = planRun(year, { ...prod, batchMapMode: 'distributed' });
    const refused = plan.findings
      .filter((finding) => finding.level === 'refused')
      .map((finding) => finding.reason);
    expect(refused.some((reason) => /ingest/i.test(reason))).toBe(true);
    expect(refused.some((reason) => /PlanHours|aggregate/i.test(reason))).toBe(true);
  });

  it('fits as 365 daily runs: each run a day that fits, the backfill inside 25,000 events', () => {
    const backfill = planBackfill(year, prod, { hoursPerRun: 24, concurrency: 1 });
    expect(backfill.windows).toBe(365);
    expect(backfill.history).toEqual({ events: 20 + 8 * 365, budget: 20_000, cap: 25_000, maxWindows: 2497 });
    expect(backfill.perRun.findings.filter((finding) => finding.level === 'refused')).toEqual([]);
    expect(backfill.wallClockSeconds).toBe(365 * backfill.perRun.wallClock.total);
    expect(backfill.costUsd).toBeCloseTo(365 * backfill.perRun.cost.totalUsd, 6);
    expect(backfill.fits).toBe(true);
  });

  it('does not fit 8 years of daily runs in one backfill (2,920 windows, 2,497 at most)', () => {
    const backfill = planBackfill({ ...busyDay, days: 8 * 365 }, prod, { hoursPerRun: 24, concurrency: 1 });
    expect(backfill.windows).toBe(2920);
    expect(backfill.fits).toBe(false);
    expect(planBackfill({ ...busyDay, days: 8 * 365 }, prod, { hoursPerRun: 48, concurrency: 1 }).fits).toBe(
      true,
    );
  });

  it('divides the wall clock by the backfill concurrency, rounding up', () => {
    const two = planBackfill(year, prod, { hoursPerRun: 24, concurrency: 2 });
    expect(two.wallClockSeconds).toBe(183 * two.perRun.wallClock.total);
  });
});
