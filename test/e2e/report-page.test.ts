import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { writeSampleDirectory } from '#local/sample/index';
import { renderReportHtml } from '#shared/core/report-html';
import type { RunReport } from '#shared/core/run-report';
import { sampleReport } from '../support/run-report';

/**
 * The run report's page in a real browser: Debian's chromium (`.ci/run` installs it) driven by
 * playwright-core, which downloads no browser of its own. The page of a real local run must
 * render without a console error or a request, with its charts and tables holding the run's
 * numbers; a screenshot is left in `.local/screenshots/` (git-ignored) for a person to look at.
 */
const ROOT = resolve(__dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, '.local', 'screenshots');
const execute = promisify(execFile);

/** What went wrong while the page was open: console errors, page errors, requests of any kind. */
interface Trouble {
  console: string[];
  requests: string[];
  dialogs: string[];
}

async function open(browser: Browser, file: string): Promise<{ page: Page; trouble: Trouble }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const trouble: Trouble = { console: [], requests: [], dialogs: [] };
  const url = pathToFileURL(file).href;
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') trouble.console.push(message.text());
  });
  page.on('pageerror', (error) => trouble.console.push(error.message));
  page.on('request', (request) => {
    if (request.url() !== url) trouble.requests.push(request.url());
  });
  page.on('requestfailed', (request) => trouble.requests.push(`failed: ${request.url()}`));
  page.on('dialog', (dialog) => {
    trouble.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.ok()).toBe(true);
  return { page, trouble };
}

describe('the run report page in chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'etl-report-page-'));
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run installs it)`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await execute(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'local', 'cli', 'down.ts'), '--dir', work],
      {
        cwd: ROOT,
      },
    ).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  });

  it("renders a local run's page (npm run local --report FILE.html) with its numbers, no console error and no request", async () => {
    const source = join(work, 'source');
    // Six hours with every planted problem: bad rows and a truncated gzip file quarantined.
    writeSampleDirectory(source, { seed: 7, day: '2024-07-13', hours: 6, filesPerHour: 2, rowsPerFile: 40 });
    const pageFile = join(work, 'report.html');
    const jsonFile = join(work, 'report.json');
    const { stdout } = await execute(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'local', 'cli', 'run.ts'),
        '--dir',
        join(work, 'data'),
        '--source',
        source,
        '--from',
        '2024-07-13T00',
        '--to',
        '2024-07-13T06',
        '--workers',
        '1',
        '--report',
        pageFile,
        '--report',
        jsonFile,
      ],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toContain('status           SUCCEEDED');
    const report = JSON.parse(readFileSync(jsonFile, 'utf8')) as RunReport;
    // The copy under --dir is the same page.
    const kept = join(work, 'data', 'reports', `${report.runId}.html`);
    expect(readFileSync(kept, 'utf8')).toBe(readFileSync(pageFile, 'utf8'));
    expect(report.quarantinedFiles.length).toBeGreaterThan(0);
    expect(report.rows.quarantined).toBeGreaterThan(0);

    const { page, trouble } = await open(browser, pageFile);
    await page.screenshot({ path: join(SCREENSHOTS, 'report-page-local-run.png'), fullPage: true });
    expect(trouble).toEqual({ console: [], requests: [], dialogs: [] });

    expect(await page.locator('[data-status]').textContent()).toBe(report.status);

    // One drawn bar per hour MySQL holds, with that hour's requests and bytes.
    const bars = page.locator('svg[data-chart="hours"] rect[data-hour]');
    const drawn = await bars.evaluateAll((rects) =>
      rects.map((rect) => ({
        hour: rect.getAttribute('data-hour'),
        requests: Number(rect.getAttribute('data-requests')),
        bytes: Number(rect.getAttribute('data-bytes')),
        width: rect.getBoundingClientRect().width,
      })),
    );
    expect(drawn.map(({ hour, requests, bytes }) => ({ hour, requests, bytes }))).toEqual(report.hours);
    for (const bar of drawn) expect(bar.width).toBeGreaterThan(1);
    const chart = await page.locator('svg[data-chart="hours"]').boundingBox();
    expect(chart?.width).toBeGreaterThan(600);
    expect(chart?.height).toBeGreaterThan(150);

    // The timeline: the run, its batch and hour-group children, and the states that ran.
    const labels = await page
      .locator('svg[data-chart="timeline"] [data-timeline-row]')
      .evaluateAll((rows) =>
        rows.map((row) => `${row.getAttribute('data-timeline-row')} ${row.getAttribute('data-label')}`),
      );
    expect(labels).toEqual(
      expect.arrayContaining([
        'execution run',
        'execution batch 0001',
        'execution hours 2024-07-13T00–05',
        'state Ingest',
        'state TransformFile',
        'state StartQuery',
        'state CheckQuery',
        'state StageRows',
        'state WriteWarehouse',
      ]),
    );

    // Files and rows per stage, with the run's figures.
    const reconciliation = (await page.locator('table[data-table="reconciliation"]').textContent()) ?? '';
    expect(reconciliation).toContain(`${report.rows.read.toLocaleString('en-US')} read`);
    expect(reconciliation).toContain(`${report.rows.accepted.toLocaleString('en-US')} accepted`);
    expect(reconciliation).toContain(`${report.files.quarantined} quarantined whole`);
    expect(reconciliation).toContain(
      `MATCHED: MySQL against the aggregate, ${report.reconciliation.hours} hours`,
    );

    // The quarantine, by reason.
    const reasons = await page
      .locator('table[data-table="quarantine-reasons"] td.reason')
      .evaluateAll((cells) => cells.map((cell) => cell.textContent));
    expect(reasons.sort()).toEqual([...new Set(report.quarantinedFiles.map((file) => file.reason))].sort());

    // The cost by service, the JSON's figures.
    const services = await page
      .locator('table[data-table="cost"] tr[data-service]')
      .evaluateAll((rows) =>
        rows.map((row) => [row.getAttribute('data-service'), Number(row.getAttribute('data-usd'))]),
      );
    expect(services).toEqual([
      ['Athena', report.cost.athena.usd],
      ['Lambda', report.cost.lambda.usd],
      ['Step Functions', report.cost.stepFunctions.usd],
      ['S3', report.cost.s3.usd],
      ['DynamoDB', report.cost.dynamodb.usd],
    ]);
    expect(statSync(join(SCREENSHOTS, 'report-page-local-run.png')).size).toBeGreaterThan(10_000);
    await page.close();
  }, 300_000);

  it('shows a script in a file name, a reason or an error as text: nothing runs, nothing loads', async () => {
    const injected =
      '<script>alert("reason")</script><img src="https://example.invalid/x.png" onerror="alert(1)">';
    const { report, timings } = sampleReport({
      status: 'FAILED',
      quarantinedFiles: [{ key: `raw/${injected}.gz`, reason: `bad header ${injected}` }],
    });
    report.error = { error: 'IngestError', cause: `cause ${injected}` };
    const file = join(work, 'injected.html');
    writeFileSync(file, renderReportHtml(report, { timings, hoursPerExecution: 16 }));

    const { page, trouble } = await open(browser, file);
    await page.screenshot({ path: join(SCREENSHOTS, 'report-page-injected.png'), fullPage: true });
    expect(trouble).toEqual({ console: [], requests: [], dialogs: [] });
    expect(await page.locator('script, img, [onerror]').count()).toBe(0);
    expect(await page.locator('td.reason').first().textContent()).toBe(`bad header ${injected}`);
    expect(await page.locator('[data-section="error"] pre').textContent()).toBe(`cause ${injected}`);
    await page.close();
  }, 60_000);
});
