import { escapeHtml, html } from '#shared/core/html';
import { formatBytes, hourBars, renderReportHtml } from '#shared/core/report-html';
import type { RunReport } from '#shared/core/run-report';
import { sampleReport } from '../support/run-report';

const INJECTED = '<script>alert("x")</script><img src=x onerror=alert(1)>';

/** Every `<tag` the page opens, lower-cased. */
const tagsOf = (page: string) =>
  new Set([...page.matchAll(/<([a-zA-Z][\w-]*)/g)].map((match) => match[1]?.toLowerCase()));

describe('html template', () => {
  it('escapes every interpolated value, text and attribute alike, and passes nested templates through', () => {
    expect(escapeHtml(`a&b <c> "d" 'e'`)).toBe('a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39;');
    const cell = html`<td title="${'" onclick="x'}">${'<b>'}</td>`;
    expect(cell.text).toBe('<td title="&quot; onclick=&quot;x">&lt;b&gt;</td>');
    expect(html`<tr>${[cell, html`<td>${2}</td>`]}${undefined}${false}${null}</tr>`.text).toBe(
      '<tr><td title="&quot; onclick=&quot;x">&lt;b&gt;</td><td>2</td></tr>',
    );
  });
});

describe('report page', () => {
  it('renders a script in a file name, a quarantine reason or an error cause as text, never as markup', () => {
    const { report, timings } = sampleReport({
      status: 'FAILED',
      quarantinedFiles: [{ key: `raw/${INJECTED}.gz`, reason: `bad header ${INJECTED}` }],
    });
    report.error = { error: `Err${INJECTED}`, cause: `cause ${INJECTED}`, execution: `arn:${INJECTED}` };
    const page = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    expect(page).not.toMatch(/<script|<img|<[^<>]*onerror/i);
    expect(tagsOf(page).has('script')).toBe(false);
    expect(page).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
    );
    // Reason, key, error name, cause and execution: each shown once in the quarantine or error part.
    expect(page.split('&lt;script&gt;').length - 1).toBeGreaterThanOrEqual(6);
  });

  it('loads nothing: no script, no external reference, and a policy that forbids any load', () => {
    const { report, timings } = sampleReport();
    const page = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(page).not.toMatch(/\b(src|href)=|url\(|@import|https?:\/\//i);
    expect(tagsOf(page).has('script')).toBe(false);
    expect(tagsOf(page).has('link')).toBe(false);
  });

  it('is a pure function of the report: same page twice, report untouched', () => {
    const { report, timings } = sampleReport();
    const before = JSON.stringify(report);
    const first = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    expect(renderReportHtml(report, { timings, hoursPerExecution: 16 })).toBe(first);
    expect(JSON.stringify(report)).toBe(before);
  });

  it("draws one bar per hour with the hour's requests and bytes, and gives the totals", () => {
    const { report, timings } = sampleReport({ hours: 24 });
    const page = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    const bars = [...page.matchAll(/data-hour="([^"]+)" data-requests="(\d+)" data-bytes="(\d+)"/g)];
    expect(bars.map((bar) => ({ hour: bar[1], requests: Number(bar[2]), bytes: Number(bar[3]) }))).toEqual(
      report.hours,
    );
    const total = report.hours.reduce((sum, hour) => sum + hour.requests, 0);
    expect(page).toContain(`${total.toLocaleString('en-US')} requests`);
  });

  it('fills an hour without rows with a zero bar, and draws a run longer than a week per day', () => {
    const gap = hourBars([
      { hour: '2024-07-13T01', requests: 5, bytes: 50 },
      { hour: '2024-07-13T04', requests: 7, bytes: 70 },
    ]);
    expect(gap.unit).toBe('hour');
    expect(gap.bars.map((bar) => [bar.label, bar.requests])).toEqual([
      ['2024-07-13T01', 5],
      ['2024-07-13T02', 0],
      ['2024-07-13T03', 0],
      ['2024-07-13T04', 7],
    ]);
    const month = Array.from({ length: 31 * 24 }, (_, index) => ({
      hour: new Date(Date.UTC(2024, 6, 1) + index * 3_600_000).toISOString().slice(0, 13),
      requests: 1,
      bytes: 10,
    }));
    const daily = hourBars(month);
    expect(daily.unit).toBe('day');
    expect(daily.bars).toHaveLength(31);
    expect(daily.bars[0]).toEqual({ label: '2024-07-01', requests: 24, bytes: 240 });
    expect(daily.bars[30]?.label).toBe('2024-07-31');
  });

  it('shows files and rows per stage with the checks that tie them, and the quarantine by reason', () => {
    const { report, timings } = sampleReport({
      quarantinedFiles: [
        { key: 'raw/a.gz', reason: 'gzip: unexpected end of file' },
        { key: 'raw/b.gz', reason: 'gzip: unexpected end of file' },
        { key: 'raw/c.gz', reason: 'no #Fields line' },
      ],
    });
    const page = renderReportHtml(report, { timings, hoursPerExecution: 16 });
    expect(page).toContain(`data-rows="read">${report.rows.read.toLocaleString('en-US')} read`);
    expect(page).toContain('✓ rows: accepted + quarantined + in quarantined files = read');
    expect(page).toContain('✓ MATCHED: MySQL against the aggregate, 24 hours');
    expect(page).toMatch(/<td class="reason">gzip: unexpected end of file<\/td><td>2<\/td>/);
    expect(page).toMatch(/<td class="reason">no #Fields line<\/td><td>1<\/td>/);
    expect(page).toContain(`data-quarantined-rows="${report.rows.quarantined}"`);
  });

  it('marks a reconciliation difference, and lists the hours that differ', () => {
    const { report, timings } = sampleReport({ hours: 2 });
    const different: RunReport = {
      ...report,
      status: 'FAILED',
      reconciliation: {
        status: 'DIFFERENT',
        hours: 2,
        differences: [
          {
            hour: '2024-07-13T01',
            warehouse: { requests: 9, bytes: 90 },
            aggregate: { requests: 8, bytes: 80 },
          },
        ],
      },
    };
    const page = renderReportHtml(different, { timings });
    expect(page).toContain('✗ DIFFERENT: MySQL against the aggregate, 2 hours');
    expect(page).toContain('<tr><td>2024-07-13T01</td><td>9</td><td>8</td><td>90</td><td>80</td></tr>');
  });

  it('gives the cost of each service with what it was counted from, and the total', () => {
    const { report, timings } = sampleReport();
    const page = renderReportHtml(report, { timings });
    for (const service of ['Athena', 'Lambda', 'Step Functions', 'S3', 'DynamoDB']) {
      expect(page).toContain(`data-service="${service}"`);
    }
    expect(page).toContain(`data-service="Lambda" data-usd="${report.cost.lambda.usd}"`);
    expect(page).toContain(escapeHtml(report.cost.sources.stepFunctions));
    expect(page).toContain(`data-cost-total="${report.cost.totalUsd}"`);
  });

  it("without the invocations' spans, shows each stage's duration; without hours, says so", () => {
    const { report } = sampleReport();
    const page = renderReportHtml({ ...report, hours: [] });
    expect(page).toContain('No hour reached MySQL in this run.');
    expect(page).not.toContain('data-chart="timeline"');
    expect(page).toContain('<tr><td>transform</td><td>1.2 s</td><td>10</td>');
  });

  it('writes bytes in binary units', () => {
    expect([0, 1023, 1024, 1536, 5 * 1024 ** 2, 3.2 * 1024 ** 4].map(formatBytes)).toEqual([
      '0 B',
      '1,023 B',
      '1.0 KiB',
      '1.5 KiB',
      '5.0 MiB',
      '3.2 TiB',
    ]);
  });
});
