/**
 * A stand-in's own process (see supervised.ts): starts the service module named in argv, reports
 * its port to the parent, and stops when told to or when the parent goes away.
 */
import { join } from 'node:path';
import type { RunningService } from './service';

async function main(): Promise<void> {
  const [moduleName, json] = process.argv.slice(2);
  if (moduleName === undefined || json === undefined)
    throw new Error('usage: service-child.ts <module> <options json>');
  const module = (await import(join(__dirname, moduleName))) as {
    serve(options: unknown): Promise<RunningService>;
  };
  const service = await module.serve(JSON.parse(json));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await service.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => {}); // Ctrl-C reaches the whole process group: the parent decides.
  process.on('disconnect', () => void stop());
  process.send?.({ type: 'ready', port: service.port });
}

const fatal = (error: unknown) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ type: 'fatal', error: text.split('\n').slice(0, 6).join(' | ') }, () => process.exit(1));
  setTimeout(() => process.exit(1), 500).unref();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
main().catch(fatal);
