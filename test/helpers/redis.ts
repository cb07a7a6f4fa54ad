// A real redis-server for the fleet's tests, on a Unix socket in a private
// directory (no port to collide with), with its append-only file on so a
// restart keeps what was accepted. Stopped and removed by stop().

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TestRedis {
  /** unix:///.../redis.sock, for --redis. */
  url: string;
  socket: string;
  dir: string;
  /** Stops the server (SIGKILL by default: only what its AOF holds survives) and starts it again on the same files after `downMs`. */
  restart(signal?: NodeJS.Signals, downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function waitForSocket(socket: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const c = net.connect(socket);
      c.once('connect', () => {
        c.write('PING\r\n');
        c.once('data', () => { c.destroy(); resolve(); });
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${socket}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-redis-'));
  const socket = path.join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', [
      '--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning',
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitForSocket(socket);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill(signal); });
  };
  await launch();
  return {
    url: `unix://${socket}`,
    socket,
    dir,
    restart: async (signal = 'SIGKILL', downMs = 0) => {
      await kill(signal);
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    stop: async () => { await kill(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}
