//! Rows of challenges. The publisher's spec is stored as a JSON document; the columns that
//! queries filter or sort on (state, title, field, publisher, window) are stored beside it.

use crate::{Dialect, Store, StoreError, Tx};
use jiebang_domain::Timestamp;
use jiebang_domain::challenge::{CancellationReason, Challenge, ChallengeSpec, ChallengeState};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const COLUMNS: &str = "id, publisher_id, state, spec, open_at, close_at, rejection_reason, \
                       cancellation_reason, cancellation_note, created_at, updated_at, version";

fn from_row(row: &AnyRow) -> Result<Challenge, StoreError> {
    from_row_at(row, 0)
}

/// [`from_row`] of the columns from `at` on (a row that joins other tables).
pub(crate) fn from_row_at(row: &AnyRow, at: usize) -> Result<Challenge, StoreError> {
    let state: String = row.try_get(at + 2)?;
    let spec: String = row.try_get(at + 3)?;
    let spec: ChallengeSpec = serde_json::from_str(&spec)
        .map_err(|e| StoreError::Corrupt(format!("challenge spec: {e}")))?;
    let cancellation_reason: Option<String> = row.try_get(at + 7)?;
    let cancellation = match cancellation_reason {
        Some(reason) => Some((
            CancellationReason::parse(&reason)
                .ok_or_else(|| StoreError::Corrupt(format!("cancellation reason {reason}")))?,
            row.try_get::<Option<String>, _>(at + 8)?
                .unwrap_or_default(),
        )),
        None => None,
    };
    Ok(Challenge {
        id: row.try_get(at)?,
        publisher_id: row.try_get(at + 1)?,
        state: ChallengeState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("challenge state {state}")))?,
        spec,
        open_at: row.try_get::<Option<i64>, _>(at + 4)?.map(Timestamp),
        close_at: row.try_get::<Option<i64>, _>(at + 5)?.map(Timestamp),
        rejection_reason: row.try_get(at + 6)?,
        cancellation,
        created_at: Timestamp(row.try_get(at + 9)?),
        updated_at: Timestamp(row.try_get(at + 10)?),
        version: row.try_get(at + 11)?,
    })
}

fn spec_json(challenge: &Challenge) -> Result<String, StoreError> {
    serde_json::to_string(&challenge.spec)
        .map_err(|e| StoreError::Corrupt(format!("challenge spec: {e}")))
}

