//! Rows of public notices, objections and the projects appointment starts.

use crate::{StoreError, Tx};
use jiebang_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub challenge_id: String,
    pub round: i32,
    /// `OPEN`, `SUPERSEDED` or `CONCLUDED` (ENDED is derived from `end_at`).
    pub state: String,
    pub working_days: i32,
    /// Application ids of the proposed winners.
    pub winners: Vec<String>,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
}

fn notice_from_row(r: &AnyRow) -> Result<NoticeRow, StoreError> {
    let winners: String = r.try_get(4)?;
    Ok(NoticeRow {
        challenge_id: r.try_get(0)?,
        round: i32::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
        state: r.try_get(2)?,
        working_days: i32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
        winners: serde_json::from_str(&winners)
            .map_err(|e| StoreError::Corrupt(format!("notice winners: {e}")))?,
        start_at: Timestamp(r.try_get(5)?),
        end_at: Timestamp(r.try_get(6)?),
    })
}

/// The latest notice of a challenge.
pub async fn latest(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Option<NoticeRow>, StoreError> {
    let row = sqlx::query(
        "SELECT challenge_id, round, state, working_days, winners, start_at, end_at FROM public_notices \
         WHERE challenge_id = $1 ORDER BY round DESC LIMIT 1",
    )
    .bind(challenge_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(notice_from_row).transpose()
}

/// Inserts a notice round; a racing insert of the same round is a conflict to retry.
pub async fn insert(tx: &mut Tx, n: &NoticeRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO public_notices (challenge_id, round, state, working_days, winners, start_at, end_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&n.challenge_id)
    .bind(i64::from(n.round))
    .bind(&n.state)
    .bind(i64::from(n.working_days))
    .bind(serde_json::to_string(&n.winners).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(n.start_at.micros())
    .bind(n.end_at.micros())
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::UniqueViolation { .. } => StoreError::Conflict,
        other => other,
    })?;
    Ok(())
}

pub async fn set_state(
    tx: &mut Tx,
    challenge_id: &str,
    round: i32,
    from: &str,
    to: &str,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE public_notices SET state = $1 WHERE challenge_id = $2 AND round = $3 AND state = $4")
        .bind(to)
        .bind(challenge_id)
        .bind(i64::from(round))
        .bind(from)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// What an objector writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectionContent {
    pub contact_person: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub grounds: String,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectionRow {
    pub id: String,
    pub challenge_id: String,
    pub application_id: Option<String>,
    pub objector_id: String,
    pub content: ObjectionContent,
    /// `PENDING`, `DISMISSED` or `UPHELD`.
    pub state: String,
    pub notice_round: i32,
    pub ruling_reason: Option<String>,
    /// `REPLACE_WINNER` or `REOPEN_REVIEW`.
    pub remedy: Option<String>,
    pub ruler_id: Option<String>,
    pub filed_at: Timestamp,
    pub ruled_at: Option<Timestamp>,
    pub version: i64,
}

const OBJECTION_COLUMNS: &str = "id, challenge_id, application_id, objector_id, content, state, notice_round, \
     ruling_reason, remedy, ruler_id, filed_at, ruled_at, version";

fn objection_from_row(r: &AnyRow) -> Result<ObjectionRow, StoreError> {
    let content: String = r.try_get(4)?;
    Ok(ObjectionRow {
        id: r.try_get(0)?,
        challenge_id: r.try_get(1)?,
        application_id: r.try_get(2)?,
        objector_id: r.try_get(3)?,
        content: serde_json::from_str(&content)
            .map_err(|e| StoreError::Corrupt(format!("objection: {e}")))?,
        state: r.try_get(5)?,
        notice_round: i32::try_from(r.try_get::<i64, _>(6)?).unwrap_or(0),
        ruling_reason: r.try_get(7)?,
        remedy: r.try_get(8)?,
        ruler_id: r.try_get(9)?,
        filed_at: Timestamp(r.try_get(10)?),
        ruled_at: r.try_get::<Option<i64>, _>(11)?.map(Timestamp),
        version: r.try_get(12)?,
    })
}

pub async fn insert_objection(tx: &mut Tx, o: &ObjectionRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO objections (id, challenge_id, application_id, objector_id, content, state, notice_round, \
         ruling_reason, remedy, ruler_id, filed_at, ruled_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&o.id)
    .bind(&o.challenge_id)
    .bind(o.application_id.clone())
    .bind(&o.objector_id)
    .bind(serde_json::to_string(&o.content).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(&o.state)
    .bind(i64::from(o.notice_round))
    .bind(o.ruling_reason.clone())
    .bind(o.remedy.clone())
    .bind(o.ruler_id.clone())
    .bind(o.filed_at.micros())
    .bind(o.ruled_at.map(Timestamp::micros))
    .bind(o.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn update_objection(
    tx: &mut Tx,
    o: &ObjectionRow,
    expected_version: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE objections SET state = $1, ruling_reason = $2, remedy = $3, ruler_id = $4, ruled_at = $5, version = $6 \
         WHERE id = $7 AND version = $8",
    )
    .bind(&o.state)
    .bind(o.ruling_reason.clone())
    .bind(o.remedy.clone())
    .bind(o.ruler_id.clone())
    .bind(o.ruled_at.map(Timestamp::micros))
    .bind(o.version)
    .bind(&o.id)
    .bind(expected_version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

pub async fn get_objection(
    conn: &mut AnyConnection,
    challenge_id: &str,
    id: &str,
) -> Result<Option<ObjectionRow>, StoreError> {
    let sql =
        format!("SELECT {OBJECTION_COLUMNS} FROM objections WHERE id = $1 AND challenge_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(challenge_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(objection_from_row).transpose()
}

/// Objections of a challenge, oldest first; only `objector_id`'s when given.
pub async fn objections(
    conn: &mut AnyConnection,
    challenge_id: &str,
    objector_id: Option<&str>,
) -> Result<Vec<ObjectionRow>, StoreError> {
    let sql = format!(
        "SELECT {OBJECTION_COLUMNS} FROM objections WHERE challenge_id = $1 AND ($2 IS NULL OR objector_id = $2) ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(challenge_id)
        .bind(objector_id.map(str::to_owned))
        .fetch_all(conn)
        .await?;
    rows.iter().map(objection_from_row).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub id: String,
    pub challenge_id: String,
    pub application_id: String,
    pub award_fen: i64,
    pub state: String,
    pub start_at: Timestamp,
    pub created_at: Timestamp,
    pub version: i64,
}

/// One project per appointed application, enforced by a unique key.
pub async fn insert_project(tx: &mut Tx, p: &ProjectRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO projects (id, challenge_id, application_id, award_fen, state, start_at, created_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&p.id)
    .bind(&p.challenge_id)
    .bind(&p.application_id)
    .bind(p.award_fen)
    .bind(&p.state)
    .bind(p.start_at.micros())
    .bind(p.created_at.micros())
    .bind(p.version)
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::UniqueViolation { .. } => StoreError::Conflict,
        other => other,
    })?;
    Ok(())
}

pub async fn project_of(
    conn: &mut AnyConnection,
    application_id: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT id FROM projects WHERE application_id = $1")
        .bind(application_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| r.try_get::<String, _>(0))
        .transpose()
        .map_err(Into::into)
}

/// AWARDED challenges whose projects have started by `now`: the clock moves them IN_PROGRESS.
pub async fn awarded_and_started(
    conn: &mut AnyConnection,
    now: Timestamp,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT DISTINCT c.id FROM challenges c JOIN projects p ON p.challenge_id = c.id \
         WHERE c.state = 'AWARDED' AND p.start_at <= $1 ORDER BY c.id",
    )
    .bind(now.micros())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}
