// A denied escape's reason never suggests mounting a system directory, at
// any depth or spelling; a directory of the guest's own keeps its hint.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeReason, isSystemDirectory } from '../../src/layer/fs/escape-hint.js';

const SYSTEM = ['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'root', 'run', 'sbin', 'sys', 'usr', 'var'];

describe('escape hints', () => {
  it('never name a system directory, nor anything below one, nor /', () => {
    for (const top of SYSTEM) {
      for (const dir of [`/${top}`, `/${top}/`, `/${top}/x`, `/${top}/a/b/c`, `//${top}`, `/${top.toUpperCase()}/x`]) {
        assert.ok(isSystemDirectory(dir), dir);
        assert.doesNotMatch(escapeReason(dir), /--dir/, dir);
      }
    }
    for (const dir of ['/', '//', '']) assert.doesNotMatch(escapeReason(dir), /--dir/, JSON.stringify(dir));
  });

  it('name the mount for a directory of the guest\'s own', () => {
    for (const dir of ['/config', '/data2', '/etcetera', '/home/app', '/tmp', '/srv/www']) {
      assert.equal(isSystemDirectory(dir), false, dir);
      assert.equal(escapeReason(dir), `the path leads outside its mount (a mount such as --dir HOST::${dir} would grant it)`);
    }
  });
});
