import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { closeServer, LOOPBACK, listen, type RunningService } from '../service';
import { Catalog } from './catalog';
import { QueryEngine } from './engine';
import { type Fault, QueryExecutions } from './queries';
import { createAthenaServer } from './server';
import { StateStore } from './store';
import { WorkGroups } from './workgroups';

export interface AthenaOptions {
  /** 0 = any free port. */
  port?: number;
  region: string;
  /** Client for the local S3 (built by AwsClients): table data is read and results are written through it. */
  s3: S3Client;
  /** Cache of downloaded objects and the persisted catalog and workgroups (`catalog.json`). */
  directory: string;
  /** Active queries allowed per statement kind (DML, DDL); default 20, the AWS default quota. */
  maxConcurrentQueries?: number;
  /** A query stays RUNNING at least this long (test knob, default 0). */
  minQueryMs?: number;
}

export interface LocalAthena extends RunningService {
  /**
   * The next `times` (default 1) StartQueryExecution calls are throttled (`kind: 'throttle'`), or
   * the next `times` accepted queries end FAILED / CANCELLED with `reason`.
   */
  injectFault(fault: Fault): void;
  /** Drops the faults not consumed yet. */
  clearFaults(): void;
  /** Injected throttles not yet answered. */
  readonly pendingThrottles: number;
}

export type { Fault };

/**
 * An Athena stand-in: the Athena API (AWS JSON 1.1) over DuckDB, with the Glue catalog kept in
 * `<directory>/catalog.json`, table data read from the local S3 and results written back to it.
 * See docs/athena-local.md for the SQL it accepts and how it differs from Athena.
 */
export async function startAthena(options: AthenaOptions): Promise<LocalAthena> {
  mkdirSync(options.directory, { recursive: true });
  const store = new StateStore(options.directory);
  const catalog = new Catalog(store);
  const workGroups = new WorkGroups(store);
  const engine = await QueryEngine.create({ directory: options.directory, s3: options.s3, catalog });
  const queries = new QueryExecutions({
    engine,
    workGroups,
    s3: options.s3,
    directory: join(options.directory, 'results'),
    maxConcurrentQueries: options.maxConcurrentQueries ?? 20,
    minQueryMs: options.minQueryMs ?? 0,
  });
  const server = createAthenaServer({ queries, workGroups, catalog });
  let port: number;
  try {
    port = await listen(server, options.port ?? 0);
  } catch (error) {
    engine.close();
    throw error;
  }
  return {
    name: 'athena',
    endpoint: `http://${LOOPBACK}:${port}`,
    port,
    injectFault: (fault) => queries.injectFault(fault),
    clearFaults: () => queries.clearFaults(),
    get pendingThrottles() {
      return queries.pendingThrottles;
    },
    async stop() {
      await closeServer(server);
      await queries.stopAll();
      engine.close();
    },
  };
}
