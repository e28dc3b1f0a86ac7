import { type LineBatch, LineBatches } from '#shared/steps/transform-lines';

const text = (value: string) => Buffer.from(value, 'utf8');

/** Adds a line of `hour`, parsing (here: reading back) whatever batch has to make room first. */
function add(batches: LineBatches, parsed: string[][], hour: number, line: string, lineNumber: number) {
  const bytes = text(`xx${line}yy`);
  for (;;) {
    const room = batches.room(hour, line.length);
    if (!room.full) {
      LineBatches.add(room.batch, bytes, 2, 2 + Buffer.byteLength(line), lineNumber);
      return;
    }
    parsed.push(read(room.batch));
    batches.release(room.batch);
  }
}

/** A batch's lines as `hour:lineNumber:text`. */
function read(batch: LineBatch): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let index = 0; index < batch.count; index++) {
    const end = batch.ends[index]!;
    lines.push(`${batch.hour}:${batch.lineNumbers[index]}:${batch.bytes.toString('utf8', start, end)}`);
    start = end;
  }
  return lines;
}

describe('LineBatches: lines of interleaved hours wait by hour', () => {
  it('keeps each hour its lines in order, with their line numbers, and gives every batch back at the end by hour', () => {
    const batches = new LineBatches({ lines: 100, bytes: 4096, batches: 4 });
    const parsed: string[][] = [];
    for (let line = 1; line <= 9; line++) add(batches, parsed, [7, 5, 6][line % 3]!, `row ${line}`, line);
    expect(parsed).toEqual([]);
    expect(batches.has(5) && batches.has(6) && batches.has(7)).toBe(true);
    expect(batches.takeAll().map(read)).toEqual([
      ['5:1:row 1', '5:4:row 4', '5:7:row 7'],
      ['6:2:row 2', '6:5:row 5', '6:8:row 8'],
      ['7:3:row 3', '7:6:row 6', '7:9:row 9'],
    ]);
    expect(batches.has(5)).toBe(false);
  });

  it('hands a full batch out (by lines or by bytes) before taking the line that does not fit', () => {
    const byLines = new LineBatches({ lines: 2, bytes: 4096, batches: 4 });
    const parsed: string[][] = [];
    for (let line = 1; line <= 5; line++) add(byLines, parsed, 1, `r${line}`, line);
    expect(parsed).toEqual([
      ['1:1:r1', '1:2:r2'],
      ['1:3:r3', '1:4:r4'],
    ]);
    expect(byLines.takeAll().map(read)).toEqual([['1:5:r5']]);

    const byBytes = new LineBatches({ lines: 100, bytes: 10, batches: 4 });
    const parsedBytes: string[][] = [];
    for (const [index, line] of ['aaaa', 'bbbb', 'cccc'].entries())
      add(byBytes, parsedBytes, 1, line, index + 1);
    expect(parsedBytes).toEqual([['1:1:aaaa', '1:2:bbbb']]);
  });

  it('with no batch free, hands out the fullest one, and re-uses its room for the new hour', () => {
    const batches = new LineBatches({ lines: 100, bytes: 4096, batches: 2 });
    const parsed: string[][] = [];
    add(batches, parsed, 1, 'one', 1);
    add(batches, parsed, 2, 'two', 2);
    add(batches, parsed, 2, 'two again', 3);
    add(batches, parsed, 3, 'three', 4);
    expect(parsed).toEqual([['2:2:two', '2:3:two again']]);
    expect(batches.takeAll().map(read)).toEqual([['1:1:one'], ['3:4:three']]);
  });

  it('takes one hour out on demand, and holds no line longer than a quarter of a batch', () => {
    const batches = new LineBatches({ lines: 100, bytes: 400, batches: 2 });
    const parsed: string[][] = [];
    add(batches, parsed, 9, 'nine', 1);
    expect(batches.takeHour(8)).toBeUndefined();
    expect(read(batches.takeHour(9)!)).toEqual(['9:1:nine']);
    expect(batches.has(9)).toBe(false);
    expect(batches.holds(100)).toBe(true);
    expect(batches.holds(101)).toBe(false);
  });
});
