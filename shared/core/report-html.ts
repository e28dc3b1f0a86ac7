import { Html, html } from './html';
import type { Timing } from './run-files';
import { HISTORY_EVENT_CAP } from './run-model';
import type { RunReport } from './run-report';
import { timelineRows } from './run-timeline';
import { addHours } from './window';

/**
 * The run report as a page a person reads (`reports/<runId>.html`): requests and bytes per hour,
 * a timeline of the executions and states, files and rows per stage, the quarantine and the cost
 * by service. A pure function of the report (and of the invocations' spans the report's `stages`
 * come from, for the timeline); self-contained: inline CSS and SVG, no script, and a
 * Content-Security-Policy that lets the page load nothing, so it opens offline and a value from
 * the data can never run. Every value is escaped (`html.ts`).
 */

export interface ReportHtmlOptions {
  /**
   * One span per invocation of the run (the handlers' EMF lines locally, the steps' outputs in
   * AWS): where each execution and state sits in time. Without them the timeline shows each
   * stage's duration only (the report holds durations, not start times).
   */
  timings?: readonly Timing[];
  /** Hours per hour-group execution (PlanHours' cut), to draw the hour-group executions. */
  hoursPerExecution?: number;
}

/** Hours a chart shows one by one; a longer run is drawn per day. */
const HOURLY_CHART_MAX_HOURS = 168;
/** Bars a chart fills gaps up to (hours or days without rows drawn as zero). */
const CHART_MAX_FILLED_BARS = 400;
/** Quarantined files listed one by one (the JSON report lists them all). */
const QUARANTINE_MAX_LISTED = 200;

