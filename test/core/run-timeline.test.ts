import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderReportHtml } from '#shared/core/report-html';
import { STATE_NAMES, timelineRows } from '#shared/core/run-timeline';
import { sampleReport } from '../support/run-report';

const STATE_MACHINES = resolve(__dirname, '..', '..', 'statemachines');

describe('run timeline', () => {
  it('names each state as the state machines do: a Task of that function, the action passed to it', () => {
    const definitions = readdirSync(STATE_MACHINES)
      .filter((name) => name.endsWith('.asl.yml'))
      .map((name) => readFileSync(join(STATE_MACHINES, name), 'utf8'))
      .join('\n');
    for (const [key, state] of Object.entries(STATE_NAMES)) {
      const [fn, action] = key.split('/');
      // The state's block: from its name to the next line as little indented.
      const block = new RegExp(`^( *)${state}:\\n((?:\\1 .*\\n)+)`, 'm').exec(definitions)?.[2] ?? '';
      expect({ state, task: block.includes(`Fn::GetAtt: [${fn}, Arn]`) }).toEqual({ state, task: true });
      if (action !== undefined) expect(definitions).toContain(`action: ${action}\n`);
    }
  });

  it('lays out the run, each batch and hour-group execution, and each state, on one time axis', () => {
    const { report, timings } = sampleReport({ hours: 24 });
    const rows = timelineRows(report, timings, 16);
    expect(rows.filter((row) => row.kind === 'execution').map((row) => [row.label, row.detail])).toEqual([
      ['run', 'the parent execution'],
      ['batch 0001', '4 files'],
      ['batch 0002', '4 files'],
      ['hours 2024-07-13T00–15', '16 hours'],
      ['hours 2024-07-13T16–23', '8 hours'],
    ]);
    expect(rows.filter((row) => row.kind === 'state').map((row) => row.label)).toEqual([
      'Ingest',
      'LoadBatch',
      'TransformFile',
      'PlanHours',
      'StartQuery',
      'CheckQuery',
      'FetchResults',
      'StageRows',
      'WriteWarehouse',
      'Report',
    ]);
    const transform = rows.find((row) => row.label === 'TransformFile');
    expect(transform?.detail).toBe('transform file: 8 invocations');
    expect(transform && transform.end - transform.start).toBe(1200 - 450);
    const page = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    expect(page.match(/data-timeline-row="execution"/g)).toHaveLength(5);
    expect(page.match(/data-timeline-row="state"/g)).toHaveLength(10);
  });

  it('draws many child executions as one row per kind', () => {
    const { report } = sampleReport();
    const timings = Array.from({ length: 100 }, (_, index) => ({
      function: 'transform',
      action: 'file',
      batchId: String(index + 1).padStart(4, '0'),
      startedAt: '2024-07-14T00:05:01.000Z',
      finishedAt: '2024-07-14T00:05:02.000Z',
    }));
    const executions = timelineRows(report, timings, 16).filter((row) => row.kind === 'execution');
    expect(executions.map((row) => [row.label, row.detail])).toEqual([
      ['run', 'the parent execution'],
      ['batches 0001–0100', '100 executions, 100 files'],
    ]);
  });

  it("draws a busy day's 100,000 transform invocations in 100 batches as one row of batches and one state", () => {
    const { report } = sampleReport();
    const timings = Array.from({ length: 100_000 }, (_, index) => ({
      function: 'transform',
      action: 'file',
      batchId: String((index % 100) + 1).padStart(4, '0'),
      startedAt: new Date(Date.parse('2024-07-14T00:05:01.000Z') + index).toISOString(),
      finishedAt: new Date(Date.parse('2024-07-14T00:05:02.000Z') + index).toISOString(),
    }));
    const rows = timelineRows(report, timings, 16);
    expect(rows.map((row) => [row.kind, row.label, row.detail])).toEqual([
      ['execution', 'run', 'the parent execution'],
      ['execution', 'batches 0001–0100', '100 executions, 100,000 files'],
      ['state', 'TransformFile', 'transform file: 100,000 invocations'],
    ]);
    expect(rows[2]?.end).toBe(Date.parse('2024-07-14T00:05:02.000Z') + 99_999);
  });
});
