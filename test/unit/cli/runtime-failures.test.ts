import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unknownCommand } from '../../../src/cli/run-cli.ts';
import { listenFailure, storeOpenFailure } from '../../../src/cli/runtime-failures.ts';
import { storeDescription } from '../../../src/cli/store-access.ts';
import { makeTempDir, removeTempDirs } from '../../helpers/spawn-process.ts';

afterEach(removeTempDirs);

const listenError = (code: string) => Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen' });

describe('a listen that fails', () => {
  it('names the address and the settings that choose it, exit 78', () => {
    const busy = listenFailure(listenError('EADDRINUSE'), { host: '::1', port: 8420 });
    expect(busy?.exitCode).toBe(78);
    expect(busy?.message).toBe(
      'cannot listen: [::1]:8420 is already in use (another coordinator, or another program, listens there): stop it, or choose another port with --port (port: in the config file, NODEPULSE_PORT)',
    );
    expect(listenFailure(listenError('EACCES'), { host: '0.0.0.0', port: 80 })?.message).toMatch(/0\.0\.0\.0:80 is not permitted .*CAP_NET_BIND_SERVICE.*--port/);
    expect(listenFailure(listenError('EADDRNOTAVAIL'), { host: '10.9.9.9', port: 8420 })?.message).toMatch(/10\.9\.9\.9 is not an address of this host: choose another with --host/);
  });

  it('leaves other errors alone', () => {
    expect(listenFailure(new Error('boom'), { host: '127.0.0.1', port: 1 })).toBeUndefined();
    expect(listenFailure(Object.assign(new Error('x'), { code: 'ECONNRESET', syscall: 'read' }), { host: '127.0.0.1', port: 1 })).toBeUndefined();
  });
});

describe('a SQLite store that cannot be opened', () => {
  it('names the path and why, exit 73: a file where its directory should be', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'file'), '');
    const failure = storeOpenFailure(Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' }), join(dir, 'file', 'nodepulse.db'));
    expect(failure?.exitCode).toBe(73);
    expect(failure?.message).toBe(
      `cannot open the SQLite store ${join(dir, 'file', 'nodepulse.db')}: ${join(dir, 'file')} is a file, not a directory. ` +
        "Fix the directory's owner or mode, or point --store (store: in the config file, NODEPULSE_STORE) elsewhere",
    );
  });

  it('a directory where the file should be, and better-sqlite3’s own "unable to open database file"', () => {
    const dir = makeTempDir();
    mkdirSync(join(dir, 'nodepulse.db'));
    const failure = storeOpenFailure(Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' }), join(dir, 'nodepulse.db'));
    expect(failure?.message).toContain(`: ${join(dir, 'nodepulse.db')} is a directory, not a database file.`);
  });

  it('a directory deeper than one that exists, under a file', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'file'), '');
    const failure = storeOpenFailure(Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' }), join(dir, 'file', 'a', 'b', 'nodepulse.db'));
    expect(failure?.message).toContain(`its directory ${join(dir, 'file', 'a', 'b')} cannot exist: ${join(dir, 'file')} is a file, not a directory`);
  });

  it('is none of these for PostgreSQL or an unrelated error', () => {
    expect(storeOpenFailure(Object.assign(new Error('x'), { code: 'EACCES' }), 'postgres://u:p@db/np')).toBeUndefined();
    expect(storeOpenFailure(new Error('SQLITE_CORRUPT'), join(makeTempDir(), 'nodepulse.db'))).toBeUndefined();
  });
});

describe('the store an operator command names', () => {
  it('is the absolute SQLite path, or the PostgreSQL URL without its password', () => {
    expect(storeDescription('postgres://nodepulse:s3cret@db.internal:5432/np?sslmode=require')).toBe('postgres://nodepulse@db.internal:5432/np?sslmode=require');
    expect(storeDescription('postgresql://db/np?password=s3cret')).toBe('postgresql://db/np');
    expect(storeDescription('data/nodepulse.db')).toBe(join(process.cwd(), 'data', 'nodepulse.db'));
  });
});

describe('an unknown command', () => {
  it('is named with the command line that has it', () => {
    expect(unknownCommand('Unknown command: lst', ['instances', 'lst'])).toEqual({ word: '"lst"', parent: 'nodepulse instances' });
    expect(unknownCommand('Unknown commands: frob, x', ['frob', 'x'])).toEqual({ word: '"frob"', parent: 'nodepulse' });
    expect(unknownCommand('Unknown command: extra', ['tokens', 'create', '--role', 'admin', 'extra'])).toEqual({ word: '"extra"', parent: 'nodepulse tokens create' });
    expect(unknownCommand('Missing required argument: role', ['tokens', 'create'])).toBeUndefined();
  });
});
