//! The audit trail as per-resource hash chains.
//!
//! Every state change appends a record to the chain of the aggregate it changed (a challenge,
//! an organisation, a user), in the same transaction as the change. A record's hash covers its
//! fields and its predecessor's hash, and `audit_chains` keeps each chain's head, so editing or
//! deleting any stored record — even the newest — makes verification fail at that record.
//!
//! Why per resource rather than one global chain: a single head locked by every transaction
//! would let only one commit happen at a time across the whole platform. Changes to one
//! resource are already serialised by that resource's version check, so a chain per resource
//! costs no extra waiting, and two teams submitting to two challenges never meet here.

use crate::batch::Expect;
use crate::change::Change;
use crate::{StoreError, Tx};
use futures::TryStreamExt;
use jiebang_domain::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;

/// The hash that precedes the first record of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub sequence: i64,
    pub chain: String,
    pub chain_seq: i64,
    pub recorded_at: Timestamp,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub request_digest: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a record: SHA-256 over its length-prefixed fields and the previous hash, so no
/// two different records can encode to the same bytes.
pub fn record_hash(link: &Link<'_>) -> String {
    let mut hasher = Sha256::new();
    for field in [
        link.chain,
        link.actor,
        link.action,
        link.resource,
        link.request_digest,
        link.prev_hash,
    ] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.update(link.chain_seq.to_be_bytes());
    hasher.update(link.recorded_at.micros().to_be_bytes());
    hex::encode(hasher.finalize())
}

/// The fields of a record that its hash covers. The global `sequence` is not among them: the
/// database assigns it, and a chain's order is its `chain_seq`.
pub struct Link<'a> {
    pub chain: &'a str,
    pub chain_seq: i64,
    pub recorded_at: Timestamp,
    pub actor: &'a str,
    pub action: &'a str,
    pub resource: &'a str,
    pub request_digest: &'a str,
    pub prev_hash: &'a str,
}

impl AuditRecord {
    fn link(&self) -> Link<'_> {
        Link {
            chain: &self.chain,
            chain_seq: self.chain_seq,
            recorded_at: self.recorded_at,
            actor: &self.actor,
            action: &self.action,
            resource: &self.resource,
            request_digest: &self.request_digest,
            prev_hash: &self.prev_hash,
        }
    }
}

/// The head this process last committed for each chain: a hint that spares reading the head
/// before an append. Only a hint: the append moves the head with `UPDATE … WHERE last_seq = $n`,
/// and a stale one (another replica appended since, or this process's transaction rolled back)
/// moves nothing, so the head is read from the table and the append goes on from there.
#[derive(Debug, Default)]
pub struct ChainHeads(std::sync::Mutex<HashMap<String, (i64, String)>>);

/// More chains than this and the hints start over (they are only hints).
const MAX_HINTS: usize = 50_000;

impl ChainHeads {
    fn get(&self, chain: &str) -> Option<(i64, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(chain)
            .cloned()
    }

    /// Drops hints a failed write found stale (or may have).
    pub(crate) fn forget(&self, chains: &[String]) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for chain in chains {
            map.remove(chain);
        }
    }

    /// Records heads of a transaction that has committed.
    pub(crate) fn committed(&self, heads: Vec<(String, i64, String)>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() + heads.len() > MAX_HINTS {
            map.clear();
        }
        for (chain, seq, hash) in heads {
            map.insert(chain, (seq, hash));
        }
    }
}

/// The head of a chain as stored (the genesis before the first record).
async fn read_head(tx: &mut Tx, chain: &str) -> Result<(i64, String), StoreError> {
    // Writes queued in this transaction never touch `audit_chains` (appends are queued only
    // after the head is known), so this read may run before they do.
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_chains WHERE chain = $1")
        .bind(chain)
        .fetch_optional(tx.conn_beside_queued())
        .await?;
    Ok(match head {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS_HASH.to_owned()),
    })
}

