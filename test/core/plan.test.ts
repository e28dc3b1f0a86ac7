import { planBatches } from '#shared/core/plan';

const file = (key: string, size: number) => ({ key, size });

describe('planBatches (first-fit decreasing onto balanced bins)', () => {
  it('returns no batch for no file', () => {
    expect(planBatches([], { maxFiles: 10, maxBytes: 100 })).toEqual([]);
  });

  it('never exceeds the file or byte bound, and places every file exactly once', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const files = Array.from({ length: 1_000 }, (_, index) =>
      file(`f${index}`, Math.floor(random() * 90) + 1),
    );
    const batches = planBatches(files, { maxFiles: 37, maxBytes: 1_000 });
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(37);
      expect(batch.reduce((sum, item) => sum + item.size, 0)).toBeLessThanOrEqual(1_000);
    }
    const placed = batches
      .flat()
      .map((item) => item.key)
      .sort();
    expect(placed).toEqual(files.map((item) => item.key).sort());
  });

  it('balances bytes across batches (greedy: within 4/3 of the even share)', () => {
    const files = [file('a', 90), file('b', 80), file('c', 50), file('d', 40), file('e', 30), file('f', 10)];
    const batches = planBatches(files, { maxFiles: 3, maxBytes: 200 });
    const loads = batches.map((batch) => batch.reduce((sum, item) => sum + item.size, 0));
    expect(batches).toHaveLength(2);
    const evenShare = loads.reduce((sum, load) => sum + load, 0) / batches.length;
    expect(Math.max(...loads)).toBeLessThanOrEqual((evenShare * 4) / 3);
    expect(loads).toEqual([160, 140]);
  });

  it('gives a file larger than the byte bound a batch of its own', () => {
    const batches = planBatches([file('huge', 5_000), file('small', 10)], { maxFiles: 10, maxBytes: 1_000 });
    expect(batches.find((batch) => batch.some((item) => item.key === 'huge'))).toHaveLength(1);
  });

  it("keeps every batch's file list under the state payload bound when keys are long", () => {
    const longKey = (index: number) => `logs/${'deep/'.repeat(150)}E1.2024-07-13-00.${index}.gz`;
    const files = Array.from({ length: 1_000 }, (_, index) => file(longKey(index), 10));
    const batches = planBatches(files, { maxFiles: 1_000, maxBytes: 1e12 });
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(JSON.stringify(batch).length).toBeLessThanOrEqual(200_000);
    expect(batches.flat()).toHaveLength(1_000);
  });

  it('plans the same batches on a re-run whatever the input order', () => {
    const files = [file('x', 5), file('y', 5), file('z', 5), file('w', 5)];
    const first = planBatches(files, { maxFiles: 2, maxBytes: 100 });
    const second = planBatches([...files].reverse(), { maxFiles: 2, maxBytes: 100 });
    expect(second).toEqual(first);
  });
});
