import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A column as Glue stores it: name lower-cased, Hive type string. */
export interface StoredColumn {
  name: string;
  type: string;
  comment?: string;
}

export interface StoredPartition {
  /** Values in the order of the table's partition keys. */
  values: string[];
  /** `s3://bucket/prefix/` of the partition's data. */
  location: string;
}

export interface StoredTable {
  name: string;
  createTime: number;
  columns: StoredColumn[];
  partitionKeys: StoredColumn[];
  /** `s3://bucket/prefix/`, always ending with `/`. */
  location: string;
  inputFormat: string;
  outputFormat: string;
  serdeLibrary: string;
  serdeParameters: Record<string, string>;
  /** TBLPROPERTIES (skip.header.line.count, projection.*, storage.location.template, …). */
  parameters: Record<string, string>;
  /** Partitions added with ALTER TABLE ADD PARTITION (Hive-layout ones are discovered from S3). */
  partitions: StoredPartition[];
  comment?: string;
}

export interface StoredDatabase {
  name: string;
  description?: string;
  locationUri?: string;
  parameters: Record<string, string>;
  createTime: number;
  tables: Record<string, StoredTable>;
}

export interface StoredWorkGroup {
  name: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  creationTime: number;
  outputLocation?: string;
  expectedBucketOwner?: string;
  enforceWorkGroupConfiguration: boolean;
  publishCloudWatchMetricsEnabled: boolean;
  requesterPaysEnabled: boolean;
  bytesScannedCutoffPerQuery?: number;
  selectedEngineVersion: string;
  tags: { Key: string; Value: string }[];
}

export interface StoredState {
  databases: Record<string, StoredDatabase>;
  workGroups: Record<string, StoredWorkGroup>;
}

/**
 * The Glue catalog and the workgroups, persisted in `<directory>/catalog.json` so a restarted
 * local stack still knows the tables its DDL created (Glue is durable; DDL is not re-run per run).
 */
export class StateStore {
  readonly state: StoredState;
  private readonly file: string;

  constructor(directory: string) {
    this.file = join(directory, 'catalog.json');
    this.state = load(this.file);
    const now = Date.now() / 1000;
    // Glue creates `default` on first use and Athena always has the `primary` workgroup.
    this.state.databases.default ??= { name: 'default', parameters: {}, createTime: now, tables: {} };
    this.state.workGroups.primary ??= {
      name: 'primary',
      state: 'ENABLED',
      creationTime: now,
      enforceWorkGroupConfiguration: false,
      publishCloudWatchMetricsEnabled: false,
      requesterPaysEnabled: false,
      selectedEngineVersion: 'AUTO',
      tags: [],
    };
    this.save();
  }

  /** Writes atomically (temp file + rename) so a crash never leaves a half-written catalog. */
  save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(temporary, this.file);
  }
}

function load(file: string): StoredState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { databases: {}, workGroups: {} };
  }
  // The file is ours; a hand-edited broken file should stop the stand-in loudly, not be wiped.
  const parsed = JSON.parse(text) as Partial<StoredState>;
  return { databases: parsed.databases ?? {}, workGroups: parsed.workGroups ?? {} };
}
