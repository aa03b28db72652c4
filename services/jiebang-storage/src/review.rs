//! Rows of the expert review: experts, pins and forbids, assignments, recorded conflicts and
//! review panels.

use crate::batch::Expect;
use crate::columns;
use crate::{Dialect, Store, StoreError, Tx};
use jiebang_domain::Timestamp;
use jiebang_domain::review::pool::{Availability, DeclaredConflict, Expert};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::sync::Arc;

fn json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("review json: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("review json: {e}")))
}

const EXPERT_COLUMNS: &str = "e.id, e.user_id, u.display_name, e.fields, e.keywords, e.affiliation_id, \
     e.declared, e.max_load, e.availability, e.unavailable_until, e.created_at, e.updated_at, e.version";

fn expert_from_row(row: &AnyRow) -> Result<Expert, StoreError> {
    let availability: String = row.try_get(8)?;
    Ok(Expert {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        display_name: row.try_get(2)?,
        fields: json(&row.try_get::<String, _>(3)?)?,
        keywords: json(&row.try_get::<String, _>(4)?)?,
        affiliation_id: row.try_get(5)?,
        declared: json::<Vec<DeclaredConflict>>(&row.try_get::<String, _>(6)?)?,
        max_load: i32::try_from(row.try_get::<i64, _>(7)?).unwrap_or(0),
        availability: Availability::parse(&availability)
            .ok_or_else(|| StoreError::Corrupt(format!("availability {availability}")))?,
        unavailable_until: row.try_get::<Option<i64>, _>(9)?.map(Timestamp),
        created_at: Timestamp(row.try_get(10)?),
        updated_at: Timestamp(row.try_get(11)?),
        version: row.try_get(12)?,
    })
}

