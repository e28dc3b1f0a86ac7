import { hourInFileName, rawKeyFor, selectWindowFiles, sourceFileId } from '#shared/core/ingest';
import { addHours, hourStart, lastCompleteWindow } from '#shared/core/window';

const object = (key: string, size = 10) => ({ key, size, etag: 'e' });

describe('window and file selection', () => {
  it('reads the hour from CloudFront file names', () => {
    expect(hourInFileName('logs/E2ABC.2024-07-13-05.a1b2c3d4.gz')).toBe('2024-07-13T05');
    expect(hourInFileName('E2ABC.2024-02-30-05.a1b2c3d4.gz')).toBeUndefined();
    expect(hourInFileName('export-from-sales.log')).toBeUndefined();
  });

  it('selects [from - lookback, to) and always takes files without an hour in their name', () => {
    const objects = [
      object('E1.2024-07-12-21.a.gz'),
      object('E1.2024-07-12-22.a.gz'),
      object('E1.2024-07-13-00.a.gz'),
      object('E1.2024-07-13-23.a.gz'),
      object('E1.2024-07-14-00.a.gz'),
      object('my-export.log'),
      object('folder/'),
      object('E1.2024-07-13-01.empty.gz', 0),
    ];
    const selected = selectWindowFiles(objects, { from: '2024-07-13T00', to: '2024-07-14T00' }, 2);
    expect(selected.map((item) => item.key)).toEqual([
      'E1.2024-07-12-22.a.gz',
      'E1.2024-07-13-00.a.gz',
      'E1.2024-07-13-23.a.gz',
      'my-export.log',
    ]);
  });

  it('derives deterministic raw keys and file ids', () => {
    expect(rawKeyFor('cf/E1.2024-07-13-00.abc.gz', 'cf/')).toBe('raw/E1.2024-07-13-00.abc.gz');
    expect(sourceFileId('raw/E1.2024-07-13-00.abc.gz')).toMatch(/^E1\.2024-07-13-00\.abc-[0-9a-f]{10}$/);
    expect(sourceFileId('raw/weird name+1.log')).toMatch(/^weird_name_1-[0-9a-f]{10}$/);
    expect(sourceFileId('raw/E1.2024-07-13-00.abc.gz')).toBe(sourceFileId('raw/E1.2024-07-13-00.abc.gz'));
  });

  it('gives files of the same name in different folders different ids', () => {
    const ids = ['logs/a/access.log', 'logs/b/access.log', 'logs/access.log'].map(sourceFileId);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^access-[0-9a-f]{10}$/);
  });

  it('computes the last complete window in UTC', () => {
    expect(lastCompleteWindow(new Date('2024-07-13T05:14:59Z'), 1)).toEqual({
      from: '2024-07-13T04',
      to: '2024-07-13T05',
    });
    expect(lastCompleteWindow(new Date('2024-07-13T00:00:00Z'), 24)).toEqual({
      from: '2024-07-12T00',
      to: '2024-07-13T00',
    });
    expect(addHours('2024-12-31T23', 1)).toBe('2025-01-01T00');
    expect(() => hourStart('2024-13-01T00')).toThrow(/No such hour/);
  });
});
