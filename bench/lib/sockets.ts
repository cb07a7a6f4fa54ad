// The socket benchmarks: Capsule's virtual network against plain Node over
// kernel TCP, as ratios.
//
// - guest-to-guest throughput: net_source -> net_sink on one layer (`capsule up`)
//   against net-peer.js source -> sink, two Node processes over TCP loopback;
// - guest-to-guest 1-byte round trip: net_ping <-> net_pong against net-peer.js
//   ping <-> pong, likewise, in secure mode and in normal mode (where the
//   guests' sockets are host sockets and `pong` resolves to the host's loopback);
// - bridged throughput: `capsule run --allow-connect` of net_source to a host sink
//   (a Node process on 127.0.0.1) against net-peer.js source to the same sink;
// - bridged receive throughput: `capsule run` of net_drain reading from a host
//   feed (net-peer.js feed) against net-peer.js drain reading from the same feed;
// - bridged 16 KiB request/response: `capsule run` of net_ping to a host echo
//   server (net-peer.js pong) against net-peer.js ping to the same kind of server;
// - guest-to-guest 16 KiB request/response with both cores kept busy by two
//   spinning processes (for the baseline too): net_ping <-> net_pong against
//   net-peer.js ping <-> pong.
//
// Every figure is measured inside the client (guest or Node) from connected to
// done, so process and enclave start-up are left out. Each case first makes one
// small untimed run as a check, then alternates baseline and Capsule for the
// rounds; a run's byte counts are checked against what the other side saw.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { guest } from './cases.js';
import { alternate, type Series } from './measure.js';
import { socketSummaryLine, type SocketResult } from './report.js';

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
const ROOT = here('../../../'); // dist/bench/lib -> repository root
const CAPSULE = path.join(ROOT, 'bin/capsule.js');
const PEER = here('./net-peer.js');
const CHILD_TIMEOUT_MS = 120_000;
/** Guest ports on the layer's virtual network (not host ports). */
const SINK_PORT = 7000;
const PONG_PORT = 7001;

export interface SocketBenchOptions {
  rounds: number;
  /** MiB per throughput run. */
  mib: number;
  /** Timed round trips per RTT run, after `warmup` untimed ones. */
  roundTrips: number;
  warmup: number;
  status: (text: string) => void;
}

/** A running child process whose stdout is read line by line. */
class Child {
  private readonly proc: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private stderr = '';
  private timer: NodeJS.Timeout;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private ended = false;

