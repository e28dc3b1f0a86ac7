import { addRows, canonicalRowText, emptyChecksum } from '#shared/core/table-checksum';
import { declareTable, type TableRow } from '#shared/core/table-declaration';

const table = declareTable({
  name: 'things',
  key: ['id'],
  columns: [
    { name: 'id', type: 'int', min: 0 },
    { name: 'label', type: 'varchar', length: 20, nullable: true },
    { name: 'payload', type: 'blob', nullable: true },
  ],
});

const rows: TableRow[] = Array.from({ length: 50 }, (_, id) => ({
  id,
  label: id % 3 === 0 ? null : id % 5 === 0 ? '' : `label ${id}`,
  payload: id % 4 === 0 ? null : new Uint8Array([id, 0, 255]),
}));

describe('table checksum', () => {
  it('is the same whatever the order and however the rows are split', () => {
    const whole = addRows(table, emptyChecksum(), rows);
    const reversed = addRows(table, emptyChecksum(), [...rows].reverse());
    const pieces = addRows(table, addRows(table, emptyChecksum(), rows.slice(30)), rows.slice(0, 30));
    expect(reversed).toEqual(whole);
    expect(pieces).toEqual(whole);
    expect(whole.rows).toBe(50);
    expect(whole.checksum).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes with one value, tells NULL from the empty string, and counts a duplicated row', () => {
    const whole = addRows(table, emptyChecksum(), rows);
    const changed = rows.map((row) => (row.id === 7 ? { ...row, label: 'label 8' } : row));
    expect(addRows(table, emptyChecksum(), changed).checksum).not.toBe(whole.checksum);
    expect(canonicalRowText(table, { id: 1, label: null, payload: null })).not.toBe(
      canonicalRowText(table, { id: 1, label: '', payload: null }),
    );
    expect(addRows(table, emptyChecksum(), [...rows, rows[1]!]).rows).toBe(51);
  });
});
