/**
 * Throwaway certificates for the TLS tests, made with the openssl CLI in a temporary directory:
 * a CA, server certificates for 127.0.0.1 and localhost signed by it (two of them, to swap), one
 * for another host name, an expired one, a self-signed one the CA never saw, and client
 * certificates signed by the CA and by a stranger CA. EC P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The paths of one certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** The CA's certificate: what an agent's --ca-file and the coordinator's --tls-client-ca name. */
  ca: string;
  server: CertFiles;
  /** Another server certificate from the same CA, for 127.0.0.1 too: the one a SIGHUP swaps in. */
  renewed: CertFiles;
  wrongHost: CertFiles;
  expired: CertFiles;
  selfSigned: CertFiles;
  client: CertFiles;
  /** A client certificate signed by a CA the coordinator does not know. */
  strangerClient: CertFiles;
}

const SERVER_NAMES = 'subjectAltName=IP:127.0.0.1,DNS:localhost\n';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): CertFiles {
  openssl(dir, ['req', '-x509', ...EC_KEY, '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

let serial = 1;

/** A certificate for `name` signed by `ca`, with these X.509 extensions, valid for `days` (negative: already expired). */
function issue(dir: string, ca: CertFiles, name: string, extensions: string, days = 2): CertFiles {
  openssl(dir, ['req', '-new', ...EC_KEY, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  serial += 1;
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial), '-days', String(days),
    '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makeTestCertificates(dir: string): TestCertificates {
  const ca = makeCa(dir, 'ca');
  const stranger = makeCa(dir, 'stranger-ca');
  return {
    dir,
    ca: ca.cert,
    server: issue(dir, ca, 'server', SERVER_NAMES),
    renewed: issue(dir, ca, 'renewed', SERVER_NAMES),
    wrongHost: issue(dir, ca, 'wrong-host', 'subjectAltName=DNS:elsewhere.example\n'),
    expired: issue(dir, ca, 'expired', SERVER_NAMES, -1),
    selfSigned: makeCa(dir, 'self-signed'),
    client: issue(dir, ca, 'agent', 'extendedKeyUsage=clientAuth\n'),
    strangerClient: issue(dir, stranger, 'stranger-agent', 'extendedKeyUsage=clientAuth\n'),
  };
}

/** The SHA-256 fingerprint of a certificate file, as Node's getPeerCertificate() spells it. */
export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
