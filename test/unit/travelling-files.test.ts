// Which descriptors travel in a snapshot and how they come back
// (src/enclave/travelling-files.ts), on real host directories and tables:
// positions, flags, rights, duplicates sharing one position, close-on-exec,
// closed standard streams; what refuses a suspension (a pipe, a tmpfs file,
// a file renamed while open) and what refuses a resume.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CapsuleError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { DIRECTORY_RIGHTS, FILE_RIGHTS, FdFlags, OFlags, READ_ONLY_INHERITING, Rights, WRITE_RIGHTS } from '../../src/core/witx.js';
import { describeDescriptors, relativeToMount, reopenDescriptors, underMount, type DescriptorView, type TravellingFiles } from '../../src/enclave/travelling-files.js';
import { HostDir } from '../../src/host/fs.js';
import { Descriptor } from '../../src/layer/descriptor.js';
import { FdTable } from '../../src/layer/fdtable.js';
import { DirectoryDescriptor } from '../../src/layer/fs/directory.js';
import { FileDescriptor } from '../../src/layer/fs/file.js';
import { Listings } from '../../src/layer/fs/listing.js';
import { MemDir } from '../../src/layer/fs/memfs.js';
import { makePipe } from '../../src/layer/pipe.js';
import { policyRefusal } from '../../src/snapshot/file-grants.js';
import type { SealedGuestState } from '../../src/snapshot/payload.js';
import { tempDir, type TempDir } from '../helpers/cli.js';

let dir: TempDir;
before(() => { dir = tempDir('capsule-travel-'); });
after(() => dir.cleanup());

class Stream extends Descriptor {
  readonly filetype = 0;
}

/** A guest's table as the enclave makes it: three streams, then one root per mount. */
function view(mounts: { host?: string; guest: string; readOnly?: boolean }[], maxFds = 64): DescriptorView {
  const fds = new FdTable(maxFds);
  const stdio = [new Stream(0, 0), new Stream(0, 0), new Stream(0, 0)];
  stdio.forEach((d, i) => fds.set(i, d));
  const listings = new Listings();
  const roots = mounts.map((m) => {
    const node = m.host !== undefined ? HostDir.openRoot(m.host, m.readOnly === true, m.guest) : MemDir.create(1 << 20, m.guest);
    const root = m.readOnly
      ? new DirectoryDescriptor(node, DIRECTORY_RIGHTS & ~WRITE_RIGHTS, READ_ONLY_INHERITING, m.guest, { read: 0, written: 0 }, listings)
      : new DirectoryDescriptor(node, DIRECTORY_RIGHTS, DIRECTORY_RIGHTS | FILE_RIGHTS, m.guest, { read: 0, written: 0 }, listings);
    if (m.readOnly) root.readOnlyMount = m.guest;
    fds.add(root);
    return root;
  });
  return { fds, stdio, roots, tmpfs: mounts.map((m) => m.host === undefined) };
}

const READ = Rights.FD_READ | Rights.FD_SEEK | Rights.FD_TELL | Rights.FD_FDSTAT_SET_FLAGS;
const WRITE = READ | Rights.FD_WRITE;

function open(v: DescriptorView, root: number, p: string, rights: number, oflags = 0, fdflags = 0): number {
  return v.fds.add(v.roots[root]!.open(p, { follow: true, oflags, rightsBase: rights, rightsInheriting: rights, fdflags }));
}

/** Through JSON, as the sealed state travels. */
function sealed(files: TravellingFiles): Pick<SealedGuestState, 'name' | 'files' | 'closed'> {
  return JSON.parse(JSON.stringify({ name: 'g', ...files })) as Pick<SealedGuestState, 'name' | 'files' | 'closed'>;
}