/// Queues the change's record and the move of its chain's head (see [`crate::batch`]).
///
/// The head comes from this transaction's own earlier append to the chain, else from this
/// process's hint, else from the table. The head moves with `UPDATE … WHERE last_seq = $n`
/// (or the first record's INSERT), which must move exactly one row: if another transaction
/// appended first — or the hint was stale — the batch fails with [`StoreError::Conflict`],
/// the hint is forgotten, and the write is retried from a fresh read.
pub(crate) async fn queue_append(tx: &mut Tx, change: &Change) -> Result<(), StoreError> {
    let own = tx.appended_head(&change.chain);
    let hint = own
        .is_none()
        .then(|| tx.chain_heads().get(&change.chain))
        .flatten();
    let (prev_seq, prev_hash) = match own.or_else(|| hint.clone()) {
        Some(head) => head,
        None => read_head(tx, &change.chain).await?,
    };
    if hint.is_some() {
        tx.hinted(change.chain.clone());
    }
    let seq = prev_seq + 1;
    let hash = record_hash(&Link {
        chain: &change.chain,
        chain_seq: seq,
        recorded_at: change.at,
        actor: &change.actor,
        action: change.action,
        resource: &change.resource,
        request_digest: &change.request_digest,
        prev_hash: &prev_hash,
    });
    if prev_seq == 0 {
        tx.queue(
            "INSERT INTO audit_chains (chain, last_seq, last_hash) VALUES ($1, $2, $3)",
            Expect::Any,
        )
        .bind(&change.chain)
        .bind(seq)
        .bind(&hash);
    } else {
        tx.queue(
            "UPDATE audit_chains SET last_seq = $1, last_hash = $2 \
             WHERE chain = $3 AND last_seq = $4",
            Expect::OneRow,
        )
        .bind(seq)
        .bind(&hash)
        .bind(&change.chain)
        .bind(prev_seq);
    }
    tx.queue(
        "INSERT INTO audit_records \
         (chain, chain_seq, recorded_at, actor, action, resource, request_digest, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Expect::Any,
    )
    .bind(&change.chain)
    .bind(seq)
    .bind(change.at.micros())
    .bind(&change.actor)
    .bind(change.action)
    .bind(&change.resource)
    .bind(&change.request_digest)
    .bind(&prev_hash)
    .bind(&hash);
    tx.appended(change.chain.clone(), seq, hash);
    Ok(())
}

/// Two transactions moving one chain's head at once: the head's key or the record's
/// `(chain, chain_seq)` refuses the loser, which retries.
pub(crate) fn conflict_on_chain(err: StoreError) -> StoreError {
    match err {
        StoreError::UniqueViolation { key } if key.contains("audit_") => StoreError::Conflict,
        other => other,
    }
}

const RECORD_COLUMNS: &str = "sequence, chain, chain_seq, recorded_at, actor, action, resource, \
                              request_digest, prev_hash, hash";

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        sequence: row.try_get(0)?,
        chain: row.try_get(1)?,
        chain_seq: row.try_get(2)?,
        recorded_at: Timestamp(row.try_get(3)?),
        actor: row.try_get(4)?,
        action: row.try_get(5)?,
        resource: row.try_get(6)?,
        request_digest: row.try_get(7)?,
        prev_hash: row.try_get(8)?,
        hash: row.try_get(9)?,
    })
}

/// Filters for listing the trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub chain: Option<String>,
    pub actor: Option<String>,
    /// Keyset cursor: records with a greater sequence.
    pub after_sequence: i64,
    pub limit: i64,
}

/// Lists records in global order, oldest first.
pub async fn list(
    store: &crate::Store,
    filter: &AuditFilter,
) -> Result<Vec<AuditRecord>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(list_query()))
        .bind(filter.chain.clone())
        .bind(filter.actor.clone())
        .bind(filter.after_sequence)
        .bind(filter.limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(record_from_row).collect()
}

fn list_query() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM audit_records \
         WHERE ($1 IS NULL OR chain = $1) AND ($2 IS NULL OR actor = $2) AND sequence > $3 \
         ORDER BY sequence LIMIT $4"
    )
}

/// Where a chain stops matching its stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub chain: String,
    pub chain_seq: i64,
    /// The global sequence of the offending record, when there is one.
    pub sequence: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    pub chains_checked: i64,
    pub records_checked: i64,
    pub breaks: Vec<ChainBreak>,
}

