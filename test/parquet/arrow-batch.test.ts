import { cloudfront } from '#shared/datasets/cloudfront/index';
import { RecordBatchBuilder } from '#shared/parquet/arrow-batch';

describe('RecordBatchBuilder', () => {
  const columnIndex = (name: string) => cloudfront.table.columns.findIndex((column) => column.name === name);

  it('keeps 64-bit integers exact across the int32 halves, negatives and 2^53 − 1 included', () => {
    const builder = new RecordBatchBuilder(cloudfront.table);
    const values = [
      0,
      1,
      -1,
      4_294_967_295,
      4_294_967_296,
      -4_294_967_297,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ];
    for (const value of values) {
      const row = cloudfront.table.columns.map(() => null as number | null);
      row[columnIndex('sc_bytes')] = value;
      row[columnIndex('request_time')] = value;
      builder.append(row);
    }
    const batch = builder.flush();
    expect(batch.getChild('sc_bytes')!.toArray()).toEqual(BigInt64Array.from(values.map(BigInt)));
    expect([...batch.getChild('request_time')!].map(Number)).toEqual(values);
  });

  it('reuses its buffers after a flush: the second batch holds only its own rows, nulls and lists', () => {
    const builder = new RecordBatchBuilder(cloudfront.table);
    const row = (agent: string | null, forwarded: string[] | null) => {
      const values = cloudfront.table.columns.map(() => null as string | string[] | null);
      values[columnIndex('cs_user_agent')] = agent;
      values[columnIndex('forwarded_for')] = forwarded;
      return values;
    };
    for (let index = 0; index < 3000; index++)
      builder.append(row(`agent-${index}-é`, [`10.0.0.${index % 250}`]));
    builder.flush();
    builder.append(row(null, null));
    builder.append(row('', []));
    builder.append(row('日本語', ['a', 'b']));
    const batch = builder.flush();
    expect(batch.numRows).toBe(3);
    expect([...batch.getChild('cs_user_agent')!]).toEqual([null, '', '日本語']);
    expect([...batch.getChild('forwarded_for')!].map((list) => (list === null ? null : [...list]))).toEqual([
      null,
      [],
      ['a', 'b'],
    ]);
  });
});
