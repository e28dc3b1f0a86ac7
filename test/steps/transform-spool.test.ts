import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  makeSpoolFolder,
  removeStaleSpools,
  SpillFile,
  type SpillRange,
  SpoolBudget,
  SpoolFullError,
} from '#shared/steps/transform-spool';

/** A piece's bytes: `length` bytes that name the piece at every position. */
function pieceBytes(id: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let at = 0; at < length; at++) bytes[at] = (id * 31 + at) & 0xff;
  return bytes;
}

/** The piece's bytes cut into buffers of varied sizes (as a builder's sections are). */
function asSections(bytes: Buffer, cuts: number[]): Buffer[] {
  const sections: Buffer[] = [];
  let at = 0;
  for (const cut of cuts) {
    sections.push(bytes.subarray(at, Math.min(bytes.length, at + cut)));
    at = Math.min(bytes.length, at + cut);
  }
  sections.push(Buffer.alloc(0), bytes.subarray(at));
  return sections;
}

describe('SpillFile: spilled pieces, their room reused once read', () => {
  const folder = mkdtempSync(join(tmpdir(), 'etl-spill-'));
  let file: SpillFile;
  let budget: SpoolBudget;
  let path: string;
  let made = 0;

  beforeEach(() => {
    path = join(folder, `rows-${made++}.spill`);
    budget = new SpoolBudget(1 << 30);
    file = new SpillFile(path, budget);
  });
  afterEach(() => file.close());
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('reads back what was written, written from many buffers', () => {
    const a = pieceBytes(1, 10_000);
    const b = pieceBytes(2, 3);
    const ra = file.write(asSections(a, [1, 7, 4096, 0, 333]));
    const rb = file.write([b]);
    expect(file.read(rb)).toEqual(b);
    expect(file.read(ra)).toEqual(a);
    expect(file.bytes).toBe(10_003);
    expect(budget.used).toBe(10_003);
  });

  it('writes a later piece into the room of a released one, and grows only by what does not fit', () => {
    const first = file.write([pieceBytes(1, 4_000)]);
    const kept = file.write([pieceBytes(2, 1_000)]);
    file.release(first);
    const larger = pieceBytes(3, 6_000);
    const range = file.write(asSections(larger, [100, 3_950]));
    // 4,000 bytes in the freed room, the other 2,000 at the end of the file.
    expect(range.segments).toEqual([
      { offset: 0, length: 4_000 },
      { offset: 5_000, length: 2_000 },
    ]);
    expect(file.bytes).toBe(7_000);
    expect(budget.used).toBe(7_000);
    expect(statSync(path).size).toBe(7_000);
    expect(file.read(range)).toEqual(larger);
    expect(file.read(kept)).toEqual(pieceBytes(2, 1_000));
  });

  it('joins adjacent free room, so a piece as large as several released ones takes one run', () => {
    const pieces = [1, 2, 3, 4].map((id) => file.write([pieceBytes(id, 1_000)]));
    // Released out of order: 2, then 4, then 3 (joins both), then 1 (joins the run).
    for (const index of [1, 3, 2, 0]) file.release(pieces[index]!);
    const whole = pieceBytes(9, 4_000);
    const range = file.write([whole]);
    expect(range.segments).toEqual([{ offset: 0, length: 4_000 }]);
    expect(file.bytes).toBe(4_000);
    expect(file.read(range)).toEqual(whole);
  });

  it('keeps every live piece intact through many writes and releases in random order', () => {
    let seed = 12_345;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    const live = new Map<number, { range: SpillRange; bytes: Buffer }>();
    let liveBytes = 0;
    let peakLive = 0;
    for (let id = 1; id <= 400; id++) {
      const bytes = pieceBytes(id, 1 + random(20_000));
      live.set(id, { range: file.write(asSections(bytes, [random(5_000), random(5_000)])), bytes });
      liveBytes += bytes.length;
      peakLive = Math.max(peakLive, liveBytes);
      // Release about as many as are written: the live set wanders, as hours' pieces do.
      while (live.size > 0 && random(3) > 0) {
        const ids = [...live.keys()];
        const victim = ids[random(ids.length)]!;
        const piece = live.get(victim)!;
        expect(file.read(piece.range).equals(piece.bytes)).toBe(true);
        file.release(piece.range);
        live.delete(victim);
        liveBytes -= piece.bytes.length;
      }
    }
    for (const piece of live.values()) expect(file.read(piece.range).equals(piece.bytes)).toBe(true);
    // No room is lost: the file never grows past the most that was live at once.
    expect(file.bytes).toBe(peakLive);
  });

  it('frees a piece once, however often it is released', () => {
    const piece = file.write([pieceBytes(1, 1_000)]);
    file.release(piece);
    file.release(piece);
    file.write([pieceBytes(2, 1_500)]);
    expect(file.bytes).toBe(1_500);
    const other = file.write([pieceBytes(3, 10)]);
    expect(other.segments).toEqual([{ offset: 1_500, length: 10 }]);
  });

  it('takes from the budget only as the file grows, and fails past it', () => {
    budget = new SpoolBudget(5_000);
    file = new SpillFile(join(folder, 'small.spill'), budget);
    for (let round = 0; round < 10; round++) file.release(file.write([pieceBytes(round, 4_000)]));
    expect(budget.used).toBe(4_000);
    const held = file.write([pieceBytes(1, 4_000)]);
    expect(() => file.write([pieceBytes(2, 2_000)])).toThrow(SpoolFullError);
    expect(file.read(held)).toEqual(pieceBytes(1, 4_000));
  });
});