/// Recomputes every record of every chain (or of one chain) in chain order, and compares each
/// chain's end with its stored head. Streams the rows, so memory stays flat on large trails.
pub async fn verify(
    store: &crate::Store,
    only_chain: Option<&str>,
) -> Result<Verification, StoreError> {
    // The heads and the records are read in one snapshot: read apart, an append committed
    // between the two reads shows as a head ahead of its records, a break that is not there.
    let mut conn = store.pool().acquire().await?;
    let dialect = crate::Dialect::of(&conn);
    let mut snapshot = sqlx::Connection::begin(&mut *conn).await?;
    if dialect == crate::Dialect::Postgres {
        // SQLite's read transaction keeps the snapshot of its first read; PostgreSQL's
        // default (READ COMMITTED) takes a new one for every statement.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *snapshot)
            .await?;
    }
    let heads_rows = sqlx::query(
        "SELECT chain, last_seq, last_hash FROM audit_chains WHERE ($1 IS NULL OR chain = $1) ORDER BY chain",
    )
    .bind(only_chain.map(str::to_owned))
    .fetch_all(&mut *snapshot)
    .await?;
    let mut heads = std::collections::BTreeMap::new();
    for row in &heads_rows {
        heads.insert(
            row.try_get::<String, _>(0)?,
            (row.try_get::<i64, _>(1)?, row.try_get::<String, _>(2)?),
        );
    }

    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM audit_records WHERE ($1 IS NULL OR chain = $1) \
         ORDER BY chain, chain_seq"
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(only_chain.map(str::to_owned))
        .fetch(&mut *snapshot);

    let mut result = Verification::default();
    let mut walker = ChainWalker::default();
    let mut seen_chains = std::collections::BTreeSet::new();
    while let Some(row) = rows.try_next().await? {
        let record = record_from_row(&row)?;
        result.records_checked += 1;
        if !seen_chains.contains(&record.chain) {
            seen_chains.insert(record.chain.clone());
        }
        if walker.chain.as_deref() != Some(record.chain.as_str()) {
            walker.finish(&heads, &mut result);
            walker = ChainWalker::start(record.chain.clone());
        }
        walker.step(&record);
    }
    walker.finish(&heads, &mut result);
    drop(rows);
    snapshot.rollback().await?;
    // Heads whose chain has no record left at all: every record was deleted.
    for (chain, (last_seq, _)) in &heads {
        if !seen_chains.contains(chain) {
            result.breaks.push(ChainBreak {
                chain: chain.clone(),
                chain_seq: 1,
                sequence: 0,
                reason: format!("chain head records {last_seq} entries but none are stored"),
            });
        }
    }
    let chains = seen_chains.len().max(heads.len());
    result.chains_checked = i64::try_from(chains).unwrap_or(i64::MAX);
    Ok(result)
}

/// Walks one chain record by record, remembering its first break.
#[derive(Default)]
struct ChainWalker {
    chain: Option<String>,
    expected_seq: i64,
    prev_hash: String,
    broken: Option<ChainBreak>,
}

impl ChainWalker {
    fn start(chain: String) -> Self {
        Self {
            chain: Some(chain),
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
            broken: None,
        }
    }

    fn step(&mut self, record: &AuditRecord) {
        if self.broken.is_some() {
            return;
        }
        let fail = |reason: String| ChainBreak {
            chain: record.chain.clone(),
            chain_seq: record.chain_seq,
            sequence: record.sequence,
            reason,
        };
        if record.chain_seq != self.expected_seq {
            self.broken = Some(ChainBreak {
                chain_seq: self.expected_seq,
                ..fail(format!(
                    "record {} of the chain is missing (found {} next)",
                    self.expected_seq, record.chain_seq
                ))
            });
            return;
        }
        if record.prev_hash != self.prev_hash {
            self.broken = Some(fail(
                "previous-hash link does not match the preceding record".into(),
            ));
            return;
        }
        let recomputed = record_hash(&record.link());
        if recomputed != record.hash {
            self.broken = Some(fail("hash mismatch: the record was modified".into()));
            return;
        }
        self.prev_hash = record.hash.clone();
        self.expected_seq += 1;
    }

    fn finish(
        &mut self,
        heads: &std::collections::BTreeMap<String, (i64, String)>,
        result: &mut Verification,
    ) {
        let Some(chain) = self.chain.take() else {
            return;
        };
        if let Some(b) = self.broken.take() {
            result.breaks.push(b);
            return;
        }
        let last_seq = self.expected_seq - 1;
        match heads.get(&chain) {
            Some((head_seq, head_hash))
                if *head_seq == last_seq && *head_hash == self.prev_hash => {}
            Some((head_seq, _)) => result.breaks.push(ChainBreak {
                chain: chain.clone(),
                chain_seq: (last_seq + 1).min(*head_seq),
                sequence: 0,
                reason: format!(
                    "chain head records {head_seq} entries but {last_seq} intact ones are stored"
                ),
            }),
            None => result.breaks.push(ChainBreak {
                chain: chain.clone(),
                chain_seq: 1,
                sequence: 0,
                reason: "records exist for a chain with no head".into(),
            }),
        }
    }
}