  constructor(readonly argv: string[], timeoutMs = CHILD_TIMEOUT_MS) {
    this.proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (text: string) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (text: string) => { this.stderr = (this.stderr + text).slice(-2000); });
    this.timer = setTimeout(() => { this.stderr += `\n(killed after ${timeoutMs} ms)`; this.proc.kill('SIGKILL'); }, timeoutMs);
    this.exited = new Promise((resolve, reject) => {
      this.proc.on('error', reject);
      this.proc.on('close', (code, signal) => {
        clearTimeout(this.timer);
        if (partial) this.lines.push(partial);
        partial = '';
        this.ended = true;
        this.wake();
        resolve({ code, signal });
      });
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** All stdout lines so far. */
  get output(): string[] {
    return this.lines;
  }

  /** Why the child failed: exit status and the tail of its stderr. */
  describe(how: { code: number | null; signal: NodeJS.Signals | null }): string {
    const err = this.stderr.trim().slice(-600);
    const out = this.lines.slice(-5).join(' / ');
    return `${how.code === null ? `killed by ${how.signal}` : `exit code ${how.code}`}` +
      `${err ? `; stderr: ${err}` : ''}${out ? `; stdout: ${out}` : ''}`;
  }

  /** Waits for (and consumes up to) the next stdout line matching `re`; throws if the child ends first. */
  async line(re: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      while (this.lines.length) {
        const l = this.lines.shift()!;
        const m = re.exec(l);
        if (m) return m;
      }
      if (this.ended) {
        throw new Error(`${this.label} ended without printing ${re}: ${this.describe(await this.exited)}`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Forgets the stdout lines not consumed yet (left over from an earlier, failed exchange). */
  skipPending(): void {
    this.lines.length = 0;
  }

  /** Resolves when the child exits with 0; otherwise throws with the reason. */
  async success(): Promise<void> {
    const how = await this.exited;
    if (how.code !== 0) throw new Error(`${this.label} failed: ${this.describe(how)}`);
  }

  /** The command, short: e.g. "net-peer.js source 127.0.0.1". */
  get label(): string {
    return this.argv.slice(1, 4).map((a) => path.basename(a)).join(' ');
  }

  kill(): void {
    if (!this.ended) this.proc.kill('SIGKILL');
  }
}

const node = (...args: (string | number)[]): string[] => [process.execPath, PEER, ...args.map(String)];

const SENT = /sent (\d+) ns (\d+)/;
const DRAINED = /drained (\d+) ns (\d+)/;
const FED = /fed (\d+)/;
const RECEIVED = /received (\d+)/;
const RTT = /rtt_median_ns (\d+) rtt_mean_ns (\d+) n (\d+)/;

interface Throughput { bytes: number; ns: number }
interface RoundTrip { medianNs: number; meanNs: number }

function throughput(client: RegExpMatchArray, server: RegExpMatchArray, expectBytes: number): Throughput {
  const bytes = Number(client[1]);
  const got = Number(server[1]);
  if (bytes !== expectBytes || got !== expectBytes) throw new Error(`sent ${bytes} bytes, sink received ${got}, expected ${expectBytes}`);
  return { bytes, ns: Number(client[2]) };
}

function roundTrip(m: RegExpMatchArray, count: number): RoundTrip {
  if (Number(m[3]) !== count) throw new Error(`made ${m[3]} round trips, expected ${count}`);
  return { medianNs: Number(m[1]), meanNs: Number(m[2]) };
}

/** A Node server child and a Node client child over kernel TCP loopback. */
async function nodePair<T>(server: string[], client: (port: number) => string[],
  result: (server: Child, client: Child) => Promise<T>): Promise<T> {
  const s = new Child(server);
  let c: Child | undefined;
  try {
    const port = Number((await s.line(/^listening (\d+)/))[1]);
    c = new Child(client(port));
    const r = await result(s, c);
    await Promise.all([c.success(), s.success()]);
    return r;
  } finally {
    c?.kill();
    s.kill();
  }
}

interface BenchGuest {
  name: string;
  module: string;
  args: (string | number)[];
  after?: Record<string, number>;
}

/** Runs a system of guests with `capsule up`; returns the child once it has exited with 0. */
async function capsuleUp(guests: BenchGuest[], mode: 'secure' | 'normal' = 'secure'): Promise<Child> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsule-bench-net-'));
  const file = path.join(dir, 'system.json');
  fs.writeFileSync(file, JSON.stringify({ mode, guests: guests.map((g) => ({ ...g, args: g.args.map(String) })) }));
  const c = new Child([process.execPath, CAPSULE, 'up', file]);
  try {
    await c.success();
    return c;
  } finally {
    c.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const lineOf = (c: Child, re: RegExp, who: string): RegExpMatchArray => {
  for (const l of c.output) {
    if (l.startsWith(who)) {
      const m = re.exec(l);
      if (m) return m;
    }
  }
  throw new Error(`no ${re} line from ${who} in: ${c.output.join(' / ')}`);
};

async function nodeStream(mib: number): Promise<Throughput> {
  return nodePair(node('sink', 0, 1), (port) => node('source', '127.0.0.1', port, mib),
    async (s, c) => throughput(await c.line(SENT), await s.line(RECEIVED), mib * 2 ** 20));
}

async function guestStream(mib: number): Promise<Throughput> {
  const up = await capsuleUp([
    { name: 'sink', module: guest('net_sink'), args: [SINK_PORT] },
    { name: 'source', module: guest('net_source'), args: ['sink', SINK_PORT, mib] },
  ]);
  return throughput(lineOf(up, SENT, 'source'), lineOf(up, RECEIVED, 'sink'), mib * 2 ** 20);
}

async function nodePingPong(count: number, warmup: number, size = 1): Promise<RoundTrip> {
  return nodePair(node('pong', 0), (port) => node('ping', '127.0.0.1', port, count, warmup, size),
    async (_s, c) => roundTrip(await c.line(RTT), count));
}

/** A TCP port of the host that was free a moment ago (normal-mode guests listen on host ports). */
async function freeHostPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function guestPingPong(count: number, warmup: number, size = 1, mode: 'secure' | 'normal' = 'secure'): Promise<RoundTrip> {
  const port = mode === 'normal' ? await freeHostPort() : PONG_PORT;
  const up = await capsuleUp([
    { name: 'pong', module: guest('net_pong'), args: [port] },
    // Started once pong listens: no connect retries in the way.
    { name: 'ping', module: guest('net_ping'), args: ['pong', port, count, warmup, size], after: { pong: port } },
  ], mode);
  return roundTrip(lineOf(up, RTT, 'ping'), count);
}

/** Bridged request/response: a client (Capsule guest or Node) against a fresh Node echo server on 127.0.0.1. */
async function bridgedPingPong(who: Who, count: number, warmup: number, size: number): Promise<RoundTrip> {
  return nodePair(node('pong', 0), (port) => (who === 'baseline'
    ? node('ping', '127.0.0.1', port, count, warmup, size)
    : [process.execPath, CAPSULE, 'run', '--allow-connect', `127.0.0.1:${port}`, guest('net_ping'),
      'host.capsule.internal', String(port), String(count), String(warmup), String(size)]),
  async (_s, c) => roundTrip(await c.line(RTT), count));
}

/** Runs `fn` while one spinning process per CPU keeps every core busy. */
async function withBusyCores<T>(fn: () => Promise<T>): Promise<T> {
  const spinners = os.cpus().map(() => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  try {
    return await fn();
  } finally {
    for (const s of spinners) s.kill('SIGKILL');
  }
}

/** Request/response size of the 16 KiB cases. */
const MESSAGE_BYTES = 16384;

/** One client run against the long-lived host sink; checks what the sink saw. */
async function bridgedRun(sink: Child, client: string[], mib: number): Promise<Throughput> {
  sink.skipPending();
  const c = new Child(client);
  try {
    const sent = await c.line(SENT);
    await c.success();
    return throughput(sent, await sink.line(RECEIVED), mib * 2 ** 20);
  } finally {
    c.kill();
  }
}

const gbps = (t: Throughput): number => t.bytes / t.ns; // bytes per ns = 10^9 bytes per s

type Who = 'baseline' | 'capsule';
const WHO: Who[] = ['baseline', 'capsule'];

async function measure<T>(title: string, o: SocketBenchOptions, check: (who: Who) => Promise<T>,
  timed: (who: Who) => Promise<T>, value: (t: T) => number, extra?: (t: T) => number):
  Promise<{ series: Record<Who, Series>; extra: Record<Who, number[]> }> {
  const extras: Record<Who, number[]> = { baseline: [], capsule: [] };
  // One small untimed run each: checks the contender works (and warms caches).
  const checked = await alternate(WHO, 1, async (who) => { await check(who); return 0; }, () => o.status(`${title}: checking`));
  const series = await alternate(WHO, o.rounds, async (who) => {
    const e = checked[WHO.indexOf(who)]!.error;
    if (e !== undefined) throw new Error(`check run failed: ${e}`);
    const t = await timed(who);
    if (extra) extras[who].push(extra(t));
    return value(t);
  }, (round) => o.status(`${title}: round ${round + 1}/${o.rounds}`));
  return { series: { baseline: series[0]!, capsule: series[1]! }, extra: extras };
}

export async function socketBenchmarks(o: SocketBenchOptions): Promise<SocketResult[]> {
  const results: SocketResult[] = [];
  const report = (r: SocketResult): void => {
    o.status('');
    console.log(`${r.title}: ${socketSummaryLine(r)}`);
    results.push(r);
  };
  const checkMib = Math.min(o.mib, 16);
  const checkTrips = Math.min(o.roundTrips, 200);

  {
    const title = 'guest-to-guest throughput (GB/s)';
    const m = await measure(title, o,
      (who) => (who === 'baseline' ? nodeStream(checkMib) : guestStream(checkMib)),
      (who) => (who === 'baseline' ? nodeStream(o.mib) : guestStream(o.mib)), gbps);
    report({
      id: 'net_g2g_throughput', title, unit: 'GB/s', better: 'higher', baseline: 'node<->node TCP loopback',
      goal: { kind: 'min', ratio: 3, text: '>= 3.00x' }, series: m.series,
    });
  }
  {
    const title = 'guest-to-guest 1-byte RTT (µs)';
    const m = await measure(title, o,
      (who) => (who === 'baseline' ? nodePingPong(checkTrips, 10) : guestPingPong(checkTrips, 10)),
      (who) => (who === 'baseline' ? nodePingPong(o.roundTrips, o.warmup) : guestPingPong(o.roundTrips, o.warmup)),
      (t) => t.medianNs / 1000, (t) => t.meanNs / 1000);
    report({
      id: 'net_g2g_rtt', title, unit: 'µs', better: 'lower', baseline: 'node<->node TCP loopback',
      goal: { kind: 'max', ratio: 1 / 3, text: '<= 0.33x (1/3)' }, series: m.series,
      extra: { label: 'mean round trip (µs)', ...m.extra },
    });
  }
  {
    const title = 'guest-to-guest 16 KiB RTT, cores busy (µs)';
    const trips = Math.max(1, Math.round(o.roundTrips / 10));
    const run = (who: Who, n: number, w: number): Promise<RoundTrip> => withBusyCores(() =>
      (who === 'baseline' ? nodePingPong(n, w, MESSAGE_BYTES) : guestPingPong(n, w, MESSAGE_BYTES)));
    const m = await measure(title, o, (who) => run(who, Math.min(trips, 100), 10),
      (who) => run(who, trips, Math.round(o.warmup / 10)), (t) => t.medianNs / 1000, (t) => t.meanNs / 1000);
    report({
      id: 'net_g2g_rtt_16k_busy', title, unit: 'µs', better: 'lower', baseline: 'node<->node TCP loopback, cores busy',
      goal: { kind: 'max', ratio: 0.5, text: '<= 0.50x' }, series: m.series,
      extra: { label: 'mean round trip (µs)', ...m.extra },
    });
  }
  {
    const title = 'bridged 16 KiB RTT (µs)';
    const trips = Math.max(1, Math.round(o.roundTrips / 10));
    const m = await measure(title, o, (who) => bridgedPingPong(who, Math.min(trips, 100), 10, MESSAGE_BYTES),
      (who) => bridgedPingPong(who, trips, Math.round(o.warmup / 10), MESSAGE_BYTES), (t) => t.medianNs / 1000, (t) => t.meanNs / 1000);
    report({
      // At least 0.8x the plain client's speed: a round trip at most 1/0.8 = 1.25x as long.
      id: 'net_bridged_rtt_16k', title, unit: 'µs', better: 'lower', baseline: 'node client -> node server',
      goal: { kind: 'max', ratio: 1.25, text: '<= 1.25x (>= 0.8x speed)' }, series: m.series,
      extra: { label: 'mean round trip (µs)', ...m.extra },
    });
  }
  {
    const title = 'guest-to-guest 1-byte RTT, normal mode (µs)';
    const m = await measure(title, o,
      (who) => (who === 'baseline' ? nodePingPong(checkTrips, 10) : guestPingPong(checkTrips, 10, 1, 'normal')),
      (who) => (who === 'baseline' ? nodePingPong(o.roundTrips, o.warmup) : guestPingPong(o.roundTrips, o.warmup, 1, 'normal')),
      (t) => t.medianNs / 1000, (t) => t.meanNs / 1000);
    report({
      // Normal mode goes through the host's TCP stack, as the baseline does: the goal is to cost little more.
      id: 'net_g2g_rtt_normal', title, unit: 'µs', better: 'lower', baseline: 'node<->node TCP loopback',
      goal: { kind: 'max', ratio: 3, text: '<= 3.00x' }, series: m.series,
      extra: { label: 'mean round trip (µs)', ...m.extra },
    });
  }
  {
    const title = 'bridged throughput (GB/s)';
    // One host sink for all runs, a Node process on 127.0.0.1 serving connection after connection.
    const sink = new Child(node('sink', 0, 0), 3_600_000);
    try {
      const port = Number((await sink.line(/^listening (\d+)/))[1]);
      const client = (who: Who, mib: number): string[] => (who === 'baseline'
        ? node('source', '127.0.0.1', port, mib)
        : [process.execPath, CAPSULE, 'run', '--allow-connect', `127.0.0.1:${port}`, guest('net_source'),
          'host.capsule.internal', String(port), String(mib)]);
      const m = await measure(title, o, (who) => bridgedRun(sink, client(who, checkMib), checkMib),
        (who) => bridgedRun(sink, client(who, o.mib), o.mib), gbps);
      report({
        id: 'net_bridged_throughput', title, unit: 'GB/s', better: 'higher', baseline: 'node client -> node server',
        goal: { kind: 'min', ratio: 0.8, text: '>= 0.80x' }, series: m.series,
      });
    } finally {
      sink.kill();
    }
  }
  {
    const title = 'bridged receive throughput (GB/s)';
    // One host feed for all runs, a Node process on 127.0.0.1 sending each connection the same bytes.
    const runFeed = async (mib: number, run: (feed: Child, port: number) => Promise<Throughput>): Promise<Throughput> => {
      const feed = new Child(node('feed', 0, mib), 3_600_000);
      try {
        return await run(feed, Number((await feed.line(/^listening (\d+)/))[1]));
      } finally {
        feed.kill();
      }
    };
    const drain = (who: Who, mib: number): Promise<Throughput> => runFeed(mib, async (feed, port) => {
      const c = new Child(who === 'baseline'
        ? node('drain', '127.0.0.1', port)
        : [process.execPath, CAPSULE, 'run', '--allow-connect', `127.0.0.1:${port}`, guest('net_drain'), 'host.capsule.internal', String(port)]);
      try {
        const m = await c.line(DRAINED);
        await c.success();
        return throughput(m, await feed.line(FED), mib * 2 ** 20);
      } finally {
        c.kill();
      }
    });
    const m = await measure(title, o, (who) => drain(who, checkMib), (who) => drain(who, o.mib), gbps);
    report({
      id: 'net_bridged_receive_throughput', title, unit: 'GB/s', better: 'higher', baseline: 'node server -> node client',
      goal: { kind: 'min', ratio: 0.8, text: '>= 0.80x' }, series: m.series,
    });
  }
  return results;
}