describe('spool folders of transforms killed halfway', () => {
  /** A pid no process has any more: a child that has already exited. */
  const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

  it('removes those of processes gone and of an earlier process with this pid; keeps those that may be in use', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'etl-stale-'));
    const running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      const folder = (name: string, bytes = 0) => {
        const path = join(directory, name);
        mkdirSync(path);
        if (bytes > 0) writeFileSync(join(path, 'rows.spill'), Buffer.alloc(bytes));
        return path;
      };
      const own = makeSpoolFolder(directory);
      writeFileSync(join(own, 'rows.spill'), Buffer.alloc(100));
      const mark = /^cf-etl-spool-\d+-([0-9a-z]+)-/.exec(basename(own))![1]!;
      const otherMark = mark === '00000000' ? '11111111' : '00000000';
      const killed = folder(`cf-etl-spool-${deadPid()}-${otherMark}-a1b2c3`, 3_000);
      // This pid, another mark: a runtime restarted after a timeout (Lambda keeps /tmp).
      const restarted = folder(`cf-etl-spool-${process.pid}-${otherMark}-d4e5f6`, 2_000);
      const alive = folder(`cf-etl-spool-${running.pid}-${otherMark}-g7h8i9`, 1_000);
      const legacy = folder('cf-etl-spool-AbC123');
      const unrelated = folder('something-else');

      const stale = removeStaleSpools(directory);
      expect(stale.folders.sort()).toEqual([killed, restarted].sort());
      expect(stale.bytes).toBe(5_000);
      for (const path of [killed, restarted]) expect(existsSync(path)).toBe(false);
      for (const path of [own, alive, legacy, unrelated]) expect(existsSync(path)).toBe(true);
      expect(readdirSync(own)).toEqual(['rows.spill']);
      expect(removeStaleSpools(directory)).toEqual({ folders: [], bytes: 0 });
    } finally {
      running.kill();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('keeps the folders of another copy of the module in this process (the local stack loads each function apart)', () => {
    const directory = mkdtempSync(join(tmpdir(), 'etl-stale-'));
    try {
      let copy: typeof import('#shared/steps/transform-spool') | undefined;
      jest.isolateModules(() => {
        copy = require('#shared/steps/transform-spool');
      });
      expect(copy!.makeSpoolFolder).not.toBe(makeSpoolFolder);
      const theirs = copy!.makeSpoolFolder(directory);
      const ours = makeSpoolFolder(directory);
      expect(removeStaleSpools(directory).folders).toEqual([]);
      expect(copy!.removeStaleSpools(directory).folders).toEqual([]);
      for (const path of [theirs, ours]) expect(existsSync(path)).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("skips a folder it may not remove (another user's) and goes on with the rest", () => {
    const directory = mkdtempSync(join(tmpdir(), 'etl-stale-'));
    const locked = join(directory, `cf-etl-spool-${deadPid()}-00000000-lockd1`);
    const free = join(directory, `cf-etl-spool-${deadPid()}-00000000-free01`);
    mkdirSync(locked);
    mkdirSync(free);
    // Root may remove anything here: the refusal is simulated, for this one folder (on the module
    // object itself, which the code under test calls through).
    const fs: typeof import('node:fs') = require('node:fs');
    const rm = fs.rmSync;
    const spy = jest.spyOn(fs, 'rmSync').mockImplementation((path, options) => {
      if (path === locked)
        throw Object.assign(new Error(`EACCES: permission denied, rmdir '${path}'`), { code: 'EACCES' });
      rm(path, options);
    });
    try {
      expect(removeStaleSpools(directory).folders).toEqual([free]);
      expect(existsSync(locked)).toBe(true);
      expect(existsSync(free)).toBe(false);
    } finally {
      spy.mockRestore();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('finds nothing in a folder that does not exist', () => {
    expect(removeStaleSpools(join(tmpdir(), 'etl-no-such-folder', 'x'))).toEqual({ folders: [], bytes: 0 });
  });
});
