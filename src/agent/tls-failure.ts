/**
 * What the agent tells an operator about a TLS failure with the coordinator: the reason's code
 * (Node's and OpenSSL's own names, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE) decides what to fix.
 * Retrying cannot help with any of them until someone changes a certificate or a setting.
 */

/** The coordinator's certificate chains to no CA the agent trusts. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** TLS alerts the coordinator sends when it requires a client certificate and this one is missing or not signed by its tlsClientCa. */
const CLIENT_CERTIFICATE_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
]);

/** What to do about a failure with this error code, or undefined when it is no TLS failure (a network error, say). */
export function tlsFailureAdvice(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  if (UNTRUSTED.has(code)) {
    return "the coordinator's certificate is not signed by a CA the agent trusts: give the agent that CA's certificate with --ca-file (caFile, NODEPULSE_CA_FILE)";
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return "the coordinator's certificate is not issued for the host name in the coordinator URL: use a name the certificate holds (its subjectAltName) in --coordinator, or reissue the certificate for this one";
  }
  if (OUT_OF_DATE.has(code)) {
    return "the coordinator's certificate has expired or is not yet valid: renew it on the coordinator (SIGHUP loads the new one) and check both hosts' clocks";
  }
  if (CLIENT_CERTIFICATE_REFUSED.has(code)) {
    return "the coordinator requires a client certificate and refused this agent's (or its absence): give one signed by the coordinator's tlsClientCa with --tls-cert and --tls-key";
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return 'the coordinator does not speak TLS on this port: use an http:// URL, or serve it with tlsCert and tlsKey';
  }
  if (code.startsWith('ERR_SSL_')) {
    return "check the TLS settings of both sides (the agent's --ca-file, --tls-cert, --tls-key; the coordinator's tlsCert, tlsKey, tlsClientCa)";
  }
  return undefined;
}