pub async fn insert_expert(tx: &mut Tx, e: &Expert) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO experts (id, user_id, affiliation_id, fields, keywords, declared, max_load, \
         availability, unavailable_until, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&e.id)
    .bind(&e.user_id)
    .bind(&e.affiliation_id)
    .bind(to_json(&e.fields)?)
    .bind(to_json(&e.keywords)?)
    .bind(to_json(&e.declared)?)
    .bind(i64::from(e.max_load))
    .bind(e.availability.as_str())
    .bind(e.unavailable_until.map(Timestamp::micros))
    .bind(e.created_at.micros())
    .bind(e.updated_at.micros())
    .bind(e.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn update_expert(
    tx: &mut Tx,
    e: &Expert,
    expected_version: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE experts SET affiliation_id = $1, fields = $2, keywords = $3, declared = $4, \
         max_load = $5, availability = $6, unavailable_until = $7, updated_at = $8, version = $9 \
         WHERE id = $10 AND version = $11",
    )
    .bind(&e.affiliation_id)
    .bind(to_json(&e.fields)?)
    .bind(to_json(&e.keywords)?)
    .bind(to_json(&e.declared)?)
    .bind(i64::from(e.max_load))
    .bind(e.availability.as_str())
    .bind(e.unavailable_until.map(Timestamp::micros))
    .bind(e.updated_at.micros())
    .bind(e.version)
    .bind(&e.id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get_expert(conn: &mut AnyConnection, id: &str) -> Result<Option<Expert>, StoreError> {
    let sql = format!(
        "SELECT {EXPERT_COLUMNS} FROM experts e JOIN users u ON u.id = e.user_id WHERE e.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(expert_from_row).transpose()
}

pub async fn expert_of_user(
    conn: &mut AnyConnection,
    user_id: &str,
) -> Result<Option<Expert>, StoreError> {
    let sql = format!(
        "SELECT {EXPERT_COLUMNS} FROM experts e JOIN users u ON u.id = e.user_id WHERE e.user_id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(expert_from_row).transpose()
}

/// Newest first; filters are applied in Rust for the JSON list columns.
pub async fn list_experts(
    store: &Store,
    affiliation: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<Expert>, StoreError> {
    let sql = format!(
        "SELECT {EXPERT_COLUMNS} FROM experts e JOIN users u ON u.id = e.user_id \
         WHERE ($1 IS NULL OR e.affiliation_id = $1) AND ($2 IS NULL OR e.id < $2) \
         ORDER BY e.id DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(affiliation.map(str::to_owned))
        .bind(before_id.map(str::to_owned))
        .bind(limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(expert_from_row).collect()
}

/// Every expert, for a solve.
pub async fn all_experts(conn: &mut AnyConnection) -> Result<Vec<Expert>, StoreError> {
    let sql = format!(
        "SELECT {EXPERT_COLUMNS} FROM experts e JOIN users u ON u.id = e.user_id ORDER BY e.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await?;
    rows.iter().map(expert_from_row).collect()
}

/// A pin or forbid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub challenge_id: String,
    pub application_id: String,
    pub expert_id: String,
    /// `PIN` or `FORBID`.
    pub kind: String,
    pub reason: String,
    pub author_id: String,
    pub created_at: Timestamp,
}

pub async fn set_constraint(tx: &mut Tx, c: &Constraint) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM assignment_constraints WHERE application_id = $1 AND expert_id = $2")
        .bind(&c.application_id)
        .bind(&c.expert_id)
        .execute(tx.conn())
        .await?;
    if c.kind != "NONE" {
        sqlx::query(
            "INSERT INTO assignment_constraints (application_id, expert_id, challenge_id, kind, reason, author_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.application_id)
        .bind(&c.expert_id)
        .bind(&c.challenge_id)
        .bind(&c.kind)
        .bind(&c.reason)
        .bind(&c.author_id)
        .bind(c.created_at.micros())
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn constraints(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<Constraint>, StoreError> {
    let rows = sqlx::query(
        "SELECT challenge_id, application_id, expert_id, kind, reason, author_id, created_at \
         FROM assignment_constraints WHERE challenge_id = $1 ORDER BY application_id, expert_id",
    )
    .bind(challenge_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Constraint {
                challenge_id: r.try_get(0)?,
                application_id: r.try_get(1)?,
                expert_id: r.try_get(2)?,
                kind: r.try_get(3)?,
                reason: r.try_get(4)?,
                author_id: r.try_get(5)?,
                created_at: Timestamp(r.try_get(6)?),
            })
        })
        .collect()
}

/// One expert assigned to one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub id: String,
    pub challenge_id: String,
    pub application_id: String,
    pub expert_id: String,
    /// `ASSIGNED`, `SUBMITTED` or `WITHDRAWN`.
    pub state: String,
    /// `SOLVER`, `PINNED` or `REPLACEMENT`.
    pub origin: String,
    pub affinity: i64,
    pub replaces: Option<String>,
    pub created_at: Timestamp,
    pub opened_at: Option<Timestamp>,
    pub withdrawn_at: Option<Timestamp>,
    pub version: i64,
}

const ASSIGNMENT_COLUMNS: &str = "id, challenge_id, application_id, expert_id, state, origin, affinity, \
     replaces, created_at, opened_at, withdrawn_at, version";

fn assignment_from_row(r: &AnyRow) -> Result<AssignmentRow, StoreError> {
    assignment_at(r, 0)
}

/// The columns read from `at` on, for reads that join several tables.
fn assignment_at(r: &AnyRow, at: usize) -> Result<AssignmentRow, StoreError> {
    Ok(AssignmentRow {
        id: r.try_get(at)?,
        challenge_id: r.try_get(at + 1)?,
        application_id: r.try_get(at + 2)?,
        expert_id: r.try_get(at + 3)?,
        state: r.try_get(at + 4)?,
        origin: r.try_get(at + 5)?,
        affinity: r.try_get(at + 6)?,
        replaces: r.try_get(at + 7)?,
        created_at: Timestamp(r.try_get(at + 8)?),
        opened_at: r.try_get::<Option<i64>, _>(at + 9)?.map(Timestamp),
        withdrawn_at: r.try_get::<Option<i64>, _>(at + 10)?.map(Timestamp),
        version: r.try_get(at + 11)?,
    })
}

pub async fn insert_assignment(tx: &mut Tx, a: &AssignmentRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO assignments (id, challenge_id, application_id, expert_id, state, origin, affinity, \
         replaces, created_at, opened_at, withdrawn_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&a.id)
    .bind(&a.challenge_id)
    .bind(&a.application_id)
    .bind(&a.expert_id)
    .bind(&a.state)
    .bind(&a.origin)
    .bind(a.affinity)
    .bind(a.replaces.clone())
    .bind(a.created_at.micros())
    .bind(a.opened_at.map(Timestamp::micros))
    .bind(a.withdrawn_at.map(Timestamp::micros))
    .bind(a.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Live (not withdrawn) assignments of a challenge.
pub async fn live_assignments(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<AssignmentRow>, StoreError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE challenge_id = $1 AND state <> 'WITHDRAWN' ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(challenge_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(assignment_from_row).collect()
}

/// How many ASSIGNED (not yet submitted) assignments each expert holds, across challenges.
pub async fn open_loads(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT expert_id, COUNT(*) FROM assignments WHERE state = 'ASSIGNED' GROUP BY expert_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    pub challenge_id: Option<String>,
    pub application_id: Option<String>,
    pub expert_id: Option<String>,
    pub state: Option<String>,
    pub before_id: Option<String>,
    pub limit: i64,
}

pub async fn list_assignments(
    store: &Store,
    f: &AssignmentFilter,
) -> Result<Vec<AssignmentRow>, StoreError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments \
         WHERE ($1 IS NULL OR challenge_id = $1) AND ($2 IS NULL OR application_id = $2) \
         AND ($3 IS NULL OR expert_id = $3) AND ($4 IS NULL OR state = $4) AND ($5 IS NULL OR id < $5) \
         ORDER BY id DESC LIMIT $6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.challenge_id.clone())
        .bind(f.application_id.clone())
        .bind(f.expert_id.clone())
        .bind(f.state.clone())
        .bind(f.before_id.clone())
        .bind(f.limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(assignment_from_row).collect()
}

/// A recorded conflict of one expert with one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictRow {
    pub challenge_id: String,
    pub expert_id: String,
    pub application_id: String,
    pub kind: String,
    pub source: String,
    pub detail: String,
    pub recorded_at: Timestamp,
}

pub async fn record_conflict(tx: &mut Tx, c: &ConflictRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO conflict_records (challenge_id, expert_id, application_id, kind, source, detail, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (expert_id, application_id, kind, source) DO NOTHING",
    )
    .bind(&c.challenge_id)
    .bind(&c.expert_id)
    .bind(&c.application_id)
    .bind(&c.kind)
    .bind(&c.source)
    .bind(&c.detail)
    .bind(c.recorded_at.micros())
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn list_conflicts(
    store: &Store,
    challenge_id: &str,
    expert_id: Option<&str>,
    application_id: Option<&str>,
) -> Result<Vec<ConflictRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT challenge_id, expert_id, application_id, kind, source, detail, recorded_at FROM conflict_records \
         WHERE challenge_id = $1 AND ($2 IS NULL OR expert_id = $2) AND ($3 IS NULL OR application_id = $3) \
         ORDER BY application_id, expert_id, kind",
    )
    .bind(challenge_id)
    .bind(expert_id.map(str::to_owned))
    .bind(application_id.map(str::to_owned))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ConflictRow {
                challenge_id: r.try_get(0)?,
                expert_id: r.try_get(1)?,
                application_id: r.try_get(2)?,
                kind: r.try_get(3)?,
                source: r.try_get(4)?,
                detail: r.try_get(5)?,
                recorded_at: Timestamp(r.try_get(6)?),
            })
        })
        .collect()
}

/// A challenge's review panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panel {
    pub challenge_id: String,
    pub experts_per_application: i32,
    pub chair_expert_id: Option<String>,
    pub version: i64,
}

pub async fn get_panel(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Option<Panel>, StoreError> {
    let row = sqlx::query("SELECT challenge_id, experts_per_application, chair_expert_id, version FROM review_panels WHERE challenge_id = $1")
        .bind(challenge_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| -> Result<Panel, StoreError> {
        Ok(Panel {
            challenge_id: r.try_get(0)?,
            experts_per_application: i32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
            chair_expert_id: r.try_get(2)?,
            version: r.try_get(3)?,
        })
    })
    .transpose()
}

pub async fn insert_panel(tx: &mut Tx, p: &Panel) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO review_panels (challenge_id, experts_per_application, chair_expert_id, version) VALUES ($1, $2, $3, $4)")
        .bind(&p.challenge_id)
        .bind(i64::from(p.experts_per_application))
        .bind(p.chair_expert_id.clone())
        .bind(p.version)
        .execute(tx.conn())
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::UniqueViolation { .. } => StoreError::Conflict,
            other => other,
        })?;
    Ok(())
}

pub async fn set_chair(
    tx: &mut Tx,
    challenge_id: &str,
    chair: &str,
    expected_version: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE review_panels SET chair_expert_id = $1, version = version + 1 WHERE challenge_id = $2 AND version = $3")
        .bind(chair)
        .bind(challenge_id)
        .bind(expected_version)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Applications of a challenge (every state), oldest first.
pub async fn applications_of(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<jiebang_domain::application::Application>, StoreError> {
    let ids: Vec<String> =
        sqlx::query("SELECT id FROM applications WHERE challenge_id = $1 ORDER BY id")
            .bind(challenge_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(a) = crate::applications::get(conn, challenge_id, &id).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// A score sheet as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub id: String,
    pub assignment_id: String,
    pub challenge_id: String,
    pub application_id: String,
    pub expert_id: String,
    /// `DRAFT`, `SUBMITTED` or `SUPERSEDED`.
    pub state: String,
    pub content: jiebang_domain::review::sheet::SheetContent,
    pub revision: i32,
    pub supersedes: Option<String>,
    pub rescoring_reason: Option<String>,
    pub seal_sha256: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
    pub version: i64,
}

const SHEET_COLUMNS: &str = "id, assignment_id, challenge_id, application_id, expert_id, state, content, revision, \
     supersedes, rescoring_reason, seal_sha256, created_at, updated_at, submitted_at, version";

fn sheet_from_row(r: &AnyRow) -> Result<SheetRow, StoreError> {
    sheet_at(r, 0)
}

/// The columns read from `at` on, for reads that join several tables.
fn sheet_at(r: &AnyRow, at: usize) -> Result<SheetRow, StoreError> {
    Ok(SheetRow {
        id: r.try_get(at)?,
        assignment_id: r.try_get(at + 1)?,
        challenge_id: r.try_get(at + 2)?,
        application_id: r.try_get(at + 3)?,
        expert_id: r.try_get(at + 4)?,
        state: r.try_get(at + 5)?,
        content: json(&r.try_get::<String, _>(at + 6)?)?,
        revision: i32::try_from(r.try_get::<i64, _>(at + 7)?).unwrap_or(0),
        supersedes: r.try_get(at + 8)?,
        rescoring_reason: r.try_get(at + 9)?,
        seal_sha256: r.try_get(at + 10)?,
        created_at: Timestamp(r.try_get(at + 11)?),
        updated_at: Timestamp(r.try_get(at + 12)?),
        submitted_at: r.try_get::<Option<i64>, _>(at + 13)?.map(Timestamp),
        version: r.try_get(at + 14)?,
    })
}

/// The `scores` column: the content's criterion scores as `[[criterion, score], ...]`, in the
/// sheet's order, without the comments (what the ranking reads).
fn scores_json(
    content: &jiebang_domain::review::sheet::SheetContent,
) -> Result<String, StoreError> {
    let pairs: Vec<(&str, &str)> = content
        .scores
        .iter()
        .map(|s| (s.criterion.as_str(), s.score.as_str()))
        .collect();
    to_json(&pairs)
}

pub async fn insert_sheet(tx: &mut Tx, s: &SheetRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO score_sheets (id, assignment_id, challenge_id, application_id, expert_id, state, content, \
         revision, supersedes, rescoring_reason, seal_sha256, created_at, updated_at, submitted_at, version, \
         scores) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&s.id)
    .bind(&s.assignment_id)
    .bind(&s.challenge_id)
    .bind(&s.application_id)
    .bind(&s.expert_id)
    .bind(&s.state)
    .bind(to_json(&s.content)?)
    .bind(i64::from(s.revision))
    .bind(s.supersedes.clone())
    .bind(s.rescoring_reason.clone())
    .bind(s.seal_sha256.clone())
    .bind(s.created_at.micros())
    .bind(s.updated_at.micros())
    .bind(s.submitted_at.map(Timestamp::micros))
    .bind(s.version)
    .bind(scores_json(&s.content)?)
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        // Two first saves of one assignment's sheet at once: the loser retries as an update.
        StoreError::UniqueViolation { .. } => StoreError::Conflict,
        other => other,
    })?;
    Ok(())
}

/// Saves the next version of a sheet if it is still at `expected_version`.
pub async fn update_sheet(
    tx: &mut Tx,
    s: &SheetRow,
    expected_version: i64,
) -> Result<(), StoreError> {
    queue_sheet_update(tx, s, expected_version)?;
    tx.flush().await
}

/// [`update_sheet`], sent with the transaction's other queued writes.
pub fn queue_sheet_update(
    tx: &mut Tx,
    s: &SheetRow,
    expected_version: i64,
) -> Result<(), StoreError> {
    let (content, scores) = (to_json(&s.content)?, scores_json(&s.content)?);
    tx.queue(
        "UPDATE score_sheets SET state = $1, content = $2, seal_sha256 = $3, updated_at = $4, submitted_at = $5, \
         version = $6, scores = $9 WHERE id = $7 AND version = $8",
        Expect::OneRow,
    )
    .bind(&s.state)
    .bind(content)
    .bind(s.seal_sha256.clone())
    .bind(s.updated_at.micros())
    .bind(s.submitted_at.map(Timestamp::micros))
    .bind(s.version)
    .bind(&s.id)
    .bind(expected_version)
    .bind(scores);
    Ok(())
}

/// The current (not superseded) sheet of an assignment.
pub async fn current_sheet(
    conn: &mut AnyConnection,
    assignment_id: &str,
) -> Result<Option<SheetRow>, StoreError> {
    let sql = format!(
        "SELECT {SHEET_COLUMNS} FROM score_sheets WHERE assignment_id = $1 AND state <> 'SUPERSEDED'"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(assignment_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(sheet_from_row).transpose()
}

/// Every sheet of one application in a state (e.g. the sealed ones that count).
pub async fn sheets_of_application(
    conn: &mut AnyConnection,
    challenge_id: &str,
    application_id: &str,
    state: &str,
) -> Result<Vec<SheetRow>, StoreError> {
    let sql = format!(
        "SELECT {SHEET_COLUMNS} FROM score_sheets \
         WHERE challenge_id = $1 AND state = $2 AND application_id = $3 ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(challenge_id)
        .bind(state)
        .bind(application_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(sheet_from_row).collect()
}

pub async fn get_assignment(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<AssignmentRow>, StoreError> {
    let sql = format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(assignment_from_row).transpose()
}

/// Moves an assignment to `state` (and records the first opening) if unchanged since read.
pub async fn update_assignment(
    tx: &mut Tx,
    a: &AssignmentRow,
    expected_version: i64,
) -> Result<(), StoreError> {
    queue_assignment_update(tx, a, expected_version);
    tx.flush().await
}

/// [`update_assignment`], sent with the transaction's other queued writes.
pub fn queue_assignment_update(tx: &mut Tx, a: &AssignmentRow, expected_version: i64) {
    tx.queue(
        "UPDATE assignments SET state = $1, opened_at = $2, withdrawn_at = $3, version = $4 WHERE id = $5 AND version = $6",
        Expect::OneRow,
    )
    .bind(&a.state)
    .bind(a.opened_at.map(Timestamp::micros))
    .bind(a.withdrawn_at.map(Timestamp::micros))
    .bind(a.version)
    .bind(&a.id)
    .bind(expected_version);
}

/// What sealing a score sheet decides on, read at once: the caller's own assignment, the
/// sheet, whether a conflict of interest is recorded between its expert and application, and
/// the challenge's criteria.
#[derive(Debug, Clone)]
pub struct SheetToSeal {
    pub assignment: AssignmentRow,
    pub sheet: SheetRow,
    pub conflicted: bool,
    pub criteria: Vec<jiebang_domain::challenge::Criterion>,
}

/// [`SheetToSeal`] for the expert who is the user `user_id`; `None` unless the assignment is
/// theirs and the sheet belongs to it.
pub async fn sheet_to_seal(
    conn: &mut AnyConnection,
    user_id: &str,
    assignment_id: &str,
    sheet_id: &str,
) -> Result<Option<SheetToSeal>, StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {}, {}, \
             (SELECT COUNT(*) FROM conflict_records k \
              WHERE k.expert_id = a.expert_id AND k.application_id = a.application_id), \
             c.spec \
             FROM assignments a \
             JOIN experts e ON e.id = a.expert_id \
             JOIN score_sheets s ON s.assignment_id = a.id \
             JOIN challenges c ON c.id = a.challenge_id \
             WHERE a.id = $2 AND e.user_id = $1 AND s.id = $3",
            columns::qualified("a", ASSIGNMENT_COLUMNS),
            columns::qualified("s", SHEET_COLUMNS)
        )
    });
    /// The one part of the spec sealing needs. A challenge's spec changes only while it is a
    /// DRAFT, long before any sheet exists.
    #[derive(serde::Deserialize)]
    struct Criteria {
        criteria: Vec<jiebang_domain::challenge::Criterion>,
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(user_id)
        .bind(assignment_id)
        .bind(sheet_id)
        .fetch_optional(conn)
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let sheet_at_column = columns::count(ASSIGNMENT_COLUMNS);
    let after = sheet_at_column + columns::count(SHEET_COLUMNS);
    Ok(Some(SheetToSeal {
        assignment: assignment_at(&r, 0)?,
        sheet: sheet_at(&r, sheet_at_column)?,
        conflicted: r.try_get::<i64, _>(after)? > 0,
        criteria: json::<Criteria>(&r.try_get::<String, _>(after + 1)?)?.criteria,
    }))
}

/// The chair's dispersion resolutions of a challenge: application → (reason, resolver, at).
pub async fn resolutions(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<(String, String, String, Timestamp)>, StoreError> {
    let rows = sqlx::query("SELECT application_id, reason, resolver_id, resolved_at FROM dispersion_resolutions WHERE challenge_id = $1")
        .bind(challenge_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                Timestamp(r.try_get(3)?),
            ))
        })
        .collect()
}

pub async fn resolve_dispersion(
    tx: &mut Tx,
    challenge_id: &str,
    application_id: &str,
    reason: &str,
    resolver: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dispersion_resolutions (application_id, challenge_id, reason, resolver_id, resolved_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(application_id)
    .bind(challenge_id)
    .bind(reason)
    .bind(resolver)
    .bind(at.micros())
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::UniqueViolation { .. } => StoreError::Conflict,
        other => other,
    })?;
    Ok(())
}

