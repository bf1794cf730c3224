// A node-oidc-provider adapter on Node 22's node:sqlite: the provider's own memory adapter
// keeps 1,000 entries (an LRU), so a benchmark that stores more tokens than that would measure
// evictions. One table for every model, keyed by (model, id), with the secondary keys the
// adapter interface looks up by; the file in WAL mode, as the authorization server's SQLite.
//
// node:sqlite is synchronous: a commit's fsync stops the whole event loop, and the provider
// commits three times per refresh (the spent token consumed, the new refresh and access tokens
// saved), where ours commits once in a worker thread. So that the figure measures the
// provider and not the disk, commits here do not wait for the disk (synchronous=NORMAL, which
// WAL keeps consistent but a power cut can undo): the peer is given the advantage, our
// authorization server keeps SQLite's default (FULL).
import { DatabaseSync } from 'node:sqlite';

let database;
let statements;

export function open(path) {
  database = new DatabaseSync(path);
  database.exec(`
    PRAGMA journal_mode=WAL;
    PRAGMA synchronous=NORMAL;
    PRAGMA busy_timeout=30000;
    CREATE TABLE IF NOT EXISTS entries (
      model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL,
      grant_id TEXT, user_code TEXT, uid TEXT, expires_at INTEGER,
      PRIMARY KEY (model, id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS entries_grant ON entries (grant_id);
    CREATE INDEX IF NOT EXISTS entries_user_code ON entries (model, user_code);
    CREATE INDEX IF NOT EXISTS entries_uid ON entries (model, uid);
  `);
  const live = '(expires_at IS NULL OR expires_at > ?)';
  statements = {
    upsert: database.prepare(`INSERT OR REPLACE INTO entries
      (model, id, payload, grant_id, user_code, uid, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    find: database.prepare(`SELECT payload FROM entries WHERE model = ? AND id = ? AND ${live}`),
    byUserCode: database.prepare(
      `SELECT payload FROM entries WHERE model = ? AND user_code = ? AND ${live}`),
    byUid: database.prepare(`SELECT payload FROM entries WHERE model = ? AND uid = ? AND ${live}`),
    consume: database.prepare(`UPDATE entries SET payload = json_set(payload, '$.consumed', ?)
      WHERE model = ? AND id = ?`),
    destroy: database.prepare('DELETE FROM entries WHERE model = ? AND id = ?'),
    revokeByGrantId: database.prepare('DELETE FROM entries WHERE grant_id = ?'),
  };
  return database;
}

const now = () => Math.floor(Date.now() / 1000);

function parsed(row) {
  return row ? JSON.parse(row.payload) : undefined;
}

export class SqliteAdapter {
  constructor(model) {
    this.model = model;
  }

  async upsert(id, payload, expiresIn) {
    statements.upsert.run(
      this.model, id, JSON.stringify(payload), payload.grantId ?? null,
      payload.userCode ?? null, payload.uid ?? null, expiresIn ? now() + expiresIn : null,
    );
  }

  async find(id) {
    return parsed(statements.find.get(this.model, id, now()));
  }

  async findByUserCode(userCode) {
    return parsed(statements.byUserCode.get(this.model, userCode, now()));
  }

  async findByUid(uid) {
    return parsed(statements.byUid.get(this.model, uid, now()));
  }

  async consume(id) {
    statements.consume.run(now(), this.model, id);
  }

  async destroy(id) {
    statements.destroy.run(this.model, id);
  }

  async revokeByGrantId(grantId) {
    statements.revokeByGrantId.run(grantId);
  }
}