/** The report page: one HTML document, no external resource. */
export function renderReportHtml(report: RunReport, options: ReportHtmlOptions = {}): string {
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Run ${report.runId}: ${report.status}</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
${header(report)}
${hoursSection(report)}
${timelineSection(report, options)}
${reconciliationSection(report)}
${quarantineSection(report)}
${costSection(report)}
<footer>The figures are those of <code>reports/${report.runId}.json</code>; the timeline's spans are those of the invocations its stages come from.</footer>
</body>
</html>
`;
  return page.text;
}

// ── Formatting ──────────────────────────────────────────────────────────────────────────────

const integer = (value: number) => Math.round(value).toLocaleString('en-US');

/** Bytes in binary units (what S3 and Athena report), the exact count in the tooltip. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${integer(value)} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(6)}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const percent = (part: number, whole: number) =>
  whole === 0 ? '0 %' : `${((100 * part) / whole).toFixed(2)} %`;

/** A round axis maximum at or above `value`: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** A round axis maximum for bytes: 1, 2 or 5 times a power of ten of the binary unit that fits. */
function niceMaxBytes(bytes: number): number {
  let unit = 1;
  while (bytes / unit >= 1024 && unit < 1024 ** 5) unit *= 1024;
  return niceMax(bytes / unit) * unit;
}

/** SVG coordinates: two decimals are plenty and keep the page small. */
const at = (value: number) => Math.round(value * 100) / 100;

// ── Header ──────────────────────────────────────────────────────────────────────────────────

function header(report: RunReport): Html {
  const span = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  const measured =
    report.measuredHistoryEvents === undefined
      ? ''
      : `; ${integer(report.measuredHistoryEvents)} recorded by the local runner`;
  const hoursRequests = report.hours.reduce((sum, hour) => sum + hour.requests, 0);
  return html`<header>
<h1>Run report <span class="status ${report.status === 'SUCCEEDED' ? 'ok' : 'bad'}" data-status="${report.status}">${report.status}</span></h1>
<p class="run-id"><code>${report.runId}</code></p>
<dl class="facts">
<div><dt>Window</dt><dd>${report.window === null ? 'unknown (the run failed before ingest)' : `${report.window.from} to ${report.window.to} (UTC, end excluded)`}</dd></div>
<div><dt>Started</dt><dd>${report.startedAt}</dd></div>
<div><dt>Finished</dt><dd>${report.finishedAt} (${formatDuration(Number.isFinite(span) ? span : 0)})</dd></div>
<div><dt>Files</dt><dd>${integer(report.files.total)} (${integer(report.files.quarantined)} quarantined)</dd></div>
<div><dt>Rows read</dt><dd>${integer(report.rows.read)} (${integer(report.rows.accepted)} accepted)</dd></div>
<div><dt>Hours in MySQL</dt><dd>${integer(report.hours.length)} hours, ${integer(hoursRequests)} requests</dd></div>
<div><dt>Reconciliation</dt><dd data-reconciliation="${report.reconciliation.status}">${report.reconciliation.status}</dd></div>
<div><dt>Estimated cost</dt><dd>${formatUsd(report.cost.totalUsd)} (${report.cost.pricesRegion} list prices)</dd></div>
<div><dt>Largest history</dt><dd>${integer(report.maxHistoryEvents)} of ${integer(HISTORY_EVENT_CAP)} events per execution (${report.historyEventsSource}${measured})</dd></div>
</dl>
${
  report.error === undefined
    ? ''
    : html`<div class="error" data-section="error"><h2>Error</h2><p><strong>${report.error.error}</strong></p><pre>${report.error.cause}</pre>${
        report.error.execution === undefined
          ? ''
          : html`<p>Execution: <code>${report.error.execution}</code></p>`
      }</div>`
}
</header>`;
}

// ── Requests and bytes per hour ─────────────────────────────────────────────────────────────

interface Bar {
  label: string;
  requests: number;
  bytes: number;
}

/** The report's hours as bars: per hour up to a week, else per day; gaps drawn as zero when few. */
export function hourBars(hours: RunReport['hours']): { unit: 'hour' | 'day'; bars: Bar[] } {
  const sorted = [...hours].sort((a, b) => a.hour.localeCompare(b.hour));
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined) return { unit: 'hour', bars: [] };
  const spanHours = (Date.parse(`${last.hour}:00:00Z`) - Date.parse(`${first.hour}:00:00Z`)) / 3_600_000 + 1;
  const unit = spanHours <= HOURLY_CHART_MAX_HOURS ? 'hour' : 'day';
  const keyOf = (hour: string) => (unit === 'hour' ? hour : hour.slice(0, 10));
  const byKey = new Map<string, Bar>();
  for (const { hour, requests, bytes } of sorted) {
    const key = keyOf(hour);
    const bar = byKey.get(key) ?? { label: key, requests: 0, bytes: 0 };
    bar.requests += requests;
    bar.bytes += bytes;
    byKey.set(key, bar);
  }
  const step = unit === 'hour' ? 1 : 24;
  const spanBars = Math.ceil(spanHours / step) + (unit === 'day' ? 1 : 0);
  if (spanBars > CHART_MAX_FILLED_BARS || !Number.isFinite(spanBars))
    return { unit, bars: [...byKey.values()] };
  const bars: Bar[] = [];
  const lastKey = keyOf(last.hour);
  for (
    let hour = unit === 'hour' ? first.hour : `${first.hour.slice(0, 10)}T00`;
    ;
    hour = addHours(hour, step)
  ) {
    const key = keyOf(hour);
    bars.push(byKey.get(key) ?? { label: key, requests: 0, bytes: 0 });
    if (key >= lastKey) break;
  }
  return { unit, bars };
}

function hoursSection(report: RunReport): Html {
  const { unit, bars } = hourBars(report.hours);
  if (bars.length === 0) {
    return html`<section data-section="hours"><h2>Requests and bytes per hour</h2><p class="empty">No hour reached MySQL in this run.</p></section>`;
  }
  const width = 960;
  const height = 300;
  const left = 70;
  const right = 80;
  const top = 16;
  const bottom = 56;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const maxRequests = niceMax(Math.max(...bars.map((bar) => bar.requests)));
  const maxBytes = niceMaxBytes(Math.max(...bars.map((bar) => bar.bytes)));
  const band = plotWidth / bars.length;
  const barWidth = Math.max(0.5, band * 0.72);
  const x = (index: number) => left + band * index + band / 2;
  const yRequests = (value: number) => top + plotHeight - (plotHeight * value) / maxRequests;
  const yBytes = (value: number) => top + plotHeight - (plotHeight * value) / maxBytes;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  const label = (bar: Bar) =>
    unit === 'day'
      ? bar.label
      : bars.length <= 24
        ? `${bar.label.slice(11)}:00`
        : bar.label.replace('T', ' ');
  const chart = html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Requests and bytes per ${unit}" data-chart="hours">
${ticks.map(
  (
    tick,
  ) => html`<line class="grid" x1="${left}" x2="${width - right}" y1="${at(yRequests(maxRequests * tick))}" y2="${at(yRequests(maxRequests * tick))}"/>
<text class="axis" x="${left - 6}" y="${at(yRequests(maxRequests * tick)) + 4}" text-anchor="end">${integer(maxRequests * tick)}</text>
<text class="axis bytes" x="${width - right + 6}" y="${at(yBytes(maxBytes * tick)) + 4}">${formatBytes(maxBytes * tick)}</text>`,
)}
${bars.map(
  (bar, index) =>
    html`<rect class="requests" x="${at(x(index) - barWidth / 2)}" y="${at(yRequests(bar.requests))}" width="${at(barWidth)}" height="${at(top + plotHeight - yRequests(bar.requests))}" data-${unit}="${bar.label}" data-requests="${bar.requests}" data-bytes="${bar.bytes}"><title>${bar.label}: ${integer(bar.requests)} requests, ${formatBytes(bar.bytes)} (${integer(bar.bytes)} bytes)</title></rect>`,
)}
<polyline class="bytes" points="${bars.map((bar, index) => `${at(x(index))},${at(yBytes(bar.bytes))}`).join(' ')}"/>
${bars.length <= 200 ? bars.map((bar, index) => html`<circle class="bytes" cx="${at(x(index))}" cy="${at(yBytes(bar.bytes))}" r="3"><title>${bar.label}: ${formatBytes(bar.bytes)}</title></circle>`) : ''}
${bars.map((bar, index) =>
  index % labelEvery === 0
    ? html`<text class="axis" x="${at(x(index))}" y="${top + plotHeight + 16}" text-anchor="middle">${label(bar)}</text>`
    : '',
)}
<text class="axis title" x="${left}" y="${height - 8}">requests per ${unit} (bars, left)</text>
<text class="axis title bytes" x="${width - right}" y="${height - 8}" text-anchor="end">bytes sent per ${unit} (line, right)</text>
</svg>`;
  const totalRequests = bars.reduce((sum, bar) => sum + bar.requests, 0);
  const totalBytes = bars.reduce((sum, bar) => sum + bar.bytes, 0);
  return html`<section data-section="hours">
<h2>Requests and bytes per ${unit}</h2>
<p>What MySQL holds for the run's hours (every file of those hours): ${integer(report.hours.length)} hours, ${integer(totalRequests)} requests, ${formatBytes(totalBytes)}.${bars.length > report.hours.length && unit === 'hour' ? ' Hours without rows are drawn as zero.' : ''}</p>
${chart}
<details><summary>The figures per ${unit}</summary>
<table class="numbers" data-table="hours"><thead><tr><th>${unit}</th><th>requests</th><th>bytes</th></tr></thead><tbody>
${bars.map((bar) => html`<tr><td>${bar.label}</td><td>${integer(bar.requests)}</td><td title="${integer(bar.bytes)} bytes">${formatBytes(bar.bytes)}</td></tr>`)}
</tbody></table></details>
</section>`;
}

