// A certified OpenID provider (panva's oidc-provider) on loopback for the portal's OpenID
// Connect sign-in tests; tests/oidc_server.py starts it and waits for its discovery
// document. One static confidential client (the live server's redirect URI), the people of
// accounts.json, and a minimal sign-in page that checks their password: the provider's
// own devInteractions take any password and record no amr/acr, which the "signed in with
// MFA" account needs.
//
// Environment: OIDC_TEST_PORT, OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET,
// OIDC_TEST_REDIRECT_URI, OIDC_TEST_POST_LOGOUT_REDIRECT_URI.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const port = Number(env('OIDC_TEST_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(readFileSync(new URL('./accounts.json', import.meta.url), 'utf8'));
delete accounts._comment;

// A fresh signing key per run: the portal must fetch it from the JWKS endpoint.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `test-${Date.now()}`, alg: 'RS256', use: 'sig' };

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_TEST_CLIENT_ID'),
    client_secret: env('OIDC_TEST_CLIENT_SECRET'),
    redirect_uris: [env('OIDC_TEST_REDIRECT_URI')],
    post_logout_redirect_uris: [env('OIDC_TEST_POST_LOGOUT_REDIRECT_URI')],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['isms-test-provider-cookie-key'] },
  // Every authorisation request must carry a PKCE challenge (S256, the only method this
  // version of the provider accepts), not only those of public clients.
  pkce: { required: () => true },
  // How the person signed in (acr, amr) goes into every ID token, as a city's provider
  // that tells its relying parties about MFA does.
  claims: {
    acr: null,
    amr: null,
    auth_time: null,
    sid: null,
    iss: null,
    openid: ['sub', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'staff_number', 'section'],
  },
  acrValues: ['urn:isms:test:pwd', 'urn:isms:test:mfa'],
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      // The provider's own page loads a web font from the internet; tests have loopback only.
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Test provider sign-out</title></head><body><h1>Sign out of the test provider?</h1>
${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
      },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The portal is the city's own application: no consent page, the grant is the scopes asked.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...account.claims }) };
  },
});

function signInPage(uid, error) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test provider sign-in</title></head>
<body><h1>Test provider sign-in</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form></body></html>`;
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const callback = provider.callback();
const server = createServer(async (req, res) => {
  const match = req.url.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) {
    callback(req, res);
    return;
  }
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !match[2]) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(signInPage(details.uid));
      return;
    }
    if (req.method !== 'POST' || !match[2]) {
      res.writeHead(405).end();
      return;
    }
    const form = await formBody(req);
    const account = accounts[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(signInPage(details.uid, 'Wrong login or password.'));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: {
        accountId: form.get('login'),
        amr: account.amr || ['pwd'],
        acr: account.acr || 'urn:isms:test:pwd',
      },
    }, { mergeWithLastSubmission: false });
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${error.name}: ${error.message}`);
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${issuer}\n`);
});
