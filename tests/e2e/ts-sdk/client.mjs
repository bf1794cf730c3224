// The official MCP TypeScript SDK client (@modelcontextprotocol/sdk) against HospiAI, driven by
// tests/e2e/test_typescript_sdk.py: StreamableHTTPClientTransport with an OAuthClientProvider
// of our own, for discovery, registration, login and consent, tools, refresh, step-up and
// revocation.
//
// It talks to the test over stdin/stdout, one JSON object a line. {"event": "authorize"} asks
// the test to be the person's browser at the authorization URL; it answers with the redirect
// back to this client ({"callback": url}) or null if the person does not come back.
// {"event": "expire"} asks it to move the servers' clock past the access token's lifetime.
// The last line is {"event": "summary", ...}, which the test asserts.
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const mcpUrl = new URL(process.argv[2]);
// The SDK's own example client registers exactly this (examples/client/simpleOAuthClient.js).
const REDIRECT_URL = 'http://localhost:8090/callback';
const CLIENT_METADATA = {
    client_name: 'Simple OAuth MCP Client',
    redirect_uris: [REDIRECT_URL],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post'
};

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function ask(event) {
    process.stdout.write(JSON.stringify(event) + '\n');
    const { value, done } = await lines.next();
    if (done) throw new Error('the test stopped answering');
    return JSON.parse(value);
}

const names = scope => new Set((scope ?? '').split(' ').filter(Boolean));
const covers = (held, wanted) => [...names(wanted)].every(name => names(held).has(name));

// In-memory, like the SDK's InMemoryOAuthClientProvider, plus what a careful client adds.
class Provider {
    step = 'connect';
    authorizations = [];
    saved = [];

    get redirectUrl() {
        return REDIRECT_URL;
    }
    get clientMetadata() {
        return CLIENT_METADATA;
    }
    clientInformation() {
        return this.client;
    }
    saveClientInformation(information) {
        this.client = information;
    }
    tokens() {
        // SDK 1.32.2 refreshes before it re-authorizes, and a refresh cannot widen the scope
        // (RFC 6749 section 6): a step-up would end in "Server returned 403 after trying
        // upscoping" (typescript-sdk issue 2255). As SDK v2 does (SEP-2350), no refresh token
        // is offered while a challenge asks for more than the stored token holds.
        if (this.stored && this.wanted && !covers(this.stored.scope, this.wanted)) {
            const { refresh_token: _withheld, ...rest } = this.stored;
            return rest;
        }
        return this.stored;
    }
    saveTokens(tokens) {
        this.stored = tokens;
        this.saved.push({ step: this.step, scope: tokens.scope, refresh_token: Boolean(tokens.refresh_token) });
        if (covers(tokens.scope, this.wanted)) this.wanted = undefined;
    }
    challenged(scope) {
        this.wanted = scope;
    }
    async redirectToAuthorization(url) {
        const { callback } = await ask({ event: 'authorize', step: this.step, url: url.href });
        const back = callback ? new URL(callback).searchParams : new URLSearchParams();
        this.authorizations.push({
            step: this.step,
            scope: url.searchParams.get('scope'),
            resource: url.searchParams.get('resource'),
            prompt: url.searchParams.get('prompt'),
            iss: back.get('iss'),
            answered: Boolean(callback)
        });
        this.code = back.get('code') ?? undefined;
    }
    takeCode() {
        const code = this.code;
        this.code = undefined;
        return code;
    }
    saveCodeVerifier(verifier) {
        this.verifier = verifier;
    }
    codeVerifier() {
        return this.verifier;
    }
    invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'client') this.client = undefined;
        if (scope === 'all' || scope === 'tokens') this.stored = undefined;
        if (scope === 'all' || scope === 'verifier') this.verifier = undefined;
    }
}

const provider = new Provider();
// Every HTTP exchange the SDK makes, to show what it really sent.
const trace = [];