pub async fn insert(tx: &mut Tx, c: &Challenge) -> Result<(), StoreError> {
    tx.wrote_challenges().await?;
    sqlx::query(
        "INSERT INTO challenges (id, publisher_id, state, title, industry_field, round, spec, \
         open_at, close_at, rejection_reason, cancellation_reason, cancellation_note, \
         created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&c.id)
    .bind(&c.publisher_id)
    .bind(c.state.as_str())
    .bind(&c.spec.title)
    .bind(&c.spec.industry_field)
    .bind(&c.spec.round)
    .bind(spec_json(c)?)
    .bind(c.open_at.map(Timestamp::micros))
    .bind(c.close_at.map(Timestamp::micros))
    .bind(c.rejection_reason.clone())
    .bind(c.cancellation.as_ref().map(|(r, _)| r.as_str().to_owned()))
    .bind(c.cancellation.as_ref().map(|(_, note)| note.clone()))
    .bind(c.created_at.micros())
    .bind(c.updated_at.micros())
    .bind(c.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Saves the next version of a challenge if the stored one is still `expected_version`;
/// otherwise [`StoreError::Conflict`] (someone else changed it in between).
pub async fn update(tx: &mut Tx, c: &Challenge, expected_version: i64) -> Result<(), StoreError> {
    tx.wrote_challenges().await?;
    let done = sqlx::query(
        "UPDATE challenges SET state = $1, title = $2, industry_field = $3, round = $4, \
         spec = $5, open_at = $6, close_at = $7, rejection_reason = $8, \
         cancellation_reason = $9, cancellation_note = $10, updated_at = $11, version = $12 \
         WHERE id = $13 AND version = $14",
    )
    .bind(c.state.as_str())
    .bind(&c.spec.title)
    .bind(&c.spec.industry_field)
    .bind(&c.spec.round)
    .bind(spec_json(c)?)
    .bind(c.open_at.map(Timestamp::micros))
    .bind(c.close_at.map(Timestamp::micros))
    .bind(c.rejection_reason.clone())
    .bind(c.cancellation.as_ref().map(|(r, _)| r.as_str().to_owned()))
    .bind(c.cancellation.as_ref().map(|(_, note)| note.clone()))
    .bind(c.updated_at.micros())
    .bind(c.version)
    .bind(&c.id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get(store: &Store, id: &str) -> Result<Option<Challenge>, StoreError> {
    let mut conn = store.pool().acquire().await?;
    get_in(&mut conn, id).await
}

/// Reads a challenge for showing it (GetChallenge), from this process's cache when it is on
/// and fresh ([`crate::read_cache`]). Never for a decision: a write re-reads inside its
/// transaction.
pub async fn get_cached(store: &Store, id: &str) -> Result<Option<Arc<Challenge>>, StoreError> {
    let cache = &store.challenge_cache().by_id;
    if let Some(hit) = cache.get(id) {
        return Ok(Some(hit));
    }
    let generation = cache.generation();
    let Some(challenge) = get(store, id).await? else {
        return Ok(None);
    };
    let challenge = Arc::new(challenge);
    cache.put(generation, id, challenge.version, challenge.clone());
    Ok(Some(challenge))
}

/// Reads a challenge on a connection the caller already holds (never take a second pooled
/// connection while holding one: enough such callers at once would starve the pool).
#[tracing::instrument(name = "db challenges.get", skip_all, level = "info")]
pub async fn get_in(
    conn: &mut sqlx::AnyConnection,
    id: &str,
) -> Result<Option<Challenge>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Reads a challenge inside a write transaction, holding it against concurrent changes until
/// the transaction ends (PostgreSQL `FOR SHARE`: a cancellation waits for in-flight
/// submissions; SQLite's single writer gives the same).
pub async fn get_shared(tx: &mut Tx, id: &str) -> Result<Option<Challenge>, StoreError> {
    get_locked(tx, id, " FOR SHARE").await
}

/// Reads a challenge inside a write transaction and locks it for this transaction alone
/// (PostgreSQL `FOR UPDATE`; SQLite's single writer gives the same): for a decision that
/// depends on rows other transactions may be changing at the same time, such as whether the
/// challenge's last running project just ended.
pub async fn get_exclusive(tx: &mut Tx, id: &str) -> Result<Option<Challenge>, StoreError> {
    get_locked(tx, id, " FOR UPDATE").await
}

/// A read with PostgreSQL's row `lock` clause; SQLite has no row locks and needs none.
async fn get_locked(
    tx: &mut Tx,
    id: &str,
    postgres_lock: &str,
) -> Result<Option<Challenge>, StoreError> {
    let lock = match tx.dialect() {
        crate::Dialect::Postgres => postgres_lock,
        crate::Dialect::Sqlite => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = $1{lock}");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What a listing asks for. Visibility is part of the query so pages are never short because
/// of rows the caller may not see.
#[derive(Debug, Clone, Default)]
pub struct ChallengeFilter {
    pub state: Option<ChallengeState>,
    pub industry_field: Option<String>,
    pub publisher_id: Option<String>,
    pub title_contains: Option<String>,
    /// Unpublished challenges are visible only to the bureau and their own organisation.
    pub viewer_is_admin: bool,
    pub viewer_organization_id: String,
    /// Keyset cursor: challenges with a smaller id (older).
    pub before_id: Option<String>,
    pub limit: i64,
}

/// Newest first. Keyset pagination (`id < cursor`) rather than OFFSET: each page costs the
/// same however deep, and rows inserted meanwhile neither repeat nor vanish between pages.
///
/// A state filter of PUBLISHED or APPLICATIONS_CLOSED is evaluated against `now`, so a
/// challenge whose deadline has passed is listed as closed even before the clock job runs.
///
/// The page is selected as ids and versions, and each challenge whose version this process
/// has already parsed is taken from [`Store::challenge_cache`]: exact on every backend (the
/// version comes from this query), and it spares reading and parsing the specs, which is
/// most of a listing's cost. The rest are read in one more statement. A page that does not
/// depend on the time may also be served whole from the cache, as GetChallenge is
/// ([`crate::read_cache`]: this process's writes at once, others' within the cache's ttl).
#[tracing::instrument(name = "db challenges.list", skip_all, level = "info")]
pub async fn list(
    store: &Store,
    filter: &ChallengeFilter,
    now: Timestamp,
) -> Result<Vec<Arc<Challenge>>, StoreError> {
    // A page whose rows do not depend on the time (no PUBLISHED or APPLICATIONS_CLOSED
    // filter, which compare deadlines with `now`) is kept like a challenge read by id.
    let pages = &store.challenge_cache().pages;
    let page_key = match filter.state {
        _ if !pages.enabled() => None,
        Some(ChallengeState::Published | ChallengeState::ApplicationsClosed) => None,
        _ => Some(format!("{filter:?}")),
    };
    if let Some(hit) = page_key.as_deref().and_then(|key| pages.get(key)) {
        return Ok(hit.as_ref().clone());
    }
    let page_generation = pages.generation();
    let page = list_by_version(store, filter, now).await?;
    if let Some(key) = page_key {
        // Pages are only read by generation; the version is not theirs to have.
        pages.put(page_generation, &key, 0, Arc::new(page.clone()));
    }
    Ok(page)
}

/// The listing: ids and versions from the database, the challenges from the cache by version
/// where it has them.
async fn list_by_version(
    store: &Store,
    filter: &ChallengeFilter,
    now: Timestamp,
) -> Result<Vec<Arc<Challenge>>, StoreError> {
    let cache = &store.challenge_cache().by_id;
    let generation = cache.generation();
    let mut conn = store.pool().acquire().await?;
    // One row, `id version,id version,…`, rather than a row per challenge: sqlx's SQLite
    // driver hands each row from its own thread to the caller's.
    let page_of = match store.dialect() {
        Dialect::Sqlite => "group_concat(id || ' ' || version, ',' ORDER BY id DESC)",
        Dialect::Postgres => "string_agg(id || ' ' || CAST(version AS TEXT), ',' ORDER BY id DESC)",
    };
    let sql = format!(
        "SELECT {page_of} FROM ({}) AS page",
        list_sql(filter, "id, version")
    );
    let joined: Option<String> = bound(sql, filter, now)
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    let listed: Vec<(String, i64)> = joined
        .as_deref()
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.split(',')
                .map(parse_listed)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let mut page: Vec<Option<Arc<Challenge>>> = listed
        .iter()
        .map(|(id, version)| cache.get_version(id, *version))
        .collect();
    let missing: Vec<&str> = listed
        .iter()
        .zip(&page)
        .filter(|(_, hit)| hit.is_none())
        .map(|((id, _), _)| id.as_str())
        .collect();
    if !missing.is_empty() {
        let placeholders: Vec<String> = (1..=missing.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM challenges WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &missing {
            query = query.bind(*id);
        }
        let mut read: HashMap<String, Arc<Challenge>> = HashMap::new();
        for row in query.fetch_all(&mut *conn).await? {
            let challenge = Arc::new(from_row(&row)?);
            read.insert(challenge.id.clone(), challenge);
        }
        for ((id, version), slot) in listed.iter().zip(page.iter_mut()) {
            if slot.is_some() {
                continue;
            }
            match read.remove(id) {
                Some(challenge) if challenge.version == *version => {
                    cache.put(generation, id, *version, challenge.clone());
                    *slot = Some(challenge);
                }
                // Changed between the two statements: the page may no longer be what the
                // filters select, so read it again whole.
                _ => return list_uncached(&mut conn, filter, now).await,
            }
        }
    }
    Ok(page.into_iter().flatten().collect())
}

/// One `id version` of a listing's page.
fn parse_listed(item: &str) -> Result<(String, i64), StoreError> {
    item.split_once(' ')
        .and_then(|(id, version)| Some((id.to_owned(), version.parse().ok()?)))
        .ok_or_else(|| StoreError::Corrupt(format!("listed challenge `{item}`")))
}

/// The listing in one statement, every column (when a challenge changed mid-listing).
async fn list_uncached(
    conn: &mut sqlx::AnyConnection,
    filter: &ChallengeFilter,
    now: Timestamp,
) -> Result<Vec<Arc<Challenge>>, StoreError> {
    let rows = bound(list_sql(filter, COLUMNS), filter, now)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| from_row(r).map(Arc::new)).collect()
}

/// A statement built on [`list_sql`] with the filter's parameters bound.
fn bound(
    sql: String,
    filter: &ChallengeFilter,
    now: Timestamp,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.state.map(|s| s.as_str().to_owned()))
        .bind(filter.industry_field.clone())
        .bind(filter.publisher_id.clone())
        .bind(filter.title_contains.as_deref().map(like_pattern))
        .bind(i64::from(filter.viewer_is_admin))
        .bind(filter.viewer_organization_id.clone())
        .bind(filter.before_id.clone())
        .bind(filter.limit)
        .bind(now.micros())
}

/// The listing's statement, selecting `columns`; [`bound`] binds its parameters.
fn list_sql(filter: &ChallengeFilter, columns: &str) -> String {
    // Every branch mentions $1 and $9 so the bound parameters always match the placeholders.
    let state_clause = match filter.state {
        Some(ChallengeState::Published) => {
            "$1 IS NOT NULL AND state = 'PUBLISHED' AND close_at > $9"
        }
        Some(ChallengeState::ApplicationsClosed) => {
            "$1 IS NOT NULL AND (state = 'APPLICATIONS_CLOSED' \
             OR (state = 'PUBLISHED' AND close_at <= $9))"
        }
        Some(_) => "state = $1 AND $9 IS NOT NULL",
        None => "$1 IS NULL AND $9 IS NOT NULL",
    };
    format!(
        "SELECT {columns} FROM challenges \
         WHERE {state_clause} \
         AND ($2 IS NULL OR industry_field = $2) \
         AND ($3 IS NULL OR publisher_id = $3) \
         AND ($4 IS NULL OR title LIKE $4 ESCAPE '\\') \
         AND ($5 = 1 OR open_at IS NOT NULL OR publisher_id = $6) \
         AND ($7 IS NULL OR id < $7) \
         ORDER BY id DESC LIMIT $8"
    )
}

/// `%text%` with LIKE's wildcards in the text escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// PUBLISHED challenges whose deadline is at or before `now`: the clock job closes them.
pub async fn due_for_close(
    store: &Store,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<Challenge>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM challenges WHERE state = 'PUBLISHED' AND close_at <= $1 \
         ORDER BY close_at LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.micros())
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}
