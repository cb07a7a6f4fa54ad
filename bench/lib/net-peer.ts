// The plain-Node side of the socket benchmarks, one role per process, over
// kernel TCP (node:net, setNoDelay(true)). Mirrors the net_* guests and
// prints the same lines, so both are timed the same way: inside the client,
// from connected to done, with process start-up left out.
//
//   node net-peer.js sink PORT [CONNECTIONS]  listen on 127.0.0.1:PORT (0: any free port), print
//                                             "listening <port>"; per connection read to end of stream,
//                                             answer a one-byte ack, print "received <bytes>";
//                                             exit after CONNECTIONS connections (0: never)
//   node net-peer.js source HOST PORT MIB     send MIB MiB in 256 KiB writes, end, wait for the ack;
//                                             print "sent <bytes> ns <ns>"
//   node net-peer.js feed PORT MIB            listen on 127.0.0.1:PORT (0: any free port), print
//                                             "listening <port>"; send each connection MIB MiB in 256 KiB
//                                             writes, then end it; print "fed <bytes>"; serve on and on
//   node net-peer.js drain HOST PORT          read to end of stream; print "drained <bytes> ns <ns>"
//   node net-peer.js pong PORT                echo one connection's bytes back; print "listening <port>"
//                                             first and "echoed <bytes>" at its end
//   node net-peer.js ping HOST PORT N WARMUP [SIZE]  WARMUP untimed then N timed round trips of SIZE
//                                             bytes (default 1) each way; print
//                                             "rtt_median_ns <m> rtt_mean_ns <a> n <N>"

import net from 'node:net';

const CHUNK = 256 * 1024;

const [role, ...args] = process.argv.slice(2);
const int = (s: string | undefined, dflt: number): number => {
  const v = parseInt(s ?? '', 10);
  return Number.isFinite(v) ? v : dflt;
};
const fail = (what: string) => (err: Error): void => {
  process.stderr.write(`net-peer ${role}: ${what}: ${err.message}\n`);
  process.exit(1);
};

/** What the sending roles write, made once before any timing. */
const chunk = Buffer.alloc(CHUNK);
for (let i = 0; i < CHUNK; i++) chunk[i] = (i * 131 + 7) & 0xff;

/** Writes `total` bytes of the pattern to `s` in CHUNK writes, waiting for 'drain' when it says so, then ends it. */
function sendPattern(s: net.Socket, total: number, ended?: () => void): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent);
      sent += n;
      if (!s.write(n === CHUNK ? chunk : chunk.subarray(0, n))) {
        s.once('drain', pump);
        return;
      }
    }
    s.end(ended);
  };
  pump();
}

function listen(port: number, onConnection: (s: net.Socket) => void, connections: number): void {
  let served = 0;
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.setNoDelay(true);
    // A server that serves on and on outlives a client that failed; a one-connection server fails with it.
    s.on('error', connections > 0 ? fail('connection') : (err) => process.stdout.write(`error ${err.message}\n`));
    s.on('close', () => {
      if (connections > 0 && ++served === connections) server.close();
    });
    onConnection(s);
  });
  server.on('error', fail('listen'));
  server.listen({ host: '127.0.0.1', port, backlog: 64 }, () => {
    process.stdout.write(`listening ${(server.address() as net.AddressInfo).port}\n`);
  });
}

function connect(host: string, port: number, then: (s: net.Socket) => void): void {
  const s = net.connect({ host, port, noDelay: true });
  s.setNoDelay(true);
  s.on('error', fail('connection'));
  s.once('connect', () => then(s));
}

switch (role) {
  case 'sink':
    listen(int(args[0], 0), (s) => {
      let total = 0;
      s.on('data', (b: Buffer) => { total += b.byteLength; });
      s.on('end', () => {
        s.end(Buffer.of(1));
        process.stdout.write(`received ${total}\n`);
      });
    }, int(args[1], 1));
    break;

  case 'feed': {
    const total = int(args[1], 1024) * 1024 * 1024;
    listen(int(args[0], 0), (s) => {
      s.resume();
      sendPattern(s, total, () => process.stdout.write(`fed ${total}\n`));
    }, 0);
    break;
  }

  case 'drain':
    connect(args[0] ?? '127.0.0.1', int(args[1], 7000), (s) => {
      const t0 = process.hrtime.bigint();
      let total = 0;
      s.on('data', (b: Buffer) => { total += b.byteLength; });
      s.on('end', () => {
        process.stdout.write(`drained ${total} ns ${process.hrtime.bigint() - t0}\n`);
        s.destroy();
      });
    });
    break;

  case 'pong':
    listen(int(args[0], 0), (s) => {
      let total = 0;
      s.on('data', (b: Buffer) => { total += b.byteLength; s.write(b); });
      s.on('end', () => {
        s.end();
        process.stdout.write(`echoed ${total}\n`);
      });
    }, 1);
    break;

  case 'source': {
    const total = int(args[2], 1024) * 1024 * 1024;
    connect(args[0] ?? '127.0.0.1', int(args[1], 7000), (s) => {
      const t0 = process.hrtime.bigint();
      let finished = false;
      const done = (): void => {
        if (finished) return;
        finished = true;
        const ns = process.hrtime.bigint() - t0;
        process.stdout.write(`sent ${total} ns ${ns}\n`);
        s.destroy();
      };
      s.once('data', done);
      s.once('end', done);
      sendPattern(s, total);
    });
    break;
  }

  case 'ping': {
    const count = Math.max(1, int(args[2], 20000));
    const warmup = Math.max(0, int(args[3], 1000));
    const rtt = new Float64Array(count);
    const size = Math.max(1, int(args[4], 1));
    const one = Buffer.alloc(size, 120);
    let got = 0;
    connect(args[0] ?? '127.0.0.1', int(args[1], 7001), (s) => {
      let i = -warmup;
      let t0 = process.hrtime.bigint();
      const send = (): void => {
        t0 = process.hrtime.bigint();
        s.write(one);
      };
      s.on('data', (b: Buffer) => {
        got += b.byteLength;
        if (got < size) return;
        if (got > size) fail('ping')(new Error(`expected ${size} bytes back, got ${got}`));
        got = 0;
        const dt = Number(process.hrtime.bigint() - t0);
        if (i >= 0) rtt[i] = dt;
        if (++i < count) {
          send();
          return;
        }
        const sorted = rtt.slice().sort();
        const median = count % 2 ? sorted[count >> 1]! : (sorted[(count >> 1) - 1]! + sorted[count >> 1]!) / 2;
        const mean = rtt.reduce((a, x) => a + x, 0) / count;
        process.stdout.write(`rtt_median_ns ${Math.round(median)} rtt_mean_ns ${Math.round(mean)} n ${count}\n`);
        s.end();
      });
      send();
    });
    break;
  }

  default:
    process.stderr.write('usage: net-peer sink|source|feed|drain|pong|ping ... (see bench/lib/net-peer.ts)\n');
    process.exit(2);
}
