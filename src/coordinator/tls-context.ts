/**
 * The coordinator's TLS: which files its config names, what they hold (read at start and on every
 * SIGHUP), the https server options made of them, and the cleartext warning. Keys are read here
 * and handed to Node's TLS; nothing logs them, only their paths and the certificate's public facts.
 */
import type { ServerOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import { ConfigError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { type KeyPair, keyPairPaths, readCertificates, readKeyPair } from '../shared/tls-files.ts';
import type { CoordinatorConfig } from './config.ts';

export interface TlsFiles {
  certPath: string;
  keyPath: string;
  /** With it, every client must present a certificate signed by one of its CAs. */
  clientCaPath?: string | undefined;
}

export interface TlsContext extends KeyPair {
  /** The client CA bundle (PEM), when client certificates are required. */
  clientCa?: Buffer | undefined;
}

/** The files the config names and what they held when last read. */
export interface CoordinatorTls {
  files: TlsFiles;
  context: TlsContext;
}

type TlsConfig = Pick<CoordinatorConfig, 'tlsCert' | 'tlsKey' | 'tlsClientCa'>;

/** The config's TLS, read and checked, or undefined for plain HTTP; throws ConfigError naming the key and file. */
export function loadTls(config: TlsConfig): CoordinatorTls | undefined {
  const files = tlsFilesOf(config);
  return files && { files, context: readTlsContext(files) };
}

/** The TLS files of the config, or undefined for plain HTTP; tlsCert and tlsKey come together, tlsClientCa only with them. */
function tlsFilesOf(config: TlsConfig): TlsFiles | undefined {
  const pair = keyPairPaths('tlsCert', config.tlsCert, 'tlsKey', config.tlsKey);
  if (!pair && config.tlsClientCa) throw new ConfigError(['tlsClientCa: client certificates need TLS: give tlsCert and tlsKey too']);
  return pair && { ...pair, clientCaPath: config.tlsClientCa };
}

/** Reads and checks every file (a certificate and its key that belong together, a client CA bundle); throws ConfigError naming the file. */
function readTlsContext(files: TlsFiles): TlsContext {
  const pair = readKeyPair('tlsCert', files.certPath, 'tlsKey', files.keyPath);
  const clientCa = files.clientCaPath ? readCertificates('tlsClientCa', files.clientCaPath, 'a PEM CA bundle').pem : undefined;
  return { ...pair, clientCa };
}

/** What Node's TLS takes as its secure context, at start and on reload. */
function secureContextOptions(context: TlsContext): { cert: Buffer; key: Buffer; ca?: Buffer } {
  return { cert: context.cert, key: context.key, ...(context.clientCa ? { ca: context.clientCa } : {}) };
}

/** The https server's TLS options: with a client CA, a handshake without a certificate it signed is refused. */
export function httpsServerOptions(context: TlsContext): ServerOptions {
  const mutual = context.clientCa !== undefined;
  return { ...secureContextOptions(context), requestCert: mutual, rejectUnauthorized: mutual };
}

/** Logs the certificate now in force by its public facts (never the key), and warns when clients will refuse it for its dates. */
export function logCertificate(logger: Logger, message: string, { files, context }: CoordinatorTls): void {
  const { leaf } = context;
  logger.info(message, { cert: files.certPath, subject: leaf.subject, validTo: leaf.validTo, fingerprint256: leaf.fingerprint256, clientCa: files.clientCaPath });
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now || Date.parse(leaf.validFrom) > now) {
    logger.warn(`the certificate in ${files.certPath} is valid from ${leaf.validFrom} to ${leaf.validTo} only: clients will refuse it`);
  }
}

/**
 * SIGHUP: reads the files again and hands new handshakes the new certificate; connections already
 * open keep theirs. A pair that does not load is logged and the one in force stays.
 */
export function reloadTls(server: TlsServer, files: TlsFiles, logger: Logger): void {
  let context: TlsContext;
  try {
    context = readTlsContext(files);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    logger.error('TLS reload failed; the certificate in force stays', { problems: error.problems });
    return;
  }
  server.setSecureContext(secureContextOptions(context));
  logCertificate(logger, 'TLS certificate reloaded', { files, context });
}

/** Loopback addresses and `localhost`: only this host can connect to them. */
export function isLoopbackHost(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  return address === '::1' || /^::ffff:127\./.test(address);
}

/** The start-up warning for a coordinator other hosts can reach over plain HTTP, or undefined. */
export function cleartextWarning(host: string, tls: boolean): string | undefined {
  if (tls || isLoopbackHost(host)) return undefined;
  return (
    `listening on ${host} without TLS: bearer tokens (enroll, admin, node tokens) cross the network in cleartext. ` +
    'Serve HTTPS with tlsCert and tlsKey (--tls-cert, --tls-key), or listen on 127.0.0.1 behind a proxy that terminates TLS'
  );
}
