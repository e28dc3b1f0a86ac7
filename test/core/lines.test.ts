import { lineBlocks, percentEncodeInvalidUtf8, textLines } from '#shared/core/lines';

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

/** The lines `lineBlocks` gives, as text, with `cut` lines marked. */
async function blockLines(bytes: Buffer, chunkSize: number, maxLineBytes?: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const block of lineBlocks(chunksOf(bytes, chunkSize), maxLineBytes)) {
    if (block.cut) {
      expect(block.bytes.includes(10)).toBe(false);
      lines.push(`CUT:${block.bytes.toString('utf8')}`);
      continue;
    }
    const text = block.bytes.toString('utf8');
    const parts = text.split('\n');
    if (text.endsWith('\n')) parts.pop();
    lines.push(...parts);
  }
  return lines;
}

async function stringLines(bytes: Buffer, chunkSize: number): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of textLines(chunksOf(bytes, chunkSize))) lines.push(line);
  return lines;
}

describe('lineBlocks (byte lines for the parser)', () => {
  const text = Buffer.concat([
    Buffer.from('#Version: 1.0\r\nnaïve café 日本語\n'),
    Buffer.from([0x61, 0xc3, 0x28, 0xff, 0x0a]), // invalid UTF-8 inside a line
    Buffer.from('\n\nlast line without newline é'),
  ]);

  it.each([1, 2, 3, 7, 64, 1024])(
    'gives the lines textLines gives, but invalid UTF-8 bytes as %%XX (lossless), in chunks of %i bytes',
    async (chunkSize) => {
      const lines = await blockLines(text, chunkSize);
      const strings = await stringLines(text, chunkSize);
      expect(strings[2]).toBe('a\uFFFD(\uFFFD');
      strings[2] = 'a%C3(%FF';
      expect(lines).toEqual(strings);
      expect(lines[0]).toBe('#Version: 1.0\r');
      expect(lines.at(-1)).toBe('last line without newline é');
    },
  );

  it('keeps bytes that differ only in invalid UTF-8 apart, and valid sequences of every length as they are', () => {
    const valid = Buffer.from('aé€😀z');
    expect(percentEncodeInvalidUtf8(valid).equals(valid)).toBe(true);
    const e9 = percentEncodeInvalidUtf8(Buffer.from([0x63, 0x61, 0x66, 0xe9])).toString();
    const e8 = percentEncodeInvalidUtf8(Buffer.from([0x63, 0x61, 0x66, 0xe8])).toString();
    expect([e9, e8]).toEqual(['caf%E9', 'caf%E8']);
    // Overlong forms, UTF-16 surrogates and a truncated sequence are not UTF-8 either.
    expect(percentEncodeInvalidUtf8(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf0, 0x9f])).toString()).toBe(
      '%C0%AF%ED%A0%80%F0%9F',
    );
  });

  it('cuts a line longer than the bound to its start, skips the rest, and goes on', async () => {
    const long = 'x'.repeat(100);
    const input = Buffer.from(`short\n${long}\nnext\n${'y'.repeat(30)}`);
    for (const chunkSize of [1, 5, 16, 1000]) {
      expect(await blockLines(input, chunkSize, 20)).toEqual([
        'short',
        `CUT:${'x'.repeat(20)}`,
        'next',
        `CUT:${'y'.repeat(20)}`,
      ]);
    }
  });

  it('keeps memory bounded on one endless line (no line end at all)', async () => {
    async function* endless(): AsyncGenerator<Buffer> {
      for (let chunk = 0; chunk < 200; chunk++) yield Buffer.alloc(64 * 1024, 0x41);
      yield Buffer.from('\nafter\n');
    }
    const seen: Array<{ cut: boolean; length: number }> = [];
    for await (const block of lineBlocks(endless(), 256 * 1024)) {
      seen.push({ cut: block.cut, length: block.bytes.length });
    }
    expect(seen).toEqual([
      { cut: true, length: 256 * 1024 },
      { cut: false, length: 6 },
    ]);
  });
});
