// Serving certificates for the secure metrics endpoint: a certificate and key read from files
// (re-read when they change, as controller-runtime's certwatcher does, so cert-manager can rotate
// them), or, without files, a self-signed certificate made at start-up as controller-runtime
// does. node:crypto makes keys and signatures but no X.509 certificates, and the image carries
// no openssl binary, so the certificate is assembled here: a minimal DER encoder for the one
// structure needed (RFC 5280), signed with ECDSA P-256 by node:crypto.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Clock, Timer } from './clock.ts';
import { noopLogger, type Logger } from './logger.ts';

export interface CertificateAndKey {
  /** PEM. */
  cert: string;
  /** PEM. */
  key: string;
}

// --- DER, just enough for a certificate ---

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...items: Buffer[]) => der(0x30, ...items);
const set = (...items: Buffer[]) => der(0x31, ...items);
const octetString = (b: Buffer) => der(0x04, b);
const utf8String = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b: Buffer) => der(0x03, Buffer.from([0]), b);
const boolean = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0]));
/** [n] EXPLICIT, constructed. */
const explicit = (n: number, inner: Buffer) => der(0xa0 | n, inner);

/** A non-negative INTEGER from big-endian bytes (a leading 0 keeps it positive). */
function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/** UTCTime through 2049, GeneralizedTime after, as RFC 5280 4.1.2.5 requires. */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z'; // 20260102030405Z
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(digits.slice(2), 'ascii')) : der(0x18, Buffer.from(digits, 'ascii'));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // Expand "::" and any embedded IPv4 tail into eight 16-bit groups.
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const OID = {
  commonName: '2.5.4.3',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const extension = (id: string, critical: boolean, value: Buffer) => sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

export interface SelfSignedOptions {
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for. */
  hosts: string[];
  notBefore?: Date;
  /** Default one year, as client-go's GenerateSelfSignedCertKey. */
  validDays?: number;
}

/**
 * A self-signed serving certificate (ECDSA P-256, SHA-256) for the given host names and IPs:
 * not a CA, keyUsage digitalSignature, extKeyUsage serverAuth. Clients either skip verification
 * (Prometheus' insecure_skip_verify, as kubebuilder's scaffold does) or pin this certificate.
 */
export function selfSignedCertificate(opts: SelfSignedOptions): CertificateAndKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // Backdated a little, so a client whose clock lags does not see a certificate from the future.
  const notBefore = opts.notBefore ?? new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(notBefore.getTime() + (opts.validDays ?? 365) * 86_400_000);
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(opts.commonName))));
  const altNames = opts.hosts.map((h) => (isIP(h) ? der(0x87, ipBytes(h)) : der(0x82, Buffer.from(h, 'ascii'))));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and exactly 16 bytes
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  // The key identifier as RFC 5280 4.2.1.2 (1) suggests: SHA-1 of the public key bits.
  const publicKeyBits = spki.subarray(spki.length - 65);
  const tbs = sequence(
    explicit(0, der(0x02, Buffer.from([2]))), // v3
    unsignedInteger(serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(
      3,
      sequence(
        extension(OID.basicConstraints, true, sequence()),
        extension(OID.keyUsage, true, der(0x03, Buffer.from([7, 0x80]))), // digitalSignature
        extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
        extension(OID.subjectKeyIdentifier, false, octetString(createHash('sha1').update(publicKeyBits).digest())),
        ...(altNames.length ? [extension(OID.subjectAltName, false, sequence(...altNames))] : []),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey); // DER Ecdsa-Sig-Value
  const certificate = sequence(tbs, algorithm, bitString(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Parsed back by OpenSSL (through node:crypto): a malformed encoding fails here, at start-up.
  const parsed = new X509Certificate(cert);
  if (!parsed.verify(publicKey) || !parsed.checkPrivateKey(privateKey)) throw new Error('self-signed certificate does not verify');
  return { cert, key };
}

export interface CertificateFiles {
  /** Directory holding the certificate and key (a mounted kubernetes.io/tls Secret). */
  dir: string;
  certName: string;
  keyName: string;
}

/** Reads a certificate and key and checks that they belong together. */
export function readCertificateFiles(files: CertificateFiles): CertificateAndKey {
  const certPath = join(files.dir, files.certName);
  const keyPath = join(files.dir, files.keyName);
  const cert = readFileSync(certPath, 'utf8');
  const key = readFileSync(keyPath, 'utf8');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${certPath}: not a PEM certificate: ${(err as Error).message}`);
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new Error(`${keyPath}: not a PEM private key: ${(err as Error).message}`);
  }
  if (!matches) throw new Error(`${keyPath} is not the key of ${certPath}`);
  return { cert, key };
}

/**
 * Watches certificate files by re-reading them every intervalMs (a Secret volume swaps a symlink,
 * which inotify-based watching misses unless it watches the directory; polling two small files
 * is simpler and as quick as the kubelet's own sync). onChange gets each new, valid pair; a pair
 * caught half-written (certificate and key not matching) is skipped until the next poll.
 */
export function watchCertificateFiles(
  files: CertificateFiles,
  onChange: (pair: CertificateAndKey) => void,
  opts: { clock: Clock; intervalMs?: number; logger?: Logger; initial: CertificateAndKey },
): { stop(): void } {
  const log = opts.logger ?? noopLogger;
  const fingerprint = (p: CertificateAndKey) => createHash('sha256').update(p.cert).update('\0').update(p.key).digest('hex');
  let current = fingerprint(opts.initial);
  let timer: Timer | undefined;
  let stopped = false;
  const poll = () => {
    if (stopped) return;
    try {
      const pair = readCertificateFiles(files);
      const next = fingerprint(pair);
      if (next !== current) {
        current = next;
        onChange(pair);
        log.info({ dir: files.dir }, 'metrics serving certificate reloaded');
      }
    } catch (err) {
      log.warn({ err, dir: files.dir }, 'metrics serving certificate not reloaded; keeping the current one');
    }
    timer = opts.clock.setTimeout(poll, opts.intervalMs ?? 10_000);
    (timer as unknown as { unref?: () => void }).unref?.();
  };
  timer = opts.clock.setTimeout(poll, opts.intervalMs ?? 10_000);
  (timer as unknown as { unref?: () => void }).unref?.();
  return {
    stop() {
      stopped = true;
      opts.clock.clearTimeout(timer);
    },
  };
}
