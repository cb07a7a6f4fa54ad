// Socket failures between guests: refused connects, half-close, reset, EPIPE,
// a peer stopped or trapped while the other side waits, a full backlog; the
// socket table is empty after each.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Layer } from '../../src/api/layer.js';
import { lines } from '../helpers/cli.js';
import { runGuests, type GuestSpec, type GuestRun } from '../helpers/net.js';

/** Runs guests on a fresh layer; asserts the table is empty afterwards. */
async function onLayer(guests: GuestSpec[]): Promise<GuestRun[]> {
  const layer = new Layer();
  try {
    const runs = await runGuests(layer, guests);
    assert.deepEqual(layer.sockets(), [], 'the socket table is empty after the run');
    return runs;
  } finally {
    layer.close();
  }
}

/** One sock_errors guest named "self" running MODE; its stdout lines. */
async function single(mode: string): Promise<string[]> {
  const [g] = await onLayer([{ name: 'self', module: 'sock_errors', args: [mode, '7300'], timeoutMs: 20_000 }]);
  assert.equal(g!.result.exitCode, 0, g!.out);
  return lines(g!.out);
}

describe('socket errors', () => {
  it('connect where nobody listens: ECONNREFUSED (loopback and own name), and the socket may try again', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('refused'), [
      'connect 127.0.0.1: ECONNREFUSED',
      'again: ECONNREFUSED',
      'connect own name: ECONNREFUSED',
    ]);
  });

  it('connect to another guest where nobody listens: ECONNREFUSED', { timeout: 30_000 }, async () => {
    const [, client] = await onLayer([
      { name: 'idle', module: 'hello' },
      { name: 'client', module: 'nb_check', args: ['connect-to', 'idle', '9'] },
    ]);
    // nb_check connects non-blocking: the refusal comes straight back from connect.
    assert.match(client!.out, /^connect: ECONNREFUSED$/m);
  });

  it('half-close: after shutdown(WR) the server reads to EOF, then still replies, and the client reads it', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('halfclose'), [
      'client send after shutdown(WR): EPIPE',
      'server recv: 8 bytes: question',
      'server recv: EOF',
      'server send: ok',
      'client recv: 6 bytes: answer',
      'client recv: EOF',
    ]);
  });

  it('the peer closes with unread data: ECONNRESET on the other side', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('reset'), ['client recv: ECONNRESET']);
  });

  it('the peer closes: EOF, then send fails with EPIPE', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('epipe'), ['client recv: EOF', 'client send: EPIPE']);
  });

  it('after shutdown(RD) the socket can still send', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('shutrd'), ['client send after shutdown(RD): ok', 'server recv: 10 bytes: still here']);
  });

  it('a full backlog refuses further connects until one is accepted', { timeout: 30_000 }, async () => {
    assert.deepEqual(await single('backlog'), [
      'connect 1: ok',
      'connect 2: ok',
      'connect 3: ECONNREFUSED',
      'connect 4 after one accept: ok',
    ]);
  });
});

describe('a peer that stops', () => {
  it('stopped by its time limit while the client is blocked in recv: the client reads EOF and exits 0', { timeout: 30_000 }, async () => {
    const [server, client] = await onLayer([
      { name: 'server', module: 'sock_errors', args: ['hold', '7400'], timeoutMs: 1500 },
      { name: 'client', module: 'sock_errors', args: ['wait', 'server', '7400'], timeoutMs: 20_000 },
    ]);
    assert.equal(server!.result.outcome.kind, 'limit');
    assert.deepEqual(lines(server!.out), ['listening on 7400', 'accepted']);
    assert.equal(client!.result.exitCode, 0, client!.out);
    const out = lines(client!.out);
    assert.equal(out[0], 'connected');
    assert.match(out[1]!, /^recv: (EOF|ECONNRESET)$/);
  });

  it('that traps while the client is blocked in recv: the client reads EOF and exits 0', { timeout: 30_000 }, async () => {
    const [server, client] = await onLayer([
      { name: 'server', module: 'sock_errors', args: ['trap', '7400'], timeoutMs: 20_000 },
      { name: 'client', module: 'sock_errors', args: ['wait', 'server', '7400'], timeoutMs: 20_000 },
    ]);
    assert.equal(server!.result.outcome.kind, 'trap');
    assert.equal(server!.result.exitCode, 101);
    assert.equal(client!.result.exitCode, 0, client!.out);
    assert.match(client!.out, /^connected\nrecv: (EOF|ECONNRESET)\n$/);
  });
});
