import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { RouterConfig } from '../../src/core/router/config.js';
import { dir } from '../unit/router/helpers.js';

export interface Child {
  proc: ChildProcess;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a child process running a fixture; resolves with its first stdout line. */
export function startChild(fixture: string, args: string[], env: Record<string, string> = {}): Promise<{ child: Child; line: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', fixture), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, VAN_LOG: process.env.VAN_LOG ?? 'warn', ...env },
    });
    let err = '';
    let out = '';
    proc.stderr!.on('data', (d) => (err += d));
    const child: Child = {
      proc,
      stderr: () => err,
      kill: (signal = 'SIGTERM') =>
        new Promise((r) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return r();
          proc.once('exit', () => r());
          proc.kill(signal);
        }),
    };
    proc.stdout!.on('data', (d) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve({ child, line: out.slice(0, i) });
    });
    proc.once('exit', (code) => reject(new Error(`${fixture} exited with ${code}: ${err}`)));
  });
}

export async function startRouterChild(config: RouterConfig): Promise<Child> {
  const path = join(dir, `router-${config.id}.json`);
  writeFileSync(path, JSON.stringify(config, null, 2));
  const { child } = await startChild('router-child.ts', [path]);
  return child;
}

export function getJson(port: number, path: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          try {
            resolve(path === '/metrics' ? body : JSON.parse(body));
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}
