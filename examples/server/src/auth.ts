import { SignJWT, jwtVerify } from 'jose';

/** An authenticated operator. */
export interface Operator {
  adminId: string;
  name: string | undefined;
}

/** Signs and verifies operator tokens: HS256 only (`alg: none` and every other algorithm refused), `exp` required. */
export class TokenAuthority {
  readonly #key: Uint8Array;

  constructor(secret: string) {
    this.#key = new TextEncoder().encode(secret);
  }

  async sign(operator: { adminId: string; name?: string }, ttlSeconds: number): Promise<string> {
    return new SignJWT(operator.name ? { name: operator.name } : {})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(operator.adminId)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(this.#key);
  }

  /** The operator of a valid token; throws on a bad signature, algorithm, expiry or subject. */
  async verify(token: string): Promise<Operator> {
    const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('token has no subject');
    return { adminId: payload.sub, name: typeof payload.name === 'string' ? payload.name : undefined };
  }
}
