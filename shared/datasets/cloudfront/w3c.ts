import type { LineParser, LineResult } from '../dataset';
import { epochMillisFromText, epochSecondsFromText, type FieldMap, legacyDateTime } from './fields';

/**
 * Delimiters a v2 W3C delivery may be configured with besides the tab (CloudWatch Logs'
 * `fieldDelimiter`; the legacy format and the v2 default tooling expect a tab).
 */
const OTHER_DELIMITERS = [' ', '|', ',', ';'] as const;

/** How data rows of the current `#Fields` block reach the legacy parser. */
type RowMode =
  /** Tab-separated rows the parser reads as they are (legacy files, after their first row). */
  | { kind: 'as-is' }
  /** Delimiter not yet seen: decided by the first row that splits into exactly the header's fields. */
  | { kind: 'undecided' }
  /** Split by another delimiter and/or completed with `date` and `time` from a v2 timestamp. */
  | { kind: 'rewrite'; delimiter: string };

/**
 * Reads W3C-format CloudFront logs, legacy and standard logging v2, through the legacy line parser
 * (`parser.ts`). Legacy files pass through untouched. For v2 files it normalises what v2 may do
 * differently before the parser sees a line:
 *
 * - `#Fields` names in another spelling (`cs-user-agent`, `CS(USER-AGENT)`) → legacy names;
 * - a field selection without `date`/`time` but with `timestamp(ms)` or `timestamp` → `date` and
 *   `time` appended to the header and to every row (UTC, millisecond precision);
 * - a field delimiter other than the tab (space, `|`, `,` or `;`), recognised from the first row
 *   that splits into exactly the header's field count (a row holding a tab is always tab-separated).
 */
export class W3cLogParser implements LineParser {
  private mode: RowMode = { kind: 'as-is' };
  private fieldCount = 0;
  /** The v2 timestamp field (its index, name and reader) `date` and `time` are made from, if needed. */
  private epoch: { field: number; name: string; read: (raw: string) => number | undefined } | undefined;
  private first = true;

  constructor(
    private readonly inner: LineParser,
    private readonly fields: FieldMap,
  ) {}

  parse(rawLine: string): LineResult {
    let line = rawLine;
    if (this.first) {
      this.first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1); // a byte-order mark before #Version
    }
    if (line.charCodeAt(0) === 35 /* # */) {
      return line.startsWith('#Fields:') ? this.header(line) : this.inner.parse(line);
    }
    if (this.mode.kind === 'as-is') return this.inner.parse(line);
    return this.row(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  private header(line: string): LineResult {
    const given = line
      .slice('#Fields:'.length)
      .trim()
      .split(/[\t ]+/)
      .filter(Boolean);
    const names = given.map((name) => this.fields.legacyName(name) ?? name);
    this.epoch = undefined;
    if (!names.includes('date') && !names.includes('time')) {
      const ms = given.findIndex((name) => this.fields.slot(name)?.kind === 'epoch-ms');
      const seconds = given.findIndex((name) => this.fields.slot(name)?.kind === 'epoch-seconds');
      if (ms >= 0) this.epoch = { field: ms, name: given[ms]!, read: epochMillisFromText };
      else if (seconds >= 0)
        this.epoch = { field: seconds, name: given[seconds]!, read: epochSecondsFromText };
    }
    if (this.epoch !== undefined) names.push('date', 'time');
    this.fieldCount = given.length;
    this.mode = { kind: 'undecided' };
    const unchanged = names.length === given.length && names.every((name, index) => name === given[index]);
    return this.inner.parse(unchanged ? line : `#Fields: ${names.join(' ')}`);
  }

  private row(line: string): LineResult {
    if (line.length === 0) return { kind: 'skip' };
    if (this.mode.kind === 'undecided') {
      const delimiter = this.delimiterOf(line);
      if (delimiter === undefined) {
        // No delimiter fits: the row is quarantined for its field count, as the parser words it.
        if (this.epoch === undefined) return this.inner.parse(line);
        return this.fieldCountReject(line.split('\t').length);
      }
      if (delimiter === '\t' && this.epoch === undefined) {
        this.mode = { kind: 'as-is' }; // a legacy-shaped block: every further row goes straight through
        return this.inner.parse(line);
      }
      this.mode = { kind: 'rewrite', delimiter };
    }
    const delimiter = this.mode.kind === 'rewrite' ? this.mode.delimiter : '\t';
    const values = line.split(delimiter);
    if (values.length === this.fieldCount + 1 && values[this.fieldCount] === '') values.pop();
    if (values.length !== this.fieldCount) return this.fieldCountReject(values.length);
    if (this.epoch !== undefined) {
      const raw = values[this.epoch.field] ?? '-';
      const ms = this.epoch.read(raw);
      if (ms === undefined) {
        return { kind: 'reject', reason: `unparseable ${this.epoch.name} '${raw.slice(0, 60)}'` };
      }
      const { date, time } = legacyDateTime(ms);
      values.push(date, time);
    }
    return this.inner.parse(values.join('\t'));
  }

  private fieldCountReject(count: number): LineResult {
    return { kind: 'reject', reason: `field count ${count} ≠ ${this.fieldCount} in #Fields` };
  }

  /** The delimiter this row splits by into exactly the header's fields, if any. */
  private delimiterOf(line: string): string | undefined {
    const fits = (delimiter: string) => {
      const count = line.split(delimiter).length;
      return count === this.fieldCount || (count === this.fieldCount + 1 && line.endsWith(delimiter));
    };
    if (line.includes('\t')) return fits('\t') ? '\t' : undefined;
    return OTHER_DELIMITERS.find(fits);
  }
}