describe('travelling files', () => {
  it('guest paths relative to their mount, whatever the spelling', () => {
    assert.equal(relativeToMount('/data/./a//b/../c', '/data'), 'a/c');
    assert.equal(relativeToMount('/data', '/data/'), '.');
    assert.equal(relativeToMount('/x/y', '/'), 'x/y');
    assert.equal(relativeToMount('/', '/'), '.');
    assert.ok(underMount('/data/x', '/data'));
    assert.ok(!underMount('/database/x', '/data'));
    assert.ok(underMount('/anything', '/'));
  });

  it('files come back at their numbers with position, flags and rights; a duplicate shares one position; close-on-exec and closed streams too', () => {
    const host = path.join(dir.path, 'a');
    fs.mkdirSync(path.join(host, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(host, 'in.txt'), '0123456789abcdef');
    const v = view([{ host, guest: '/data' }]);
    const inFd = open(v, 0, './in.txt', READ, 0, FdFlags.NONBLOCK);
    const outFd = open(v, 0, 'sub/../out.txt', WRITE, OFlags.CREAT | OFlags.TRUNC, FdFlags.APPEND);
    const subFd = open(v, 0, 'sub', DIRECTORY_RIGHTS, OFlags.DIRECTORY);
    v.fds.get(inFd).seek(5n, 0);
    v.fds.get(outFd).write([Buffer.from('hello ')]);
    const dupFd = v.fds.addFrom(20, v.fds.get(inFd));
    v.fds.setFlagsExt(dupFd, 1);
    v.fds.close(0);
    const files = describeDescriptors(v);
    assert.ok(typeof files !== 'string', String(files));
    assert.deepEqual(files.closed, [0]);
    const byFd = new Map(files.files.map((f) => [f.fd, f]));
    assert.deepEqual({ ...byFd.get(inFd), rightsInheriting: undefined }, {
      fd: inFd, kind: 'file', path: '/data/in.txt', mount: '/data', position: '5', fdflags: FdFlags.NONBLOCK, oflags: 0, follow: true,
      rightsBase: String(READ), rightsInheriting: undefined,
    });
    const out = byFd.get(outFd)!;
    assert.equal(out.dupOf === undefined ? out.path : undefined, '/data/out.txt');
    const sub = byFd.get(subFd)!;
    assert.equal(sub.dupOf === undefined ? sub.kind : undefined, 'directory');
    assert.deepEqual(byFd.get(dupFd), { fd: dupFd, dupOf: inFd, flagsExt: 1 });

    // The resumed enclave: its own table, the same mount, the files put back.
    const w = view([{ host, guest: '/data' }]);
    reopenDescriptors(w, sealed(files));
    assert.equal(w.fds.peek(0), undefined, 'the closed stream stays closed');
    const again = w.fds.get(inFd);
    assert.ok(again instanceof FileDescriptor);
    assert.equal(again.tell(), 5n);
    assert.equal(again.fdflags, FdFlags.NONBLOCK);
    assert.equal(again.rightsBase, READ);
    assert.equal(w.fds.get(dupFd), again, 'the duplicate is the same open file');
    assert.equal(w.fds.flagsExt(dupFd), 1);
    const buf = Buffer.alloc(3);
    w.fds.get(dupFd).read([buf]);
    assert.equal(buf.toString(), '567');
    assert.equal(again.tell(), 8n, 'one position for both numbers');
    w.fds.get(outFd).write([Buffer.from('world')]);
    assert.equal(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'hello world', 'appended, not truncated again');
    assert.ok(w.fds.get(subFd) instanceof DirectoryDescriptor);
    v.fds.closeAll();
    w.fds.closeAll();
  });

  it('a directory comes back with its readdir cookies meaning what they did', () => {
    const host = path.join(dir.path, 'listing');
    fs.mkdirSync(host);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(host, `f${i}`), '');
    const v = view([{ host, guest: '/data' }]);
    const fd = open(v, 0, '.', DIRECTORY_RIGHTS, OFlags.DIRECTORY);
    const d = v.fds.get(fd) as DirectoryDescriptor;
    const all: string[] = [];
    for (let c = 0n; ; c++) {
      const e = d.entryAt(c);
      if (e === undefined) break;
      all.push(e.name);
    }
    assert.equal(all.length, 42);
    // Read part of the way, as a guest suspended mid-listing has.
    for (let c = 0n; c < 17n; c++) d.entryAt(c);
    const files = describeDescriptors(v) as TravellingFiles;
    v.fds.closeAll();
    const w = view([{ host, guest: '/data' }]);
    reopenDescriptors(w, sealed(files));
    const again = w.fds.get(fd) as DirectoryDescriptor;
    const rest: string[] = [];
    for (let c = 17n; ; c++) {
      const e = again.entryAt(c);
      if (e === undefined) break;
      rest.push(e.name);
    }
    assert.deepEqual(rest, all.slice(17), 'the listing goes on from the cookie where it was');
    w.fds.closeAll();
  });

  it('refuses a suspension over what cannot be opened again by path: a pipe, a tmpfs file, a file renamed or removed while open', () => {
    const host = path.join(dir.path, 'b');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'f.txt'), 'x');
    const v = view([{ host, guest: '/data' }, { guest: '/tmp' }]);
    const [r, w] = makePipe();
    const pipeFd = v.fds.add(r);
    v.fds.add(w);
    assert.equal(describeDescriptors(v), `descriptor ${pipeFd} is a pipe: it does not travel in a snapshot`);
    v.fds.close(pipeFd);
    v.fds.close(pipeFd + 1);
    const tmpFd = open(v, 1, 'scratch', WRITE, OFlags.CREAT);
    assert.equal(describeDescriptors(v), `descriptor ${tmpFd} is /tmp/scratch in the tmpfs mount /tmp, whose contents do not travel in a snapshot`);
    v.fds.close(tmpFd);
    const fd = open(v, 0, 'f.txt', READ);
    assert.ok(typeof describeDescriptors(v) !== 'string');
    fs.renameSync(path.join(host, 'f.txt'), path.join(host, 'g.txt'));
    fs.writeFileSync(path.join(host, 'f.txt'), 'another file under the name');
    assert.equal(describeDescriptors(v), `descriptor ${fd} (/data/f.txt) was removed or renamed while open: it does not travel in a snapshot`);
    fs.rmSync(path.join(host, 'f.txt'));
    assert.equal(describeDescriptors(v), `descriptor ${fd} (/data/f.txt) was removed or renamed while open: it does not travel in a snapshot`);
    v.fds.closeAll();
  });

  it('refuses a resume, one line (80), where the file cannot be opened as it was; nothing is left open', () => {
    const host = path.join(dir.path, 'c');
    fs.mkdirSync(host);
    fs.writeFileSync(path.join(host, 'w.txt'), 'data');
    fs.writeFileSync(path.join(host, 'r.txt'), 'data');
    const v = view([{ host, guest: '/data' }]);
    open(v, 0, 'r.txt', READ);
    open(v, 0, 'w.txt', WRITE);
    const files = describeDescriptors(v) as TravellingFiles;
    v.fds.closeAll();
    const state = sealed(files);
    const refused = (w: DescriptorView, pattern: RegExp): void => {
      const before = w.fds.numbers();
      assert.throws(() => reopenDescriptors(w, state), (e: CapsuleError) => {
        assert.equal(e.exitCode, ExitCode.SNAPSHOT_MISMATCH);
        assert.match(e.message, pattern);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
      assert.deepEqual(w.fds.numbers(), before, 'the table is as it was');
      w.fds.closeAll();
    };
    refused(view([{ host, guest: '/data', readOnly: true }]), /^cannot resume g: it had \/data\/w\.txt open \(fd 5\), which was open for writing, and the resume mounts \/data read-only$/);
    assert.equal(policyRefusal('g', state.files, [{ guest: '/data', readOnly: true }])?.message,
      'cannot resume g: it had /data/w.txt open (fd 5), which was open for writing, and the resume mounts /data read-only');
    assert.equal(policyRefusal('g', state.files, [{ guest: '/data', readOnly: false }]), undefined);
    const forged = { ...state, files: state.files.map((f) => (f.dupOf === undefined && f.fd === 4 ? { ...f, path: '/data/../etc/passwd' } : f)) };
    const wf = view([{ host, guest: '/data' }]);
    assert.throws(() => reopenDescriptors(wf, forged), /^CapsuleError: cannot resume g: it had \/data\/\.\.\/etc\/passwd open \(fd 4\), which does not lie below its mount \/data$/);
    wf.fds.closeAll();
    refused(view([{ host, guest: '/other' }]), /^cannot resume g: it had \/data\/r\.txt open \(fd 4\), which lies in the mount \/data, which the resume's policy does not grant$/);
    refused(view([{ host, guest: '/data' }], 5), /^cannot resume g: its descriptor 5 is past the resume's descriptor limit of 5$/);
    fs.rmSync(path.join(host, 'w.txt'));
    fs.mkdirSync(path.join(host, 'w.txt'));
    refused(view([{ host, guest: '/data' }]), /^cannot resume g: it had \/data\/w\.txt open \(fd 5\), which /);
    fs.rmdirSync(path.join(host, 'w.txt'));
    refused(view([{ host, guest: '/data' }]), /^cannot resume g: it had \/data\/w\.txt open \(fd 5\), which no longer exists$/);
    // A read-only mount takes only write rights from a file open for reading.
    fs.writeFileSync(path.join(host, 'w.txt'), 'data');
    const onlyRead = { ...state, files: state.files.filter((f) => f.fd === 4) };
    const ro = view([{ host, guest: '/data', readOnly: true }]);
    reopenDescriptors(ro, onlyRead);
    assert.equal(ro.fds.get(4).rightsBase, READ);
    ro.fds.closeAll();
  });
});
