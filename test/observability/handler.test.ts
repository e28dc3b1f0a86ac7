import * as z from 'zod';
import { defineHandler } from '#shared/handler';

/** The least a container's environment holds (the rest has defaults), as `sls invoke local` sets it. */
const ENVIRONMENT = {
  AWS_REGION: 'us-east-1',
  DATA_BUCKET: 'handler-test-data',
  SOURCE_BUCKET: 'handler-test-logs',
  GLUE_DATABASE: 'handler_test',
  ATHENA_WORKGROUP: 'handler-test',
  STAGING_TABLE: 'handler-test-staging',
  DB_SECRET_ID: 'handler-test-secret',
  ETL_STAGE: 'test',
  LOG_LEVEL: 'error',
  MAX_RUN_COST_USD: '1',
  FUNCTION_MEMORY_MB: JSON.stringify({
    ingest: 512,
    transform: 1024,
    aggregate: 512,
    stage: 512,
    write: 512,
  }),
  IS_LOCAL: 'true',
};

describe('defineHandler under sls invoke local', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, ENVIRONMENT);
    // The invocation's metric and error lines: not what this test looks at.
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterAll(() => {
    jest.restoreAllMocks();
    process.env = saved;
  });

  it('closes what the handler keeps open after every invocation, failed or not', async () => {
    let closed = 0;
    const handler = defineHandler(
      'write',
      z.object({ action: z.literal('write'), fail: z.boolean() }),
      async (event) => {
        if (event.fail) throw new Error('planned failure');
        return { ok: true };
      },
      {
        closeWhenInvokedLocally: async () => {
          closed++;
        },
      },
    );
    await expect(handler({ action: 'write', fail: false })).resolves.toEqual({ ok: true });
    expect(closed).toBe(1);
    await expect(handler({ action: 'write', fail: true })).rejects.toThrow('planned failure');
    expect(closed).toBe(2);
  });
});
