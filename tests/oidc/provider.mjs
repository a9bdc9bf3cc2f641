// The OpenID Connect provider the tests sign in with: the certified `oidc-provider` and its development login
// page (any password), on 127.0.0.1:<port>. Started by tests/oidc/harness.py with one argument, a JSON file:
//   {"port": 0, "client_id": "...", "client_secret": "...", "redirect_uris": [...],
//    "post_logout_redirect_uris": [...], "accounts": {"alice": {"groups": [...], "email": "...", "name": "..."}},
//    "slow_seconds": 3}
// It prints `oidc-provider ready <issuer>` once it serves, then reads commands on standard input, one a line,
// and answers each with another `oidc-provider ready ...` line once in effect:
//   rotate        a new signing key replaces the old one (a new `kid` in the JWKS)
//   groups <login> <group>...   the account's groups from now on
//   mode <name>   how the token endpoint answers from now on: `normal`, or one misbehaviour, the ID token
//                 re-signed with a wrong `iss`, `aud` or `nonce`, an `exp` long past, a key not in the JWKS
//                 (`bad-signature`), or the answer held back `slow_seconds` (`slow`)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = createServer();
await new Promise((resolve) => { server.listen(config.port || 0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

let mode = 'normal';
let generation = 0;
let signingKey;

async function newSigningKey() {
  generation += 1;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `key-${generation}-${Date.now()}`, alg: 'RS256', use: 'sig' };
}

function findAccount(ctx, id) {
  const account = config.accounts[id];
  if (!account) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        preferred_username: account.username ?? id,
        groups: account.groups ?? [],
        email: account.email,
        name: account.name,
      };
    },
  };
}

// The test client is first-party: its grant is given without a consent page.
async function loadExistingGrant(ctx) {
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (grantId) return ctx.oidc.provider.Grant.find(grantId);
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
  grant.addOIDCScope('openid email profile groups');
  await grant.save();
  return grant;
}

// The ID token of a misbehaving provider: the genuine one, changed and signed again.
async function misbehave(idToken) {
  const claims = decodeJwt(idToken);
  const { kid } = decodeProtectedHeader(idToken);
  let key = signingKey;
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'wrong-issuer') claims.iss = `${issuer}/someone-else`;
  if (mode === 'wrong-audience') claims.aud = 'another-client';
  if (mode === 'wrong-nonce') claims.nonce = 'not-the-nonce-sent';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'bad-signature') key = await newSigningKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(await importJWK(key, 'RS256'));
}

function newProvider() {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      post_logout_redirect_uris: config.post_logout_redirect_uris ?? [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    jwks: { keys: [signingKey] },
    findAccount,
    loadExistingGrant,
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    cookies: { keys: ['tests-only-cookie-key'] },
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && mode === 'slow') await delay((config.slow_seconds ?? 3) * 1000);
    await next();
    if (ctx.path === '/token' && ctx.body?.id_token && !['normal', 'slow'].includes(mode)) {
      ctx.body = { ...ctx.body, id_token: await misbehave(ctx.body.id_token) };
    }
  });
  return provider;
}

// Sessions and codes live in the memory adapter's storage, shared by every Provider in this process: a
// provider rebuilt with a new key keeps them.
signingKey = await newSigningKey();
let handler = newProvider().callback();
server.on('request', (req, res) => handler(req, res));
console.log(`oidc-provider ready ${issuer}`);

const commands = createInterface({ input: process.stdin });
commands.on('line', async (line) => {
  const [command, argument] = line.trim().split(/\s+/);
  if (command === 'rotate') {
    signingKey = await newSigningKey();
    handler = newProvider().callback();
    console.log(`oidc-provider ready rotated ${signingKey.kid}`);
  } else if (command === 'groups') {
    config.accounts[argument].groups = line.trim().split(/\s+/).slice(2);
    console.log(`oidc-provider ready groups ${argument}`);
  } else if (command === 'mode') {
    mode = argument;
    console.log(`oidc-provider ready mode ${mode}`);
  }
});
commands.on('close', () => { server.close(); process.exit(0); });
