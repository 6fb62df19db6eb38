import { describe, expect, it } from 'vitest';
import { isLoopbackHost, isPrivateNetworkHost } from '../src/index.ts';

describe('naming hosts of the operator’s own network', () => {
  it('knows this machine in every spelling', () => {
    for (const host of ['localhost', 'LOCALHOST', '127.0.0.1', '127.9.8.7', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['10.0.0.1', 'localhost.example.com', '128.0.0.1', '::2', 'imap.fastmail.com']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('counts loopback, private, link-local, CGNAT and unique-local addresses and local names as private', () => {
    for (const host of ['169.254.169.254', '100.64.0.1', 'fe80::1', '::ffff:10.0.0.1', 'whisper.svc', 'localhost']) {
      expect(isPrivateNetworkHost(host), host).toBe(true);
    }
    for (const host of ['1.1.1.1', '2606:4700::1111', 'api.groq.com']) {
      expect(isPrivateNetworkHost(host), host).toBe(false);
    }
  });
});
