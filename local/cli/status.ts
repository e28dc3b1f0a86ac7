/**
 * `npm run local:status`: each service of the background stack with its endpoint, process,
 * health (does it answer right now) and restarts. Exits 0 when every service answers, 1 otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { processRuns } from '#shared/core/process';
import { parseStackArgs, stackFiles } from './options';

const USAGE = `Usage: npm run local:status -- [--dir .local]
Shows each service of the stack npm run local:up started: endpoint, pid, health, restarts.`;

interface StatusFile {
  pid: number;
  services: { name: string; endpoint: string; pid?: number; restarts: number }[];
}

/** An HTTP stand-in is healthy when it answers any HTTP request; MySQL when it accepts a connection. */
async function answers(endpoint: string): Promise<boolean> {
  if (endpoint.startsWith('mysql://')) {
    const url = new URL(endpoint);
    return new Promise((resolve) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      socket.setTimeout(2_000, () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const options = parseStackArgs(process.argv.slice(2), USAGE);
  const files = stackFiles(options.directory);
  if (!existsSync(files.status)) {
    console.log(`local stack is not running (no ${files.status}); start it with npm run local:up`);
    return 1;
  }
  const status = JSON.parse(readFileSync(files.status, 'utf8')) as StatusFile;
  const running = processRuns(status.pid);
  console.log(`local stack pid ${status.pid} ${running ? 'running' : 'NOT RUNNING'}`);
  let healthy = running;
  console.log(
    `${'service'.padEnd(16)}${'endpoint'.padEnd(30)}${'pid'.padEnd(9)}${'health'.padEnd(8)}restarts`,
  );
  for (const service of status.services) {
    const ok = await answers(service.endpoint);
    healthy &&= ok;
    console.log(
      `${service.name.padEnd(16)}${service.endpoint.padEnd(30)}${String(service.pid ?? '-').padEnd(9)}${(ok ? 'up' : 'DOWN').padEnd(8)}${service.restarts}`,
    );
  }
  return healthy ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
