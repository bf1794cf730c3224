// node-oidc-provider configured as the HospiAI authorization server is for the two paths the
// benchmark compares (benchmarks/peers/oidc_provider.py): /introspect answering a resource
// server authenticated with client_secret_basic, and the refresh grant of a public client with
// rotation (reuse of a spent refresh token revokes its grant), tokens opaque and bound to the
// MCP resource, on SQLite. Argument: a JSON file {port, control_port, issuer, database,
// resource, introspector: {client_id, client_secret}, client_id}.
//
// The control port (loopback) stores tokens for the benchmark to spend, through the
// provider's own models: POST /seed?kind=access|refresh&count=N answers their values.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

import { SqliteAdapter, open } from './sqlite_adapter.mjs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const database = open(config.database);
const SCOPE = 'read:data';

const provider = new Provider(config.issuer, {
  adapter: SqliteAdapter,
  clients: [
    {
      client_id: config.introspector.client_id,
      client_secret: config.introspector.client_secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
    {
      client_id: config.client_id,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:5555/callback'],
    },
  ],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    // As ours: only a resource server, and only about the tokens whose audience it is.
    introspection: {
      enabled: true,
      allowedPolicy: (_ctx, client, token) => client.clientId === config.introspector.client_id
        && token.aud === config.resource,
    },
    revocation: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: SCOPE, audience: config.resource, accessTokenFormat: 'opaque', accessTokenTTL: 3600,
      }),
    },
  },
  scopes: ['openid', 'offline_access'],
  rotateRefreshToken: true,
  routes: { introspection: '/introspect', revocation: '/revoke' },
  ttl: { AccessToken: 3600, RefreshToken: 86400, Grant: 14 * 86400 },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});

async function seed(kind, count) {
  const client = await provider.Client.find(config.client_id);
  const values = [];
  database.exec('BEGIN');
  try {
    for (let index = 0; index < count; index += 1) {
      const accountId = `acct_${randomBytes(6).toString('hex')}`;
      const grant = new provider.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope('offline_access');
      grant.addResourceScope(config.resource, SCOPE);
      const grantId = await grant.save();
      const Model = kind === 'access' ? provider.AccessToken : provider.RefreshToken;
      const token = new Model({
        accountId, client, grantId, gty: 'authorization_code',
        ...(kind === 'access'
          ? { scope: SCOPE, aud: config.resource, resourceServer: new provider.ResourceServer(
            config.resource, { scope: SCOPE, audience: config.resource, accessTokenFormat: 'opaque' },
          ) }
          : { scope: `offline_access ${SCOPE}`, resource: config.resource }),
      });
      values.push(await token.save());
    }
    database.exec('COMMIT');
  } catch (error) {
    database.exec('ROLLBACK');
    throw error;
  }
  return values;
}

createServer((request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  const kind = url.searchParams.get('kind');
  const count = Number(url.searchParams.get('count'));
  if (request.method !== 'POST' || url.pathname !== '/seed' || !['access', 'refresh'].includes(kind)
    || !(count > 0)) {
    response.writeHead(404).end();
    return;
  }
  seed(kind, count).then(
    (values) => response.writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify(values)),
    (error) => response.writeHead(500).end(String(error)),
  );
}).listen(config.control_port, '127.0.0.1');

provider.listen(config.port, '127.0.0.1');