/// An expert's assignments not withdrawn, on a connection the caller holds.
pub async fn expert_live_assignments(
    conn: &mut AnyConnection,
    expert_id: &str,
) -> Result<Vec<AssignmentRow>, StoreError> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE expert_id = $1 AND state <> 'WITHDRAWN' ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(expert_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(assignment_from_row).collect()
}

// ---------------------------------------------------------------------------------------------
// The ranking's reads: a challenge at 100,000 applications × 7 sheets reads each table once,
// streamed, and only the columns (and the parts of the JSON) the ranking shows.

/// What the ranking reads of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankingApplication {
    pub id: String,
    pub state: jiebang_domain::application::ApplicationState,
    pub lead_organization_id: String,
    pub title: String,
    pub requested_budget_fen: i64,
    /// Its 1-based position among every application of the challenge (any state) in id order:
    /// the number of its blind label.
    pub position: i64,
}

/// The two fields of the content the ranking shows (serde skips the rest without keeping it).
#[derive(serde::Deserialize)]
struct RankingContent {
    title: String,
    requested_budget_fen: i64,
}

/// Every application of a challenge (every state), in id order, as the ranking reads it.
pub async fn ranking_applications(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<RankingApplication>, StoreError> {
    use futures::TryStreamExt;
    let mut rows = sqlx::query(
        "SELECT id, state, lead_organization_id, title, requested_budget_fen, \
         CASE WHEN title IS NULL OR requested_budget_fen IS NULL THEN content END \
         FROM applications WHERE challenge_id = $1 ORDER BY id",
    )
    .bind(challenge_id)
    .fetch(conn);
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let state: String = row.try_get(1)?;
        let title: Option<String> = row.try_get(3)?;
        let budget: Option<i64> = row.try_get(4)?;
        let (title, requested_budget_fen) = match (title, budget) {
            (Some(title), Some(budget)) => (title, budget),
            // Saved before the columns existed and not backfilled: read from the content.
            _ => {
                let content: RankingContent =
                    serde_json::from_str(row.try_get_unchecked::<&str, _>(5)?)
                        .map_err(|e| StoreError::Corrupt(format!("application content: {e}")))?;
                (content.title, content.requested_budget_fen)
            }
        };
        out.push(RankingApplication {
            id: row.try_get(0)?,
            state: jiebang_domain::application::ApplicationState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("application state {state}")))?,
            lead_organization_id: row.try_get(2)?,
            title,
            requested_budget_fen,
            position: i64::try_from(out.len() + 1).unwrap_or(i64::MAX),
        });
    }
    Ok(out)
}