// ── Timeline ────────────────────────────────────────────────────────────────────────────────

function timelineSection(report: RunReport, options: ReportHtmlOptions): Html {
  const stages = html`<table class="numbers" data-table="stages"><thead><tr><th>stage</th><th>span</th><th>invocations</th></tr></thead><tbody>
${report.stages.map((stage) => html`<tr><td>${stage.name}</td><td>${formatDuration(stage.durationMs)}</td><td>${integer(stage.invocations)}</td></tr>`)}
</tbody></table>`;
  const timings = options.timings ?? [];
  if (timings.length === 0) {
    return html`<section data-section="timeline"><h2>Stages</h2><p>Each stage's span, first start to last end.</p>${stages}</section>`;
  }
  const rows = timelineRows(report, timings, options.hoursPerExecution);
  const start = Math.min(...rows.map((row) => row.start));
  const span = Math.max(1, ...rows.map((row) => row.end - start));
  const width = 960;
  const labelWidth = 260;
  const top = 24;
  const height = top + rows.length * 20 + 10;
  const x = (time: number) => at(labelWidth + ((width - labelWidth - 20) * (time - start)) / span);
  const chart = html`<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="Timeline" data-chart="timeline">
${[0, 0.25, 0.5, 0.75, 1].map(
  (
    tick,
  ) => html`<line class="grid" x1="${x(start + tick * span)}" x2="${x(start + tick * span)}" y1="${top - 6}" y2="${height - 6}"/>
<text class="axis" x="${x(start + tick * span)}" y="${top - 10}" text-anchor="${tick === 0 ? 'start' : tick === 1 ? 'end' : 'middle'}">+${formatDuration(tick * span)}</text>`,
)}
${rows.map((row, index) => {
  const y = top + index * 20;
  return html`<g data-timeline-row="${row.kind}" data-label="${row.label}"><text class="label ${row.kind}" x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${row.label}</text><rect class="${row.kind}" x="${x(row.start)}" y="${y + 3}" width="${Math.max(1.5, x(row.end) - x(row.start))}" height="14"><title>${row.label} (${row.detail}): +${formatDuration(row.start - start)} to +${formatDuration(row.end - start)}</title></rect></g>
`;
})}
</svg>`;
  const source =
    report.historyEventsSource === "counted from the handlers' invocations"
      ? "each invocation's own span"
      : "the write times of the steps' outputs (a span includes its wait)";
  return html`<section data-section="timeline">
<h2>Timeline: executions and states</h2>
<p>From ${new Date(start).toISOString()}, from ${source}: executions dark, the states that ran each function light.</p>
${chart}${stages}
</section>`;
}

