// An exit waits for control answers under way (a suspension's answer is sent
// just as the sealed run ends), but no longer than its bound.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { answerInFlight, answersSent } from '../../src/api/answers-in-flight.js';

describe('control answers in flight', () => {
  it('answersSent() resolves only once every answer under way is sent', async () => {
    let send!: () => void;
    answerInFlight(new Promise<void>((r) => { send = r; }));
    let done = false;
    const waiting = answersSent(10_000).then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(done, false, 'resolved before the answer was sent');
    send();
    await waiting;
    assert.equal(done, true);
    // Sent answers are forgotten: nothing is waited for now.
    const t = performance.now();
    await answersSent(10_000);
    assert.ok(performance.now() - t < 1000);
  });

  it('an answer that is never sent holds an exit no longer than the bound', async () => {
    answerInFlight(new Promise<void>(() => {}));
    // The bound's timer does not keep a process alive by itself (an exit has its own handles): this test holds one.
    const alive = setTimeout(() => {}, 10_000);
    const t = performance.now();
    await answersSent(100);
    const waited = performance.now() - t;
    clearTimeout(alive);
    assert.ok(waited >= 90 && waited < 5000, `waited ${waited} ms`);
  });
});
