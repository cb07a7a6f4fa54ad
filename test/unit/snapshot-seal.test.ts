// Sealed snapshots (src/snapshot): what is written reads back only whole and
// only with its key. Every header field, one byte in each chunk, a cut at ten
// points, moved chunks, trailing data, a wrong key: each refused with one
// line and exit code 79 before a byte of plaintext is handed on.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import {
  CHUNK_HEAD_BYTES, MAGIC, TAG_BYTES, fileKey, headerPrefix, keyCheck, nonce, chunkHead, canonicalJson, type SnapshotHeader,
} from '../../src/snapshot/format.js';
import { layout } from '../helpers/snapshot-layout.js';
import { readSealKeyFile, sealKeyFromEnv } from '../../src/snapshot/key.js';
import { SnapshotWriter } from '../../src/snapshot/seal.js';
import { SnapshotReader } from '../../src/snapshot/unseal.js';
import { CAPSULE_VERSION } from '../../src/version.js';
import { ROOT, tempDir, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-seal-'); });
after(() => dir.cleanup());

const key = crypto.randomBytes(32);
const sealed = { guests: [{ name: 'g', moduleSha256: 'a'.repeat(64) }], policySha256: 'b'.repeat(64) };
const CHUNK = 64 * 1024;

async function seal(file: string, payload: Buffer[], k: Uint8Array = key): Promise<void> {
  const w = SnapshotWriter.create(file, k, { ...sealed, chunkBytes: CHUNK });
  for (const p of payload) await w.append(p);
  await w.finish();
}

async function unseal(file: string, k: Uint8Array = key): Promise<Buffer> {
  const r = await SnapshotReader.open(file, k);
  try {
    const parts: Buffer[] = [];
    for (let c = await r.next(); c !== undefined; c = await r.next()) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  } finally {
    await r.close();
  }
}

async function refused(file: string, pattern: RegExp, code: number = ExitCode.SNAPSHOT_REFUSED, k: Uint8Array = key): Promise<void> {
  await assert.rejects(unseal(file, k), (err: unknown) => {
    assert.ok(err instanceof CapsuleError, String(err));
    assert.equal(err.exitCode, code, err.message);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('sealed snapshots', () => {
  const payload = [crypto.randomBytes(3 * CHUNK + 1234), Buffer.from('state'), crypto.randomBytes(10)];
  const whole = Buffer.concat(payload);
  let good: string;
  before(async () => {
    good = path.join(dir.path, 'good.snap');
    await seal(good, payload);
  });

  it('reads back exactly what was sealed; nothing of it is in the clear', async () => {
    assert.deepEqual(await unseal(good), whole);
    const bytes = fs.readFileSync(good);
    assert.equal(bytes.indexOf(payload[0]!.subarray(100, 132)), -1);
    assert.equal(bytes.indexOf(Buffer.from('state')), -1);
    assert.equal(fs.statSync(good).mode & 0o777, 0o600);
    const r = await SnapshotReader.open(good, key);
    assert.equal(r.header.capsuleVersion, CAPSULE_VERSION);
    assert.deepEqual(r.header.guests, sealed.guests);
    assert.ok(Math.abs(Date.parse(r.header.sealedAt) - Date.now()) < 60_000);
    await r.close();
  });

  it('is written to a temporary file and renamed: an unfinished one leaves nothing', async () => {
    const target = path.join(dir.path, 'unfinished.snap');
    const w = SnapshotWriter.create(target, key, sealed);
    await w.append(crypto.randomBytes(1000));
    assert.equal(fs.existsSync(target), false, 'not under its name before finish');
    assert.ok(fs.existsSync(w.temp));
    await w.abort();
    assert.equal(fs.existsSync(target), false);
    assert.equal(fs.existsSync(w.temp), false);
  });

  it('a process that exits (or is stopped by a signal it handles) while sealing leaves no file under either name', async () => {
    const target = path.join(dir.path, 'exiting', 'x.snap');
    fs.mkdirSync(path.dirname(target));
    const seal = new URL('../../src/snapshot/seal.js', import.meta.url).href;
    const script = `const { SnapshotWriter } = await import(${JSON.stringify(seal)});
      const w = SnapshotWriter.create(${JSON.stringify(target)}, Buffer.alloc(32, 7), { guests: [], policySha256: '${'b'.repeat(64)}' });
      await w.append(Buffer.alloc(1 << 20, 1));
      process.exit(3);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 3, child.stderr);
    assert.deepEqual(fs.readdirSync(path.dirname(target)), []);
  });

  it('refuses the wrong key', async () => {
    await refused(good, /the seal key does not open .*another key/, ExitCode.SNAPSHOT_REFUSED, crypto.randomBytes(32));
  });

  it('refuses a change to any header field', async () => {
    const bytes = fs.readFileSync(good);
    const { headerEnd } = layout(bytes);
    const header = JSON.parse(bytes.subarray(MAGIC.length + 4, headerEnd - TAG_BYTES).toString()) as Record<string, unknown>;
    const changed: Record<string, unknown> = {
      format: 2, capsuleVersion: '9.9.9', sealedAt: new Date(0).toISOString(),
      guests: [{ name: 'g', moduleSha256: 'c'.repeat(64) }], policySha256: 'd'.repeat(64),
      chunkBytes: CHUNK * 2, salt: crypto.randomBytes(16).toString('base64'), keyCheck: keyCheck(crypto.randomBytes(32)),
    };
    assert.deepEqual(Object.keys(changed).sort(), Object.keys(header).sort(), 'every field is tried');
    for (const [field, value] of Object.entries(changed)) {
      const text = Buffer.from(JSON.stringify({ ...header, [field]: value }));
      const len = Buffer.alloc(4);
      len.writeUInt32BE(text.length);
      const file = path.join(dir.path, `field-${field}.snap`);
      fs.writeFileSync(file, Buffer.concat([MAGIC, len, text, bytes.subarray(headerEnd - TAG_BYTES)]));
      await refused(file, field === 'keyCheck' ? /another key/ : /was altered: its header does not authenticate/);
    }
    // A byte of the magic, of the length, of the header text, of its tag.
    for (const at of [3, MAGIC.length + 3, MAGIC.length + 10, headerEnd - 5]) {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 0x01;
      const file = path.join(dir.path, `header-byte-${at}.snap`);
      fs.writeFileSync(file, copy);
      await refused(file, /not a Capsule snapshot|altered|another key|truncated/);
    }
  });

  it('refuses one changed byte in each chunk (its length, its data, its tag)', async () => {
    const bytes = fs.readFileSync(good);
    const { chunks } = layout(bytes);
    assert.equal(chunks.length, 7, 'three full chunks and a partial one, two small writes, the final chunk');
    for (const [i, c] of chunks.entries()) {
      for (const at of [c.start + 4, c.start + CHUNK_HEAD_BYTES + Math.floor(c.length / 2), c.start + CHUNK_HEAD_BYTES + c.length + 3]) {
        if (at >= c.start + CHUNK_HEAD_BYTES && at < c.start + CHUNK_HEAD_BYTES + c.length && c.length === 0) continue;
        const copy = Buffer.from(bytes);
        copy[at]! ^= 0x80;
        const file = path.join(dir.path, `chunk-${i}-${at}.snap`);
        fs.writeFileSync(file, copy);
        await refused(file, new RegExp(`chunk ${i + 1} (does not authenticate|is malformed)`));
      }
    }
  });

  it('refuses a file cut at any of ten points', async () => {
    const bytes = fs.readFileSync(good);
    const { headerEnd, chunks } = layout(bytes);
    const cuts = [0, 5, MAGIC.length + 6, headerEnd - 1, headerEnd, headerEnd + 2, chunks[1]!.start, chunks[2]!.start + 100, chunks.at(-1)!.start, bytes.length - 1];
    assert.equal(new Set(cuts).size, 10);
    for (const cut of cuts) {
      const file = path.join(dir.path, `cut-${cut}.snap`);
      fs.writeFileSync(file, bytes.subarray(0, cut));
      await refused(file, /not a Capsule snapshot|is truncated/);
    }
  });

  it('refuses chunks swapped or dropped, and data after the final chunk', async () => {
    const bytes = fs.readFileSync(good);
    const { headerEnd, chunks } = layout(bytes);
    const span = (i: number): Buffer => bytes.subarray(chunks[i]!.start, chunks[i + 1]?.start ?? bytes.length);
    const head = bytes.subarray(0, headerEnd);
    const rest = (from: number): Buffer[] => chunks.slice(from).map((_, j) => span(from + j));
    const swapped = path.join(dir.path, 'swapped.snap');
    fs.writeFileSync(swapped, Buffer.concat([head, span(1), span(0), ...rest(2)]));
    await refused(swapped, /chunk 1 does not authenticate/);
    const dropped = path.join(dir.path, 'dropped.snap');
    fs.writeFileSync(dropped, Buffer.concat([head, span(0), ...rest(2)]));
    await refused(dropped, /chunk 2 does not authenticate/);
    const trailing = path.join(dir.path, 'trailing.snap');
    fs.writeFileSync(trailing, Buffer.concat([bytes, Buffer.from([0])]));
    await refused(trailing, /data after its final chunk/);
    const missing = path.join(dir.path, 'no-final.snap');
    fs.writeFileSync(missing, bytes.subarray(0, chunks.at(-1)!.start));
    await refused(missing, /truncated: its final chunk is missing/);
  });

  it('frees each chunk\'s plaintext when the next is asked for, and the last when closed (their memory serves the next)', async () => {
    const r = await SnapshotReader.open(good, key);
    try {
      const first = (await r.nextPieces())!;
      assert.deepEqual(Buffer.concat(first), whole.subarray(0, CHUNK));
      assert.ok(first.length >= 1 && first.every((p) => p.byteLength > 0));
      const second = (await r.nextPieces())!;
      assert.ok(first.every((p) => p.byteLength === 0 && p.buffer.byteLength === 0), 'the first chunk\'s pieces are freed');
      assert.deepEqual(Buffer.concat(second), whole.subarray(CHUNK, 2 * CHUNK));
      await r.close();
      assert.ok(second.every((p) => p.buffer.byteLength === 0), 'the last pieces are freed on close');
    } finally {
      await r.close();
    }
  });

  it('passes over chunks by their heads (skip): the next read is the chunk after them; past the final one nothing is left', async () => {
    for (const skipped of [0, 1, 3, 5]) {
      const r = await SnapshotReader.open(good, key);
      try {
        await r.skip(skipped);
        const rest: Buffer[] = [];
        for (let c = await r.next(); c !== undefined; c = await r.next()) rest.push(Buffer.from(c));
        // Chunks 1-3 are full, 4 holds the rest of the first write, 5 and 6 the two small ones.
        const from = [0, CHUNK, 2 * CHUNK, 3 * CHUNK, payload[0]!.length, payload[0]!.length + payload[1]!.length][skipped]!;
        assert.deepEqual(Buffer.concat(rest), whole.subarray(from), `after skipping ${skipped}`);
      } finally {
        await r.close();
      }
    }
    const r = await SnapshotReader.open(good, key);
    await r.skip(50);
    assert.equal(await r.nextPieces(), undefined, 'skipping past the final chunk leaves nothing');
    await r.close();
  });

  it('a skipped chunk whose head was altered leads to a refusal, never to other bytes', async () => {
    const bytes = fs.readFileSync(good);
    const { chunks } = layout(bytes);
    for (const [i, delta] of [[0, -16], [1, 1], [2, 0x01000000]] as const) {
      const copy = Buffer.from(bytes);
      copy.writeUInt32BE(copy.readUInt32BE(chunks[i]!.start) + delta >>> 0, chunks[i]!.start);
      const file = path.join(dir.path, `skip-head-${i}.snap`);
      fs.writeFileSync(file, copy);
      const r = await SnapshotReader.open(file, key);
      await assert.rejects(async () => {
        await r.skip(i + 1);
        for (let c = await r.next(); c !== undefined; c = await r.next()) { /* every chunk must authenticate */ }
      }, (err: unknown) => err instanceof CapsuleError && err.exitCode === ExitCode.SNAPSHOT_REFUSED && /chunk \d+ (does not authenticate|is malformed)|truncated/.test(err.message));
      await r.close();
    }
  });

  it('refuses, with exit code 80, an authentic snapshot of another Capsule version', async () => {
    // Made with the key, as another Capsule version would make it.
    const salt = crypto.randomBytes(16);
    const header: SnapshotHeader = { ...sealed, format: 1, capsuleVersion: '0.0.1', sealedAt: new Date().toISOString(), chunkBytes: CHUNK,
      salt: salt.toString('base64'), keyCheck: keyCheck(key) };
    const headerBytes = Buffer.from(JSON.stringify(header));
    const k = fileKey(key, headerBytes, salt);
    const prefix = headerPrefix(headerBytes);
    const c = crypto.createCipheriv('aes-256-gcm', k, nonce(0));
    c.setAAD(prefix);
    c.final();
    const fin = chunkHead(0, true);
    const c1 = crypto.createCipheriv('aes-256-gcm', k, nonce(1));
    c1.setAAD(fin);
    c1.final();
    const file = path.join(dir.path, 'old.snap');
    fs.writeFileSync(file, Buffer.concat([prefix, c.getAuthTag(), fin, c1.getAuthTag()]));
    await refused(file, /sealed by Capsule 0\.0\.1; this is Capsule/, ExitCode.SNAPSHOT_MISMATCH);
  });

  it('a missing file is 66; something else is "not a snapshot"', async () => {
    await refused(path.join(dir.path, 'none.snap'), /does not exist/, ExitCode.NO_INPUT);
    const other = path.join(dir.path, 'other.snap');
    fs.writeFileSync(other, 'hello world, not a snapshot');
    await refused(other, /not a Capsule snapshot/);
  });
});

describe('seal keys', () => {
  it('reads 32 raw bytes or their base64 from a private file; refuses others\' files and anything else', () => {
    const raw = path.join(dir.path, 'raw.key');
    fs.writeFileSync(raw, key, { mode: 0o600 });
    assert.deepEqual(readSealKeyFile(raw), key);
    const b64 = path.join(dir.path, 'b64.key');
    fs.writeFileSync(b64, key.toString('base64') + '\n', { mode: 0o600 });
    assert.deepEqual(readSealKeyFile(b64), key);
    const open = path.join(dir.path, 'open.key');
    fs.writeFileSync(open, key, { mode: 0o644 });
    fs.chmodSync(open, 0o644);
    assert.throws(() => readSealKeyFile(open), (e: CapsuleError) => e.exitCode === ExitCode.NOT_PRIVATE && /chmod 600/.test(e.message));
    const short = path.join(dir.path, 'short.key');
    fs.writeFileSync(short, 'abc', { mode: 0o600 });
    assert.throws(() => readSealKeyFile(short), (e: CapsuleError) => e.exitCode === ExitCode.USAGE && /is not a key/.test(e.message));
    assert.throws(() => readSealKeyFile(path.join(dir.path, 'nope.key')), (e: CapsuleError) => e.exitCode === ExitCode.NO_INPUT);
  });

  it('reads CAPSULE_SEAL_KEY as base64 of 32 bytes', () => {
    assert.deepEqual(sealKeyFromEnv({ CAPSULE_SEAL_KEY: key.toString('base64') }), key);
    assert.equal(sealKeyFromEnv({}), undefined);
    assert.throws(() => sealKeyFromEnv({ CAPSULE_SEAL_KEY: 'x'.repeat(32) }), /CAPSULE_SEAL_KEY is not a key/);
    assert.throws(() => sealKeyFromEnv({ CAPSULE_SEAL_KEY: crypto.randomBytes(16).toString('base64') }), /CAPSULE_SEAL_KEY is not a key/);
  });

  it('the recorded Capsule version is package.json\'s; canonical JSON does not depend on key order', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(CAPSULE_VERSION, pkg.version);
    assert.equal(canonicalJson({ b: 1, a: [1, { d: Infinity, c: 'x' }] }), canonicalJson({ a: [1, { c: 'x', d: Infinity }], b: 1 }));
  });
});