/// One pair of the `scores` column, borrowed from the stored JSON.
#[derive(serde::Deserialize)]
struct ScorePair<'a>(
    #[serde(borrow)] std::borrow::Cow<'a, str>,
    #[serde(borrow)] std::borrow::Cow<'a, str>,
);

/// The criterion scores of a sheet's content (when `scores` is NULL), borrowed from the stored
/// JSON; comments and the rest are skipped.
#[derive(serde::Deserialize)]
struct StoredScores<'a> {
    #[serde(borrow)]
    scores: Vec<StoredScore<'a>>,
}

#[derive(serde::Deserialize)]
struct StoredScore<'a> {
    #[serde(borrow)]
    criterion: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    score: std::borrow::Cow<'a, str>,
}

/// Streams the sheets of a challenge in `state` (e.g. the sealed ones that count), in no
/// particular order: `each(application id, the sheet's scores aligned with criteria)`, as
/// [`jiebang_domain::review::sheet::SheetContent::aligned`] aligns them. Returns how many.
///
/// On PostgreSQL the rows are parsed on a blocking thread, a batch at a time, while the next
/// batch is received: at 700,000 sheets, receiving the rows and parsing their JSON and
/// decimals are each about half of the work, and the other core is otherwise mostly idle
/// meanwhile. On SQLite the rows already come from a thread of sqlx's, and a third busy thread
/// on two cores made the read slower (2.4 → 2.6 s), so they are parsed here.
pub async fn sheet_scores_of_challenge(
    conn: &mut AnyConnection,
    challenge_id: &str,
    state: &str,
    criteria: &[jiebang_domain::challenge::Criterion],
    mut each: impl FnMut(&str, Vec<rust_decimal::Decimal>),
) -> Result<usize, StoreError> {
    use futures::TryStreamExt;
    let criteria: Arc<[jiebang_domain::challenge::Criterion]> = criteria.into();
    let parse_beside = Dialect::of(conn) == Dialect::Postgres;
    let mut rows = sqlx::query(
        "SELECT application_id, scores, CASE WHEN scores IS NULL THEN content END FROM score_sheets \
         WHERE challenge_id = $1 AND state = $2",
    )
    .bind(challenge_id)
    .bind(state)
    .fetch(conn);
    let mut count = 0;
    let mut filling = SheetBatch::default();
    let mut parsing: Option<tokio::task::JoinHandle<Result<ParsedBatch, StoreError>>> = None;
    let mut deliver = |parsed: ParsedBatch| {
        for (i, aligned) in parsed.aligned.into_iter().enumerate() {
            each(parsed.batch.application_id(i), aligned);
        }
    };
    loop {
        let row = rows.try_next().await?;
        if let Some(row) = &row {
            match row.try_get_unchecked::<Option<&str>, _>(1)? {
                Some(scores) => filling.push(row.try_get_unchecked(0)?, scores, false),
                // Written before `scores` existed and not backfilled: read from the content.
                None => filling.push(row.try_get_unchecked(0)?, row.try_get_unchecked(2)?, true),
            }
            count += 1;
            if filling.len() < SheetBatch::ROWS {
                continue;
            }
        }
        if let Some(handle) = parsing.take() {
            deliver(joined(handle.await)?);
        }
        if filling.len() > 0 {
            let batch = std::mem::take(&mut filling);
            if parse_beside {
                let criteria = criteria.clone();
                parsing = Some(tokio::task::spawn_blocking(move || batch.parse(&criteria)));
            } else {
                deliver(batch.parse(&criteria)?);
            }
        }
        if row.is_none() {
            if let Some(handle) = parsing.take() {
                deliver(joined(handle.await)?);
            }
            return Ok(count);
        }
    }
}

