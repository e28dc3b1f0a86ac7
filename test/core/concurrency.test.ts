import { mapWithLimit } from '#shared/core/concurrency';

describe('mapWithLimit', () => {
  it('keeps order, never exceeds the limit, and runs every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const results = await mapWithLimit([5, 1, 4, 2, 3, 0, 6], 3, async (item) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, item));
      seen.push(item);
      inFlight--;
      return item * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rejects with the first failure and starts nothing after it', async () => {
    const started: number[] = [];
    const attempt = mapWithLimit([0, 1, 2, 3, 4, 5], 2, async (item) => {
      started.push(item);
      if (item === 1) throw new Error('item 1 failed');
      await new Promise((resolve) => setTimeout(resolve, 5));
      return item;
    });
    await expect(attempt).rejects.toThrow('item 1 failed');
    expect(started.length).toBeLessThan(6);
  });

  it('lets the calls in flight finish before it rejects', async () => {
    const finished: number[] = [];
    const attempt = mapWithLimit([0, 1, 2], 3, async (item) => {
      if (item === 0) throw new Error('item 0 failed');
      await new Promise((resolve) => setTimeout(resolve, 10 * item));
      finished.push(item);
    });
    await expect(attempt).rejects.toThrow('item 0 failed');
    expect(finished).toEqual([1, 2]);
  });

  it('returns nothing for nothing', async () => {
    expect(await mapWithLimit([], 4, async () => 1)).toEqual([]);
  });
});
