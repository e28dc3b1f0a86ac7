import type { LineParser, LineResult } from '../dataset';
import type { TableDefinition } from '../table';
import { type FieldMap, NamedRecordBuilder } from './fields';

/**
 * Reads CloudFront standard logging v2 JSON output: one JSON object per line, keyed by field name
 * (`"cs(User-Agent)"`, `"x-edge-location"`, …; any spelling `FieldMap` knows). Values may be the
 * W3C texts (`"-"` for empty, URL-encoded strings, numbers as text) or JSON numbers and nulls; both
 * are stored by the same rules as W3C rows. A line that is not a JSON object, or whose value does
 * not fit its column, or that has no time, is quarantined with the reason; blank lines are skipped.
 */
export class JsonLinesParser implements LineParser {
  private readonly record: NamedRecordBuilder;

  constructor(
    table: TableDefinition,
    sourceFileId: string,
    private readonly fields: FieldMap,
  ) {
    this.record = new NamedRecordBuilder(table, sourceFileId);
  }

  parse(rawLine: string): LineResult {
    const line = rawLine.charCodeAt(0) === 0xfeff ? rawLine.slice(1) : rawLine;
    if (line.trim().length === 0) return { kind: 'skip' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { kind: 'reject', reason: `not valid JSON: ${message.slice(0, 120)}` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { kind: 'reject', reason: 'not a JSON object' };
    }
    this.record.start();
    for (const [name, value] of Object.entries(parsed)) {
      const slot = this.fields.slot(name);
      if (slot === undefined) continue; // a field the table does not keep
      const reason = this.record.put(slot, value, name);
      if (reason !== undefined) return { kind: 'reject', reason };
    }
    return this.record.finish();
  }
}
