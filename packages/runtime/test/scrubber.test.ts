/** The scrubber's three nets on their own: literal values (and their encodings), run-time scopes, credential shapes. */
import { describe, expect, it } from 'vitest';
import {
  createScrubber,
  providerExcerpt,
  REDACTED,
  redactCredentials,
  secretValuesFromEnv,
  secretVariants,
} from '../src/index.ts';

const R = REDACTED;

describe('redactCredentials', () => {
  it('redacts secret-named parameters of a form body or query string, and keeps the others', () => {
    expect(
      redactCredentials(
        'invalid_request body=grant_type=refresh_token&refresh_token=1%2F%2F0abc-DEF&client_id=cid&client_secret=GOCSPX-xyz',
      ),
    ).toBe(`invalid_request body=grant_type=refresh_token&refresh_token=${R}&client_id=cid&client_secret=${R}`);
    expect(redactCredentials('GET /v1/x?api_key=sk-123&page=2&X-Amz-Signature=abcdef&key=AIzaSy0')).toBe(
      `GET /v1/x?api_key=${R}&page=2&X-Amz-Signature=${R}&key=${R}`,
    );
  });

  it('redacts secret-named members of JSON text', () => {
    expect(redactCredentials('{"access_token":"ya29.a0Af","expires_in":3599,"id_token": "eyJ.x.y"}')).toBe(
      `{"access_token":"${R}","expires_in":3599,"id_token": "${R}"}`,
    );
    expect(redactCredentials('{"error":{"message":"bad","api_key":"sk-ant-\\"q\\"x"}}')).toBe(
      `{"error":{"message":"bad","api_key":"${R}"}}`,
    );
  });

  it('redacts credential headers and bearer tokens, wherever they appear in text', () => {
    expect(redactCredentials('request headers: Authorization: Bearer ya29.a0Af-9, accept: json')).toBe(
      `request headers: Authorization: ${R}, accept: json`,
    );
    expect(redactCredentials('x-api-key: sk-ant-api03-abc; cookie=fleet_session=s1.abc')).toBe(
      `x-api-key: ${R}; cookie=${R}`,
    );
    expect(redactCredentials('sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig to the API')).toBe(
      `sent Bearer ${R} to the API`,
    );
    expect(redactCredentials('postgres://svc:hunter22@db:5432/x')).toBe(`postgres://svc:${R}@db:5432/x`);
  });

  it('leaves ordinary text alone', () => {
    for (const text of [
      'input_tokens=512 output_tokens=40',
      'the bearer of bad news',
      'Bearer token expired',
      'intent=meeting_request&score=80',
      'no secrets here',
    ]) {
      expect(redactCredentials(text)).toBe(text);
    }
  });
});

describe('providerExcerpt', () => {
  it('cuts at a delimiter, never inside a word, so half a secret never survives', () => {
    const key = 'sk-live-0123456789abcdefghij';
    const text = `${'x '.repeat(140)}bad key ${key} rest`;
    const excerpt = providerExcerpt(text, { max: 290 });
    expect(excerpt.endsWith('…')).toBe(true);
    expect(excerpt).not.toContain('sk-live');
    expect(providerExcerpt('{"error":{"message":"refresh_token=abc123 is invalid"}}')).toBe(
      `{"error":{"message":"refresh_token=${R} is invalid"}}`,
    );
  });

  it('redacts the credentials the request carried, in any encoding, whatever their shape', () => {
    const sent = 'sk/live+key-0123';
    expect(
      providerExcerpt(`key ${sent} refused; you sent ${encodeURIComponent(sent)}`, { sent: [sent, undefined] }),
    ).toBe(`key ${R} refused; you sent ${R}`);
  });
});

describe('createScrubber', () => {
  const secret = 'canary/+ secret=1';
  const scrub = createScrubber([secret]);

  it('replaces a secret raw, URL-encoded, form-encoded and base64-encoded', () => {
    const forms = secretVariants(secret);
    expect(forms).toEqual(
      expect.arrayContaining([
        secret,
        encodeURIComponent(secret),
        'canary%2F%2B+secret%3D1',
        Buffer.from(secret).toString('base64'),
      ]),
    );
    for (const form of forms) {
      expect(scrub({ note: `echo: ${form} end` })).toEqual({ note: `echo: ${R} end` });
      expect(scrub.mayContainSecrets(JSON.stringify({ note: form }))).toBe(true);
    }
    expect(scrub.mayContainSecrets('{"workspace_id":"5b1f0c8e","date":"2025-11-17"}')).toBe(false);
  });

  it('replaces base64 words that decode to something holding a secret (Basic credentials, SASL PLAIN)', () => {
    const basic = Buffer.from(`client-id:${secret}`).toString('base64');
    const plain = Buffer.from(`\0user@acme.test\0${secret}`).toString('base64');
    const form = Buffer.from(`refresh_token=${encodeURIComponent(secret)}`).toString('base64url');
    expect(scrub(`Authorization: Basic ${basic}`)).toBe(`Authorization: ${R}`);
    expect(scrub(`a2 NO refused: ${plain}`)).toBe(`a2 NO refused: ${R}`);
    expect(scrub(`body ${form}`)).toBe(`body ${R}`);
    const innocent = Buffer.from('\0user@acme.test\0other-password').toString('base64');
    expect(scrub(`refused: ${innocent} 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f`)).toBe(
      `refused: ${innocent} 5b1f0c8e-2f4a-4c1d-9b7e-3a2d1c0b9a8f`,
    );
  });

  it('copies errors with the message, stack, code and cause scrubbed', () => {
    const cause = Object.assign(new Error(`inner ${secret}`), { code: 'EPROTO' });
    const error = Object.assign(new Error(`outer ${secret}`, { cause }), { code: 'E_OUTER', body: secret });
    const copy = scrub(error);
    expect(copy.message).toBe(`outer ${R}`);
    expect(copy.stack).not.toContain(secret);
    expect(copy.stack).toContain(`outer ${R}`);
    expect((copy as Error & { code: string }).code).toBe('E_OUTER');
    expect((copy.cause as Error).message).toBe(`inner ${R}`);
    expect(JSON.stringify({ ...copy, cause: copy.cause })).not.toContain(secret);
  });

  it('scrubs run-time secrets while a scope holds them, counting scopes that share one', () => {
    const token = 'ya29.runtime-token-42';
    const a = scrub.scope();
    const b = scrub.scope();
    expect(scrub(`t=${token}`)).toBe(`t=${token}`);
    a.register(token);
    b.register(token);
    expect(scrub(`echo ${token} / ${encodeURIComponent(token)}`)).toBe(`echo ${R} / ${R}`);
    a.release();
    expect(scrub(`echo ${token}`)).toBe(`echo ${R}`);
    b.release();
    expect(scrub(`echo ${token}`)).toBe(`echo ${token}`);
    // Environment secrets stay whatever the scopes do.
    const c = scrub.scope();
    c.register(secret);
    c.release();
    expect(scrub(secret)).toBe(R);
  });
});

describe('secretValuesFromEnv', () => {
  it("takes the OTLP exporter's headers as secrets, whole and each value", () => {
    const values = secretValuesFromEnv({
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20otlp-token-123,x-team=observability',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=trace-key-4567890',
      OTEL_SERVICE_NAME: 'contact-intelligence',
    });
    expect(values).toEqual(
      expect.arrayContaining([
        'authorization=Bearer%20otlp-token-123,x-team=observability',
        'Bearer otlp-token-123',
        'trace-key-4567890',
      ]),
    );
    expect(values).not.toContain('contact-intelligence');
  });
});
