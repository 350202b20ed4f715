/**
 * Reading the PEM files TLS needs (certificates, CA bundles, private keys) at start or reload, so
 * that a missing, malformed or mismatched file is a config error naming its key and path (exit 78
 * at start), never a raw ENOENT or a handshake failing later. A key's contents never reach an
 * error message: only its path and what is wrong with it.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** A certificate and its private key, as PEM, checked to belong together. */
export interface KeyPair {
  cert: Buffer;
  key: Buffer;
  /** The first certificate of `cert` (the leaf; any others are its chain). */
  leaf: X509Certificate;
}

/** The paths of a certificate and its key: both or neither (`certKey`/`keyKey` name the settings). */
export function keyPairPaths(
  certKey: string,
  certPath: string | undefined,
  keyKey: string,
  keyPath: string | undefined,
): { certPath: string; keyPath: string } | undefined {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath) {
    throw new ConfigError([`${certPath ? keyKey : certKey}: required with ${certPath ? certKey : keyKey} (give both ${certKey} and ${keyKey}, or neither)`]);
  }
  return { certPath, keyPath };
}

function readFor(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError([`${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
}

/** Every certificate of a PEM file (a CA bundle, or a certificate and its chain); `what` names the file's kind in errors. */
export function readCertificates(key: string, path: string, what: string): { pem: Buffer; certificates: X509Certificate[] } {
  const pem = readFor(key, path);
  const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no PEM certificate in it');
    return { pem, certificates: blocks.map((block) => new X509Certificate(block)) };
  } catch (error) {
    throw new ConfigError([`${key}: ${path} is not ${what} (${(error as Error).message})`]);
  }
}

/** A certificate (with its chain) and the private key it was issued for; an encrypted key is refused. */
export function readKeyPair(certKey: string, certPath: string, keyKey: string, keyPath: string): KeyPair {
  const { pem: cert, certificates } = readCertificates(certKey, certPath, 'a PEM certificate');
  const leaf = certificates[0] as X509Certificate;
  const key = readFor(keyKey, keyPath);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    // The key's own error text could quote it; say only what is expected.
    throw new ConfigError([`${keyKey}: ${keyPath} is not an unencrypted PEM private key`]);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new ConfigError([`${keyKey}: ${keyPath} is not the private key of the certificate in ${certPath} (${certKey})`]);
  }
  return { cert, key, leaf };
}