/// A parsing task's result. A panic in it is this thread's panic; a task cancelled (the
/// runtime shutting down) is a database read that did not finish.
fn joined<T>(
    result: Result<Result<T, StoreError>, tokio::task::JoinError>,
) -> Result<T, StoreError> {
    match result {
        Ok(parsed) => parsed,
        Err(stopped) => match stopped.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(StoreError::Database(sqlx::Error::WorkerCrashed)),
        },
    }
}

/// Sheets received and not yet parsed: their texts end to end, and where each starts.
#[derive(Default)]
struct SheetBatch {
    text: String,
    /// Per sheet: where its application id ends and its JSON ends in `text` (each starts
    /// where the one before ended), and whether the JSON is the whole content rather than
    /// the `scores` column.
    ends: Vec<(usize, usize, bool)>,
}

/// A batch and the aligned scores of each of its sheets.
struct ParsedBatch {
    batch: SheetBatch,
    aligned: Vec<Vec<rust_decimal::Decimal>>,
}

impl SheetBatch {
    /// Rows per batch: enough that handing a batch over costs nothing next to parsing it, and
    /// few enough that the bench's smoke run (1,400 sheets, in CI) goes through several.
    const ROWS: usize = 1024;

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn push(&mut self, application_id: &str, json: &str, whole_content: bool) {
        self.text.push_str(application_id);
        let id_end = self.text.len();
        self.text.push_str(json);
        self.ends.push((id_end, self.text.len(), whole_content));
    }