// ── Files and rows per stage ────────────────────────────────────────────────────────────────

function check(ok: boolean, text: string): Html {
  return html`<span class="${ok ? 'ok' : 'bad'}">${ok ? '✓' : '✗'} ${text}</span>`;
}

function reconciliationSection(report: RunReport): Html {
  const { files, rows, reconciliation } = report;
  const mysqlRequests = report.hours.reduce((sum, hour) => sum + hour.requests, 0);
  const mysqlBytes = report.hours.reduce((sum, hour) => sum + hour.bytes, 0);
  const rowsAddUp = rows.read === rows.accepted + rows.quarantined + rows.inQuarantinedFiles;
  const filesAddUp = files.total === files.transformed + files.quarantined;
  return html`<section data-section="reconciliation">
<h2>Files and rows per stage</h2>
<table data-table="reconciliation"><thead><tr><th>stage</th><th>files</th><th>rows</th><th>check</th></tr></thead><tbody>
<tr><td>Ingest: source to <code>raw/</code></td><td data-files="ingested">${integer(files.total)}</td><td>counted by the transform</td><td></td></tr>
<tr><td>Transform: raw to curated Parquet</td><td data-files="transformed">${integer(files.transformed)} transformed, ${integer(files.quarantined)} quarantined whole</td>
<td data-rows="read">${integer(rows.read)} read: ${integer(rows.accepted)} accepted, ${integer(rows.quarantined)} quarantined, ${integer(rows.inQuarantinedFiles)} in quarantined files</td>
<td>${check(filesAddUp, 'files: transformed + quarantined = ingested')}<br>${check(rowsAddUp, 'rows: accepted + quarantined + in quarantined files = read')}</td></tr>
<tr><td>Aggregate (Athena) and stage (DynamoDB)</td><td>${integer(report.athena.queries)} hour queries</td><td>${formatBytes(report.athena.bytesScanned)} scanned</td><td></td></tr>
<tr><td>Write: MySQL</td><td>${integer(report.hours.length)} hours</td><td data-rows="warehouse">${integer(mysqlRequests)} requests, ${formatBytes(mysqlBytes)}</td>
<td>${
    reconciliation.status === 'NOT_CHECKED'
      ? html`<span class="warn">not checked (nothing aggregated, or MySQL not readable)</span>`
      : check(
          reconciliation.status === 'MATCHED',
          `${reconciliation.status}: MySQL against the aggregate, ${integer(reconciliation.hours)} hours`,
        )
  }</td></tr>
</tbody></table>
<p>Accepted rows are this run's files; MySQL's hours hold every file of those hours (equal when the run's files are their only ones).</p>
${
  reconciliation.differences.length === 0
    ? ''
    : html`<h3>Hours where MySQL differs from the aggregate</h3>
<table class="numbers" data-table="differences"><thead><tr><th>hour</th><th>requests in MySQL</th><th>requests aggregated</th><th>bytes in MySQL</th><th>bytes aggregated</th></tr></thead><tbody>
${reconciliation.differences.map(
  (difference) =>
    html`<tr><td>${difference.hour}</td><td>${integer(difference.warehouse.requests)}</td><td>${integer(difference.aggregate.requests)}</td><td>${integer(difference.warehouse.bytes)}</td><td>${integer(difference.aggregate.bytes)}</td></tr>`,
)}
</tbody></table>`
}
</section>`;
}

