// Minimal declarations for the two stand-in servers that ship no types.

declare module 's3rver' {
  import type { Server } from 'node:http';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: string[] }[];
  }
  /** The part of a Koa context the stand-in's own middleware uses. */
  interface S3rverContext {
    get(header: string): string;
    request: { headers: Record<string, string | string[] | undefined> };
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    httpServer?: Server;
    /** s3rver is a Koa application: its middleware, in the order they run. */
    middleware: ((context: S3rverContext, next: () => Promise<void>) => Promise<void>)[];
  }
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    path?: string;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}