    fn start(&self, i: usize) -> usize {
        i.checked_sub(1).map_or(0, |before| self.ends[before].1)
    }

    fn application_id(&self, i: usize) -> &str {
        &self.text[self.start(i)..self.ends[i].0]
    }

    fn parse(
        self,
        criteria: &[jiebang_domain::challenge::Criterion],
    ) -> Result<ParsedBatch, StoreError> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("review json: {e}"));
        let aligned = self
            .ends
            .iter()
            .map(|&(id_end, end, whole_content)| {
                let json = &self.text[id_end..end];
                Ok(if whole_content {
                    let stored: StoredScores<'_> = serde_json::from_str(json).map_err(corrupt)?;
                    jiebang_domain::review::sheet::align(
                        stored
                            .scores
                            .iter()
                            .map(|s| (s.criterion.as_ref(), s.score.as_ref())),
                        criteria,
                    )
                } else {
                    let pairs: Vec<ScorePair<'_>> = serde_json::from_str(json).map_err(corrupt)?;
                    jiebang_domain::review::sheet::align(
                        pairs.iter().map(|p| (p.0.as_ref(), p.1.as_ref())),
                        criteria,
                    )
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(ParsedBatch {
            batch: self,
            aligned,
        })
    }
}

/// How many live (not withdrawn) assignments each application of a challenge has.
pub async fn live_assignment_counts(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = sqlx::query(
        "SELECT application_id, COUNT(*) FROM assignments \
         WHERE challenge_id = $1 AND state <> 'WITHDRAWN' GROUP BY application_id",
    )
    .bind(challenge_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiebang_domain::challenge::{Criterion, CriterionKind};
    use rust_decimal::Decimal;

    fn criteria() -> Vec<Criterion> {
        ["技术", "团队"]
            .into_iter()
            .map(|name| Criterion {
                name: name.into(),
                kind: CriterionKind::TechnicalFeasibility,
                weight: 50,
                guidance: String::new(),
            })
            .collect()
    }

    #[test]
    fn a_batch_gives_back_each_sheet_with_its_own_application_and_scores() {
        let mut batch = SheetBatch::default();
        batch.push("app-1", r#"[["技术","40.5"],["团队","30"]]"#, false);
        // A sheet stored before the `scores` column: its whole content, comments and all.
        batch.push(
            "app-22",
            r#"{"scores":[{"criterion":"团队","score":"12","comment":"好"},{"criterion":"技术","score":"7.25"}],"overall_comment":"x"}"#,
            true,
        );
        batch.push("", "[]", false);
        let parsed = batch.parse(&criteria()).unwrap();
        let d = |text: &str| text.parse::<Decimal>().unwrap();
        assert_eq!(parsed.batch.application_id(0), "app-1");
        assert_eq!(parsed.batch.application_id(1), "app-22");
        assert_eq!(parsed.batch.application_id(2), "");
        assert_eq!(
            parsed.aligned,
            vec![
                vec![d("40.5"), d("30")],
                vec![d("7.25"), d("12")],
                vec![Decimal::ZERO, Decimal::ZERO],
            ]
        );
    }

    #[test]
    fn unreadable_json_is_reported_as_corrupt_not_skipped() {
        let mut batch = SheetBatch::default();
        batch.push("app-1", r#"[["技术","40.5"]"#, false);
        assert!(matches!(
            batch.parse(&criteria()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
