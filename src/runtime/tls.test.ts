import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { MemoryLogger } from './logger.ts';
import { readCertificateFiles, selfSignedCertificate, watchCertificateFiles, type CertificateAndKey } from './tls.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function certDir(pair: CertificateAndKey): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aimodel-tls-'));
  dirs.push(dir);
  await writeFile(join(dir, 'tls.crt'), pair.cert);
  await writeFile(join(dir, 'tls.key'), pair.key);
  return dir;
}

describe('selfSignedCertificate', () => {
  it('is a self-signed serving certificate for the given names and addresses, valid a year', () => {
    const notBefore = new Date('2026-03-01T12:00:00Z');
    const pair = selfSignedCertificate({ commonName: 'metrics', hosts: ['localhost', 'op-7f9c', '127.0.0.1', '::1', 'fd00::a:1'], notBefore });
    const x509 = new X509Certificate(pair.cert);
    expect(x509.subject).toBe('CN=metrics');
    expect(x509.issuer).toBe('CN=metrics');
    expect(x509.ca).toBe(false);
    expect(x509.subjectAltName).toBe('DNS:localhost, DNS:op-7f9c, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:A:1');
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // extKeyUsage serverAuth
    expect(new Date(x509.validFrom).toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(new Date(x509.validTo).toISOString()).toBe('2027-03-01T12:00:00.000Z');
    expect(x509.verify(createPublicKey(pair.cert))).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(pair.key))).toBe(true);
    expect(x509.checkHost('op-7f9c')).toBe('op-7f9c');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('example.com')).toBeUndefined();
  });

  it('encodes dates from 2050 on as GeneralizedTime, as RFC 5280 requires', () => {
    const pair = selfSignedCertificate({ commonName: 'metrics', hosts: ['localhost'], notBefore: new Date('2049-12-31T00:00:00Z'), validDays: 2 });
    const x509 = new X509Certificate(pair.cert);
    expect(new Date(x509.validFrom).toISOString()).toBe('2049-12-31T00:00:00.000Z');
    expect(new Date(x509.validTo).toISOString()).toBe('2050-01-02T00:00:00.000Z');
  });

  it('makes a new key and serial number each time', () => {
    const a = new X509Certificate(selfSignedCertificate({ commonName: 'metrics', hosts: ['localhost'] }).cert);
    const b = new X509Certificate(selfSignedCertificate({ commonName: 'metrics', hosts: ['localhost'] }).cert);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
  });
});

describe('certificate files', () => {
  it('reads a matching certificate and key, and names the file that is wrong', async () => {
    const pair = selfSignedCertificate({ commonName: 'metrics', hosts: ['localhost'] });
    const dir = await certDir(pair);
    expect(readCertificateFiles({ dir, certName: 'tls.crt', keyName: 'tls.key' })).toEqual(pair);
    await writeFile(join(dir, 'tls.key'), selfSignedCertificate({ commonName: 'other', hosts: ['localhost'] }).key);
    expect(() => readCertificateFiles({ dir, certName: 'tls.crt', keyName: 'tls.key' })).toThrow(`${join(dir, 'tls.key')} is not the key of ${join(dir, 'tls.crt')}`);
    await writeFile(join(dir, 'tls.crt'), 'garbage');
    expect(() => readCertificateFiles({ dir, certName: 'tls.crt', keyName: 'tls.key' })).toThrow(/tls\.crt: not a PEM certificate/);
    expect(() => readCertificateFiles({ dir, certName: 'missing.crt', keyName: 'tls.key' })).toThrow(/ENOENT/);
  });

  it('reports a rotated pair once, and skips a half-written one until it is whole', async () => {
    const first = selfSignedCertificate({ commonName: 'first', hosts: ['localhost'] });
    const second = selfSignedCertificate({ commonName: 'second', hosts: ['localhost'] });
    const dir = await certDir(first);
    const clock = new FakeClock();
    const logger = new MemoryLogger();
    const seen: string[] = [];
    const watcher = watchCertificateFiles({ dir, certName: 'tls.crt', keyName: 'tls.key' }, (p) => seen.push(new X509Certificate(p.cert).subject), { clock, logger, initial: first });
    clock.advance(10_000);
    expect(seen).toEqual([]);
    await writeFile(join(dir, 'tls.crt'), second.cert); // the key is still the old one
    clock.advance(10_000);
    expect(seen).toEqual([]);
    expect(logger.records.some((r) => r.level === 'warn')).toBe(true);
    await writeFile(join(dir, 'tls.key'), second.key);
    clock.advance(10_000);
    clock.advance(10_000);
    expect(seen).toEqual(['CN=second']);
    watcher.stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});