async function tracingFetch(url, init) {
    const response = await fetch(url, init);
    const target = new URL(String(url));
    const entry = { step: provider.step, method: init?.method ?? 'GET', url: target.origin + target.pathname, status: response.status };
    if (init?.body instanceof URLSearchParams) entry.grant_type = init.body.get('grant_type');
    if (target.pathname === '/register') entry.body = JSON.parse(init.body);
    const challenge = response.headers.get('www-authenticate');
    if (challenge) {
        entry.challenge = challenge;
        const scope = /scope="([^"]*)"/.exec(challenge)?.[1];
        if (response.status === 403 && challenge.includes('insufficient_scope')) provider.challenged(scope);
    }
    trace.push(entry);
    return response;
}

const newTransport = () => new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: tracingFetch });
let transport = newTransport();
const client = new Client({ name: 'hospiai-ts-sdk-e2e', version: '1.0.0' });

// What an application on the SDK does: on UnauthorizedError the person was sent to the
// authorization URL; with the code they brought back, finish and try again.
async function authorized(action, fresh = () => transport) {
    try {
        return await action();
    } catch (error) {
        const code = error instanceof UnauthorizedError ? provider.takeCode() : undefined;
        if (code === undefined) throw error;
        await transport.finishAuth(code);
        transport = fresh();
        return await action();
    }
}

async function call(name, args) {
    const before = provider.authorizations.length;
    const result = await authorized(() => client.callTool({ name, arguments: args }));
    if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    return { name, result: result.structuredContent, authorizations: provider.authorizations.length - before };
}

async function revoke() {
    const metadata = await (await fetch(new URL('/.well-known/oauth-authorization-server', provider.authorizationServer))).json();
    const response = await tracingFetch(metadata.revocation_endpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
            token: provider.stored.refresh_token,
            token_type_hint: 'refresh_token',
            client_id: provider.client.client_id,
            client_secret: provider.client.client_secret
        })
    });
    return response.status;
}

async function scenario() {
    const calls = [];
    await authorized(() => client.connect(transport), newTransport);
    provider.authorizationServer = provider.client.issuer;
    const tools = (await client.listTools()).tools.map(tool => tool.name);
    const found = await call('search_hospitals', { city: 'Nice', limit: 1 });
    calls.push(found);
    const hospital = found.result.hospitals[0].id;

    provider.step = 'refresh';
    await ask({ event: 'expire' });
    calls.push(await call('get_hospital', { hospital_id: hospital }));

    provider.step = 'step-up';
    const today = new Date();
    const later = new Date(today.getTime() + 14 * 86400 * 1000);
    const slots = await call('find_available_slots', {
        hospital_id: hospital,
        date_from: today.toISOString().slice(0, 10),
        date_to: later.toISOString().slice(0, 10),
        limit: 1
    });
    calls.push(slots);
    calls.push(await call('book_appointment', { slot_id: slots.result.slots[0].slot_id, reason: 'TypeScript SDK step-up' }));
    provider.step = 'after step-up';
    calls.push(await call('list_doctors', { hospital_id: hospital }));
    calls.push(await call('get_hospital_status', { hospital_id: hospital }));

    provider.step = 'revocation';
    const revoked = await revoke();
    let afterRevocation;
    try {
        await call('get_hospital', { hospital_id: hospital });
        afterRevocation = 'answered';
    } catch (error) {
        afterRevocation = error instanceof UnauthorizedError ? 'unauthorized' : String(error);
    }
    return {
        protocol_version: transport.protocolVersion,
        capabilities: client.getServerCapabilities(),
        tools,
        calls: calls.map(({ name, authorizations }) => ({ name, authorizations })),
        booked: calls.find(entry => entry.name === 'book_appointment').result.status,
        revoked,
        after_revocation: afterRevocation,
        authorizations: provider.authorizations,
        saved_tokens: provider.saved,
        trace
    };
}

try {
    process.stdout.write(JSON.stringify({ event: 'summary', ...(await scenario()) }) + '\n');
    process.exit(0);
} catch (error) {
    process.stderr.write(`${error?.stack ?? error}\n${JSON.stringify(trace, null, 1)}\n`);
    process.exit(1);
}
