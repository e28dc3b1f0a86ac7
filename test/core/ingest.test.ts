import { hourInFileName, rawKeyFor, selectWindowFiles, sourceFileId } from '#shared/core/ingest';
import { addHours, hourStart, lastCompleteWindow } from '#shared/core/window';

const object = (key: string, size = 10) => ({ key, size, etag: 'e' });

describe('window and file selection', () => {
  it('reads the hour from CloudFront file names', () => {
    expect(hourInFileName('logs/E2ABC.2024-07-13-05.a1b2c3d4.gz')).toBe('2024-07-13T05');
    expect(hourInFileName('E2ABC.2024-02-30-05.a1b2c3d4.gz')).toBeUndefined();
    expect(hourInFileName('export-from-sales.log')).toBeUndefined();
  });

  it('reads the hour from CloudFront v2 partition folders when the name has none', () => {
    const hive = 'cf/DistributionId=E123/year=2025/month=01/day=02/hour=03/part-0001.parquet';
    expect(hourInFileName(hive)).toBe('2025-01-02T03');
    expect(
      hourInFileName(
        'AWSLogs/aws-account-id=111122223333/CloudFront/distributionid=E3/year=2025/month=02/day=16/hour=10/a.json.gz',
      ),
    ).toBe('2025-02-16T10');
    expect(hourInFileName('cf/YEAR=2025/MONTH=12/DAY=31/HOUR=23/DistributionId=E1/a.log.gz')).toBe(
      '2025-12-31T23',
    );
    expect(hourInFileName('cf/E123/2025/01/02/03/abcdef.parquet')).toBe('2025-01-02T03');
    expect(hourInFileName('2025/01/02/03/E123/abcdef.gz')).toBe('2025-01-02T03');
    // The name's own hour wins over its folders'.
    expect(hourInFileName('cf/E1/2025/01/02/03/E1.2025-01-02-04.abc.gz')).toBe('2025-01-02T04');
    for (const key of [
      'cf/E1/year=2025/month=13/day=02/hour=03/a.parquet',
      'cf/E1/year=2025/month=01/day=02/a.parquet',
      'cf/E1/2025/01/02/a.gz',
      'cf/E1/2025/02/30/05/a.gz',
      'cf/year=25/month=01/day=02/hour=03/a.gz',
      'cf/E1/2025/01/02/03',
    ]) {
      expect(hourInFileName(key)).toBeUndefined();
    }
  });

  it('selects v2 partitioned files by the hour of their folders, with the same lookback', () => {
    const hive = (hour: string) =>
      object(
        `cf/DistributionId=E1/year=2024/month=07/day=${hour.slice(0, 2)}/hour=${hour.slice(3)}/f.parquet`,
      );
    const objects = [
      hive('12T21'),
      hive('12T22'),
      hive('13T23'),
      hive('14T00'),
      object('cf/E1/2024/07/13/05/g.json.gz'),
    ];
    const selected = selectWindowFiles(objects, { from: '2024-07-13T00', to: '2024-07-14T00' }, 2);
    expect(selected.map((item) => item.key)).toEqual([
      'cf/DistributionId=E1/year=2024/month=07/day=12/hour=22/f.parquet',
      'cf/DistributionId=E1/year=2024/month=07/day=13/hour=23/f.parquet',
      'cf/E1/2024/07/13/05/g.json.gz',
    ]);
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
