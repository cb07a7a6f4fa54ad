// Who is asking: the proof a control client gives of being the user who
// started the layer. Node cannot read a Unix socket peer's credentials
// (SO_PEERCRED), and the socket's file mode is only a first fence (root, or a
// descriptor handed on, gets past it), so each request names a proof file:
// the client creates it (exclusively, mode 0600) in the private runtime
// directory with a random token inside, and sends its name and the token.
// The server opens it without following links and accepts only a regular,
// single-link file owned by the server's own uid, private to it, holding
// exactly that token, and deletes it, so a proof serves one request.
// Only the user (or root) can create files in that directory, only a file's
// creator (or root) gets it owned by the user, and only a reader of the file
// or its writer knows the token: a peer passing all three is the user.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { myUid } from './runtime-dir.js';

const NAME = /^proof-[0-9a-f]{32}$/;
const TOKEN = /^[0-9a-f]{64}$/;
const TOKEN_BYTES = 64;

export interface Proof {
  name: string;
  token: string;
  /** Deletes the file if the server has not (it may never have read it). */
  remove(): void;
}

/** Writes a fresh proof into `dir`, the checked private runtime directory. */
export function writeProof(dir: string): Proof {
  const name = `proof-${crypto.randomBytes(16).toString('hex')}`;
  const token = crypto.randomBytes(TOKEN_BYTES / 2).toString('hex');
  const file = path.join(dir, name);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeSync(fd, token);
  } finally {
    fs.closeSync(fd);
  }
  return { name, token, remove: () => fs.rmSync(file, { force: true }) };
}

/** Why the proof (`name`, `token`, as the peer sent them) is refused, or undefined if it holds. Consumes a proof file of this user. */
export function checkProof(dir: string, name: unknown, token: unknown): string | undefined {
  if (typeof name !== 'string' || !NAME.test(name) || typeof token !== 'string' || !TOKEN.test(token)) {
    return 'no proof of identity';
  }
  const file = path.join(dir, name);
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in its place must not hold the server.
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return 'proof of identity not found';
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1 || st.uid !== myUid() || (st.mode & 0o077) !== 0 || st.size !== TOKEN_BYTES) {
      return 'proof of identity not made by this user';
    }
    // Used once, match or not: a guessed token gets one try per file.
    fs.unlinkSync(file);
    const held = Buffer.alloc(TOKEN_BYTES);
    if (fs.readSync(fd, held, 0, TOKEN_BYTES, 0) !== TOKEN_BYTES || !crypto.timingSafeEqual(held, Buffer.from(token))) {
      return 'proof of identity does not match';
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}
