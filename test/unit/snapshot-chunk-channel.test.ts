// A resume's unsealing thread (enclave/unseal-thread.ts) and the channel its
// chunks take to the enclave (snapshot/chunk-channel.ts), run for real: a
// thread reads and decrypts a sealed file while this thread takes the
// chunks as the enclave does. What arrives is exactly what the file holds;
// a chunk that does not authenticate never arrives, and the refusal is the
// reader's own line and exit code; a replaced file is refused; the thread
// holds back when chunks are not taken, and stops when told to.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { receiveMessageOnPort } from 'node:worker_threads';
import { after, before, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { UnsealThread, type UnsealedChunks } from '../../src/enclave/unseal-thread.js';
import { ChunkReceiver, closeReceiving } from '../../src/snapshot/chunk-channel.js';
import { HANDED_OVER, OWN } from '../../src/snapshot/chunk-control.js';
import { SnapshotWriter } from '../../src/snapshot/seal.js';
import { SnapshotReader } from '../../src/snapshot/unseal.js';
import { layout } from '../helpers/snapshot-layout.js';
import { tempDir, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-chunks-'); });
after(() => dir.cleanup());

const key = crypto.randomBytes(32);
const CHUNK = 64 * 1024;
/** Chunks in the test file: more than the channel lets be in flight. */
const CHUNKS = 40;

async function seal(file: string, payload: Buffer): Promise<string> {
  const w = SnapshotWriter.create(file, key, { guests: [{ name: 'g', moduleSha256: 'a'.repeat(64) }], policySha256: 'b'.repeat(64), chunkBytes: CHUNK });
  await w.append(payload);
  await w.finish();
  const r = await SnapshotReader.open(file, key);
  const salt = r.header.salt;
  await r.close();
  return salt;
}

/**
 * Takes every chunk as the enclave does, copying each piece before it is
 * given back; with `own`, the receiver decrypts the first chunks itself.
 * `given`: every piece it was given, to see that none outlives the resume.
 */
async function takeAll(file: string, chunks: UnsealedChunks, own?: SnapshotReader, afterFirst?: () => Promise<void>): Promise<{ got: Buffer[]; here: number; given: Buffer[] }> {
  const receiver = new ChunkReceiver(file, chunks.port, chunks.control);
  if (own) await receiver.decryptFirst(own, own.header.salt);
  const got: Buffer[] = [];
  const given: Buffer[] = [];
  try {
    for (let pieces = await receiver.nextPieces(); pieces !== undefined; pieces = await receiver.nextPieces()) {
      got.push(Buffer.concat(pieces));
      given.push(...pieces);
      if (got.length === 1) await afterFirst?.();
    }
    return { got, here: receiver.decryptedHere, given };
  } finally {
    await receiver.close();
  }
}

function refusal(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof CapsuleError, String(err));
    assert.equal(err.exitCode, ExitCode.SNAPSHOT_REFUSED, err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  };
}

describe('the unsealing thread of a resume', () => {
  const payload = crypto.randomBytes(CHUNKS * CHUNK + 777);

  it('sends every chunk, authenticated and in order, then ends; nothing is left on its way', async () => {
    const file = path.join(dir.path, 'whole.snap');
    const salt = await seal(file, payload);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    const { got, here, given } = await takeAll(file, chunks);
    thread.stop();
    assert.equal(here, 0);
    assert.equal(got.length, CHUNKS + 1);
    assert.ok(Buffer.concat(got).equals(payload));
    // Each chunk went back to the thread (to be zeroed there) once the next was asked for, the last was zeroed here: none is left.
    assert.ok(given.length >= CHUNKS && given.every((p) => p.byteLength === 0), 'no piece outlives the resume');
  });

  it('decrypts the first chunks in the enclave while the thread starts; the thread goes on after them, none twice', async () => {
    const file = path.join(dir.path, 'handover.snap');
    const salt = await seal(file, payload);
    const own = await SnapshotReader.open(file, key);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    // The first is claimed before the thread can have started; then the enclave waits until the thread has taken over.
    const handedOver = async (): Promise<void> => {
      while ((Atomics.load(new Int32Array(chunks.control), OWN) & HANDED_OVER) === 0) await new Promise((r) => setTimeout(r, 2));
    };
    const { got, here, given } = await takeAll(file, chunks, own, handedOver);
    thread.stop();
    assert.equal(here, 1, "the chunk claimed before the thread took over");
    assert.equal(got.length, CHUNKS + 1);
    assert.ok(Buffer.concat(got).equals(payload));
    assert.ok(given.every((p) => p.byteLength === 0), 'no piece outlives the resume');
  });

  it('reads the whole snapshot in the enclave if the thread never takes over (it refused to start)', async () => {
    const file = path.join(dir.path, 'alone.snap');
    await seal(file, payload);
    const own = await SnapshotReader.open(file, key);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, 'another snapshot\'s salt');
    const { got, here } = await takeAll(file, chunks, own);
    thread.stop();
    assert.equal(here, CHUNKS + 1);
    assert.ok(Buffer.concat(got).equals(payload));
  });

  it('does not decrypt in the enclave a file replaced since the host checked it: the thread refuses it', async () => {
    const file = path.join(dir.path, 'replaced-own.snap');
    const checked = await seal(file, payload);
    await seal(file, payload); // sealed again: another salt
    const own = await SnapshotReader.open(file, key);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, checked);
    const receiver = new ChunkReceiver(file, chunks.port, chunks.control);
    assert.equal(await receiver.decryptFirst(own, checked), false);
    await assert.rejects(receiver.nextPieces(), refusal(/was replaced while it was being resumed$/));
    assert.equal(receiver.decryptedHere, 0);
    await receiver.close();
    thread.stop();
  });

  it('refuses a chunk of the enclave\'s own part that does not authenticate, with the reader\'s line', async () => {
    const file = path.join(dir.path, 'own-altered.snap');
    const salt = await seal(file, payload);
    const bytes = fs.readFileSync(file);
    bytes[layout(bytes).chunks[0]!.start + 5 + 9] ^= 1;
    fs.writeFileSync(file, bytes);
    const own = await SnapshotReader.open(file, key);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    await assert.rejects(takeAll(file, chunks, own), refusal(/^'.*own-altered\.snap' was altered: chunk 1 does not authenticate$/));
    thread.stop();
  });

  it('never sends a chunk that does not authenticate: the ones before it arrive, then the reader\'s own refusal', async () => {
    const file = path.join(dir.path, 'altered.snap');
    const salt = await seal(file, payload);
    const bytes = fs.readFileSync(file);
    const altered = 7; // the 8th chunk of the payload (chunk 8 of the file)
    const c = layout(bytes).chunks[altered]!;
    bytes[c.start + 5 + 100] ^= 1;
    fs.writeFileSync(file, bytes);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    const receiver = new ChunkReceiver(file, chunks.port, chunks.control);
    const got: Buffer[] = [];
    await assert.rejects(async () => {
      for (let pieces = await receiver.nextPieces(); pieces !== undefined; pieces = await receiver.nextPieces()) got.push(Buffer.concat(pieces));
    }, refusal(/^'.*altered\.snap' was altered: chunk 8 does not authenticate$/));
    await receiver.close();
    thread.stop();
    assert.equal(got.length, altered);
    assert.ok(Buffer.concat(got).equals(payload.subarray(0, altered * CHUNK)));
  });

  it('refuses a file replaced by another snapshot after the host checked it', async () => {
    const file = path.join(dir.path, 'replaced.snap');
    const salt = await seal(file, payload);
    await seal(file, payload); // sealed again: another salt, another file key
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    await assert.rejects(takeAll(file, chunks), refusal(/was replaced while it was being resumed$/));
    thread.stop();
  });

  it('refuses a file that is gone with the reader\'s line and exit code', async () => {
    const file = path.join(dir.path, 'gone.snap');
    const salt = await seal(file, payload);
    fs.rmSync(file);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    await assert.rejects(takeAll(file, chunks), (err: unknown) => {
      assert.ok(err instanceof CapsuleError);
      assert.equal(err.exitCode, ExitCode.NO_INPUT);
      assert.match(err.message, /does not exist or cannot be read/);
      return true;
    });
    thread.stop();
  });

  it('holds back while its chunks are not taken, and ends when the enclave is done with them', async () => {
    const file = path.join(dir.path, 'held.snap');
    const salt = await seal(file, payload);
    const thread = new UnsealThread();
    const chunks = thread.begin(file, key, salt);
    // Nothing taken: after a while only a few chunks are on their way, far from all of them.
    await new Promise((r) => setTimeout(r, 500));
    const queued: ArrayBuffer[][] = [];
    for (let m = receiveMessageOnPort(chunks.port); m !== undefined; m = receiveMessageOnPort(chunks.port)) queued.push((m.message as { pieces: ArrayBuffer[] }).pieces);
    assert.ok(queued.length >= 1 && queued.length < CHUNKS / 2, `${queued.length} chunks in flight`);
    for (const pieces of queued) for (const ab of pieces) new Uint8Array(ab).fill(0);
    // The enclave gives up: the thread says it sends nothing more, and nothing more comes.
    closeReceiving(chunks.port, chunks.control);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((r) => { timer = setTimeout(() => r('still running'), 5000); });
    assert.equal(await Promise.race([thread.gone.then(() => 'gone'), late]), 'gone');
    clearTimeout(timer);
    thread.stop();
  });
});
