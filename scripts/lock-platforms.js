#!/usr/bin/env node
/**
 * Adds to package-lock.json the per-platform optional binaries (biome, swc, duckdb, …) that the
 * registry this project is developed against does not serve, so `npm ci` finds the lock in sync
 * on every platform. Each entry carries the platform (os, cpu, libc) read from the package's name:
 * npm skips it on other platforms and fetches it by name and version on its own.
 *
 * Run after `npm install` changes the lock: `node scripts/lock-platforms.js`.
 */
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const OSES = ['android', 'darwin', 'freebsd', 'linux', 'openharmony', 'win32'];
const CPUS = ['arm64', 'x64', 'ia32', 'ppc64', 's390x', 'loong64', 'riscv64', 'arm'];

/** os, cpu and libc from a name such as `@biomejs/cli-linux-x64-musl`, or undefined. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = OSES.find((candidate) => parts.includes(candidate));
  const cpu = CPUS.find((candidate) => parts.includes(candidate));
  if (os === undefined || cpu === undefined) return undefined;
  const libc = os !== 'linux' ? undefined : parts.some((part) => part.startsWith('musl')) ? 'musl' : 'glibc';
  return { os, cpu, libc };
}

const path = join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [location, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `${location === '' ? '' : `${location}/`}node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[hoisted]) continue;
    const platform = platformOf(name);
    if (platform === undefined || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) continue;
    lock.packages[hoisted] = {
      version,
      cpu: [platform.cpu],
      ...(entry.dev && { dev: true }),
      ...(platform.libc && { libc: [platform.libc] }),
      optional: true,
      os: [platform.os],
    };
    added++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: ${added} platform package(s) added to package-lock.json`);
