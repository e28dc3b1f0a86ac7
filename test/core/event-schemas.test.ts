import { AggregateInputSchema } from '#shared/steps/aggregate';
import { IngestInputSchema } from '#shared/steps/ingest';
import { ReportInputSchema } from '#shared/steps/report';
import { StageInputSchema } from '#shared/steps/stage';
import { TransformInputSchema } from '#shared/steps/transform';
import { WriteInputSchema } from '#shared/steps/write';

/** Run ids that would name a folder outside the run's own (locally: outside `.local`). */
const CRAFTED_RUN_IDS = [
  '../../etc',
  '..',
  '.',
  'a/b',
  'a\\b',
  '',
  'run\nid',
  `r${'x'.repeat(80)}`,
  '-starts-with-dash',
];

const file = (key: string, fileId = 'E1-abc') => ({ fileId, sourceKey: 'E1.gz', key, size: 1 });

describe('every handler event schema keeps run ids and keys to safe characters', () => {
  const report = (runId: string) => ({
    action: 'report',
    status: 'SUCCEEDED',
    runId,
    window: { from: '2024-07-13T00', to: '2024-07-13T01' },
    startedAt: '2024-07-13T01:00:00Z',
  });
  const schemas: [string, (runId: string) => { success: boolean }][] = [
    ['report', (runId) => ReportInputSchema.safeParse(report(runId))],
    [
      'failure report',
      (runId) =>
        ReportInputSchema.safeParse({
          action: 'report',
          status: 'FAILED',
          input: { runId },
          executionName: 'exec-1',
          startedAt: 'x',
        }),
    ],
    ['write', (runId) => WriteInputSchema.safeParse({ runId })],
    ['stage', (runId) => StageInputSchema.safeParse({ runId, resultKey: 'runs/r/aggregates/h.json' })],
    ['transform', (runId) => TransformInputSchema.safeParse({ runId, file: file('raw/E1.gz') })],
    ['aggregate', (runId) => AggregateInputSchema.safeParse({ action: 'hours', runId })],
    ['ingest', (runId) => IngestInputSchema.safeParse({ input: { runId }, executionName: 'exec-1' })],
  ];

  it.each(schemas)('%s: accepts a plain run id and refuses crafted ones', (_name, parse) => {
    expect(parse('local-2024-07-13T00-2024-07-14T00-mwtn5jeg').success).toBe(true);
    for (const runId of CRAFTED_RUN_IDS) expect([runId, parse(runId).success]).toEqual([runId, false]);
  });

  it('refuses keys with dot segments, empty segments, backslashes or control characters, or outside their prefix', () => {
    const transform = (key: string, fileId?: string) =>
      TransformInputSchema.safeParse({ runId: 'r1', file: file(key, fileId) }).success;
    expect(transform('raw/2024/07/E1.2024-07-13-10.abc.gz')).toBe(true);
    for (const key of ['raw/../x', 'raw/./x', 'raw//x', 'raw/a\\b', 'raw/a\u0000b', 'curated/x', '/raw/x']) {
      expect([key, transform(key)]).toEqual([key, false]);
    }
    expect(transform('raw/x', '..')).toBe(false);
    expect(transform('raw/x', 'a/b')).toBe(false);
    const stage = (resultKey: string) => StageInputSchema.safeParse({ runId: 'r1', resultKey }).success;
    expect(stage('runs/r1/aggregates/2024-07-13T10.json')).toBe(true);
    expect(stage('runs/../../../etc/passwd')).toBe(false);
    expect(stage('reports/r1.json')).toBe(false);
    const status = (queryExecutionId: string) =>
      AggregateInputSchema.safeParse({
        action: 'results',
        runId: 'r1',
        hour: '2024-07-13T10',
        queryExecutionId,
      }).success;
    expect(status('4f2d1c3e-0000-4000-8000-000000000000')).toBe(true);
    expect(status('../x')).toBe(false);
  });
});