// ── Quarantine ──────────────────────────────────────────────────────────────────────────────

function quarantineSection(report: RunReport): Html {
  const { rows, files, quarantinedFiles } = report;
  const byReason = new Map<string, number>();
  for (const file of quarantinedFiles) byReason.set(file.reason, (byReason.get(file.reason) ?? 0) + 1);
  const reasons = [...byReason.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const listed = quarantinedFiles.slice(0, QUARANTINE_MAX_LISTED);
  return html`<section data-section="quarantine">
<h2>Quarantine</h2>
<p><strong data-quarantined-rows="${rows.quarantined}">${integer(rows.quarantined)}</strong> bad rows of ${integer(rows.read)} read (${percent(rows.quarantined, rows.read)}), each kept with its file, line number, reason and text in <code>quarantine/rows/&lt;fileId&gt;.jsonl</code>.
<strong data-quarantined-files="${files.quarantined}">${integer(files.quarantined)}</strong> files quarantined whole (${integer(rows.inQuarantinedFiles)} rows, none published), each described in <code>quarantine/files/&lt;fileId&gt;.json</code>.</p>
${
  reasons.length === 0
    ? html`<p class="empty">No file was quarantined whole.</p>`
    : html`<table data-table="quarantine-reasons"><thead><tr><th>reason</th><th>files</th></tr></thead><tbody>
${reasons.map(([reason, files]) => html`<tr><td class="reason">${reason}</td><td>${integer(files)}</td></tr>`)}
</tbody></table>
<details${quarantinedFiles.length <= 20 ? new Html(' open') : ''}><summary>The quarantined files</summary>
<table data-table="quarantined-files"><thead><tr><th>file</th><th>reason</th></tr></thead><tbody>
${listed.map((file) => html`<tr><td><code>${file.key}</code></td><td class="reason">${file.reason}</td></tr>`)}
</tbody></table>${
        quarantinedFiles.length > listed.length
          ? html`<p>and ${integer(quarantinedFiles.length - listed.length)} more in the JSON report.</p>`
          : ''
      }</details>`
}
</section>`;
}

// ── Cost ────────────────────────────────────────────────────────────────────────────────────

function costSection(report: RunReport): Html {
  const { cost } = report;
  const services = [
    {
      name: 'Athena',
      usd: cost.athena.usd,
      usage: `${integer(cost.athena.queries)} queries, ${formatBytes(cost.athena.bytesScanned)} scanned, ${formatBytes(cost.athena.billedBytes)} billed`,
      source: 'per query: bytes scanned rounded up to a MB, at least 10 MB',
    },
    {
      name: 'Lambda',
      usd: cost.lambda.usd,
      usage: `${integer(cost.lambda.requests)} requests, ${cost.lambda.gbSeconds.toLocaleString('en-US')} GB-s`,
      source: cost.sources.lambda,
    },
    {
      name: 'Step Functions',
      usd: cost.stepFunctions.usd,
      usage: `${integer(cost.stepFunctions.stateTransitions)} state transitions`,
      source: cost.sources.stepFunctions,
    },
    {
      name: 'S3',
      usd: cost.s3.usd,
      usage: `${integer(cost.s3.putCopyListRequests)} PUT/COPY/LIST, ${integer(cost.s3.getRequests)} GET/HEAD requests`,
      source: cost.sources.s3,
    },
    {
      name: 'DynamoDB',
      usd: cost.dynamodb.usd,
      usage: `${integer(cost.dynamodb.writeUnits)} write units, ${integer(cost.dynamodb.readUnits)} read units`,
      source: cost.sources.dynamodb,
    },
  ];
  const largest = Math.max(...services.map((service) => service.usd), Number.MIN_VALUE);
  const functions = Object.entries(cost.lambda.functions).sort(([a], [b]) => a.localeCompare(b));
  return html`<section data-section="cost">
<h2>Cost by service</h2>
<p>Estimated at ${cost.pricesRegion} on-demand list prices, no free tier, ${cost.architecture} functions: <strong data-cost-total="${cost.totalUsd}">${formatUsd(cost.totalUsd)}</strong> for this run.</p>
<table data-table="cost"><thead><tr><th>service</th><th>cost</th><th></th><th>usage</th><th>counted from</th></tr></thead><tbody>
${services.map(
  (service) =>
    html`<tr data-service="${service.name}" data-usd="${service.usd}"><td>${service.name}</td><td class="number">${formatUsd(service.usd)}</td><td><svg class="meter" viewBox="0 0 120 10" aria-hidden="true"><rect class="cost" width="${at((120 * service.usd) / largest)}" height="10"/></svg></td><td>${service.usage}</td><td class="source">${service.source}</td></tr>`,
)}
<tr class="total"><td>Total</td><td class="number">${formatUsd(cost.totalUsd)}</td><td></td><td></td><td></td></tr>
</tbody></table>
${
  functions.length === 0
    ? ''
    : html`<details><summary>Lambda by function</summary>
<table class="numbers" data-table="lambda"><thead><tr><th>function</th><th>invocations</th><th>billed duration</th><th>memory</th><th>GB-s</th></tr></thead><tbody>
${functions.map(
  ([name, use]) =>
    html`<tr><td>${name}</td><td>${integer(use.invocations)}</td><td>${formatDuration(use.durationMs)}</td><td>${integer(use.memoryMb)} MB</td><td>${use.gbSeconds.toLocaleString('en-US')}</td></tr>`,
)}
</tbody></table></details>`
}
</section>`;
}

const STYLE = `
:root{--ink:#1d2430;--muted:#5b6472;--line:#d9dee5;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;--requests:#3b6fb6;--bytes:#d9822b;--exec:#44546a;--state:#8fb3de}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);margin:0 auto;max-width:1040px;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}h3{font-size:15px}
section,header{border:1px solid var(--line);border-radius:6px;padding:16px 18px;margin:0 0 18px;background:#fff}
.run-id{margin:0 0 10px;color:var(--muted)}
.status{font-size:13px;padding:2px 8px;border-radius:10px;color:#fff;vertical-align:middle}
.status.ok{background:var(--ok);color:#fff}.status.bad{background:var(--bad);color:#fff}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:6px 18px;margin:0}
.facts div{display:flex;gap:8px}.facts dt{color:var(--muted);min-width:100px;flex:none}.facts dd{margin:0}
.error{border-left:4px solid var(--bad);padding:4px 12px;margin-top:12px;background:#fdf1f1}
pre{white-space:pre-wrap;word-break:break-word;margin:4px 0}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}
table.numbers td+td,td.number{text-align:right;font-variant-numeric:tabular-nums}
.reason{word-break:break-word}.source{color:var(--muted);font-size:12px}
tr.total td{font-weight:600}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.empty{color:var(--muted)}
svg.chart{width:100%;height:auto;display:block}
svg.meter{width:120px;height:10px}
.grid{stroke:var(--line);stroke-width:1}
.axis{fill:var(--muted);font-size:11px}.axis.title{font-size:12px}.axis.bytes{fill:var(--bytes)}
rect.requests{fill:var(--requests)}
polyline.bytes{fill:none;stroke:var(--bytes);stroke-width:2}circle.bytes{fill:var(--bytes)}
rect.execution{fill:var(--exec)}rect.state{fill:var(--state)}rect.cost{fill:var(--requests)}
.label{font-size:12px;fill:var(--ink)}.label.state{fill:var(--muted)}
details{margin-top:8px}summary{cursor:pointer;color:var(--muted)}
footer{color:var(--muted);font-size:12px}
`;
