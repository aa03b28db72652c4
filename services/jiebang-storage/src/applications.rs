//! Rows of applications, their team members and their organisations, and the facts the
//! eligibility rules need.

use crate::{Dialect, Store, StoreError, Tx};
use jiebang_domain::Timestamp;
use jiebang_domain::application::{
    Application, ApplicationContent, ApplicationState, FormalCheck, Pledge,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "id, challenge_id, round, state, lead_organization_id, creator_id, content, \
                       pledge, formal_check, withdrawal_reason, submitted_at, withdrawn_at, \
                       created_at, updated_at, version";

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("application {what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("application json: {e}")))
}

fn from_row(row: &AnyRow) -> Result<Application, StoreError> {
    let state: String = row.try_get(3)?;
    let content: String = row.try_get(6)?;
    let pledge: Option<String> = row.try_get(7)?;
    let formal_check: Option<String> = row.try_get(8)?;
    Ok(Application {
        id: row.try_get(0)?,
        challenge_id: row.try_get(1)?,
        round: row.try_get(2)?,
        state: ApplicationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("application state {state}")))?,
        lead_organization_id: row.try_get(4)?,
        creator_id: row.try_get(5)?,
        content: json::<ApplicationContent>(&content, "content")?,
        pledge: pledge
            .as_deref()
            .map(|p| json::<Pledge>(p, "pledge"))
            .transpose()?,
        formal_check: formal_check
            .as_deref()
            .map(|f| json::<FormalCheck>(f, "formal check"))
            .transpose()?,
        withdrawal_reason: row.try_get(9)?,
        submitted_at: row.try_get::<Option<i64>, _>(10)?.map(Timestamp),
        withdrawn_at: row.try_get::<Option<i64>, _>(11)?.map(Timestamp),
        created_at: Timestamp(row.try_get(12)?),
        updated_at: Timestamp(row.try_get(13)?),
        version: row.try_get(14)?,
    })
}

/// Replaces the team, organisation and document rows of an application.
async fn write_links(tx: &mut Tx, a: &Application) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM application_members WHERE application_id = $1")
        .bind(&a.id)
        .execute(tx.conn())
        .await?;
    for user in a.team_user_ids() {
        sqlx::query("INSERT INTO application_members (application_id, user_id) VALUES ($1, $2)")
            .bind(&a.id)
            .bind(user)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("DELETE FROM application_organizations WHERE application_id = $1")
        .bind(&a.id)
        .execute(tx.conn())
        .await?;
    for org in a.content.organization_ids(&a.lead_organization_id) {
        sqlx::query("INSERT INTO application_organizations (application_id, organization_id) VALUES ($1, $2)")
            .bind(&a.id)
            .bind(org)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("DELETE FROM application_documents WHERE application_id = $1")
        .bind(&a.id)
        .execute(tx.conn())
        .await?;
    for sha in &a.content.documents {
        sqlx::query("INSERT INTO application_documents (application_id, sha256) VALUES ($1, $2)")
            .bind(&a.id)
            .bind(sha)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

pub async fn insert(tx: &mut Tx, a: &Application) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO applications (id, challenge_id, round, state, lead_organization_id, creator_id, \
         content, pledge, formal_check, withdrawal_reason, submitted_at, withdrawn_at, created_at, \
         updated_at, version, title, requested_budget_fen) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&a.id)
    .bind(&a.challenge_id)
    .bind(&a.round)
    .bind(a.state.as_str())
    .bind(&a.lead_organization_id)
    .bind(&a.creator_id)
    .bind(to_json(&a.content)?)
    .bind(a.pledge.as_ref().map(to_json).transpose()?)
    .bind(a.formal_check.as_ref().map(to_json).transpose()?)
    .bind(a.withdrawal_reason.clone())
    .bind(a.submitted_at.map(Timestamp::micros))
    .bind(a.withdrawn_at.map(Timestamp::micros))
    .bind(a.created_at.micros())
    .bind(a.updated_at.micros())
    .bind(a.version)
    .bind(&a.content.title)
    .bind(a.content.requested_budget_fen)
    .execute(tx.conn())
    .await?;
    write_links(tx, a).await
}

/// Saves the next version if the stored one is still `expected_version`, else `Conflict`.
pub async fn update(tx: &mut Tx, a: &Application, expected_version: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE applications SET state = $1, content = $2, pledge = $3, formal_check = $4, \
         withdrawal_reason = $5, submitted_at = $6, withdrawn_at = $7, updated_at = $8, version = $9, \
         title = $12, requested_budget_fen = $13 WHERE id = $10 AND version = $11",
    )
    .bind(a.state.as_str())
    .bind(to_json(&a.content)?)
    .bind(a.pledge.as_ref().map(to_json).transpose()?)
    .bind(a.formal_check.as_ref().map(to_json).transpose()?)
    .bind(a.withdrawal_reason.clone())
    .bind(a.submitted_at.map(Timestamp::micros))
    .bind(a.withdrawn_at.map(Timestamp::micros))
    .bind(a.updated_at.micros())
    .bind(a.version)
    .bind(&a.id)
    .bind(expected_version)
    .bind(&a.content.title)
    .bind(a.content.requested_budget_fen)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict);
    }
    write_links(tx, a).await
}

#[tracing::instrument(name = "db applications.get", skip_all, level = "info")]
pub async fn get(
    conn: &mut AnyConnection,
    challenge_id: &str,
    id: &str,
) -> Result<Option<Application>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1 AND challenge_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(challenge_id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What a listing may show: the bureau everything; others their team's applications, plus —
/// for publishers — the submitted applications of their own challenges after the deadline.
#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub challenge_id: Option<String>,
    pub state: Option<ApplicationState>,
    pub lead_organization_id: Option<String>,
    pub viewer_is_admin: bool,
    pub viewer_user_id: String,
    /// Set for publishers: their organisation, whose closed challenges' submissions they see.
    pub viewer_publisher_org: Option<String>,
    pub before_id: Option<String>,
    pub limit: i64,
}

/// Newest first, keyset-paginated.
pub async fn list(
    store: &Store,
    f: &ApplicationFilter,
    now: Timestamp,
) -> Result<Vec<Application>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM applications a \
         WHERE ($1 IS NULL OR a.challenge_id = $1) \
         AND ($2 IS NULL OR a.state = $2) \
         AND ($3 IS NULL OR a.lead_organization_id = $3) \
         AND ($4 IS NULL OR a.id < $4) \
         AND ($5 = 1 \
              OR EXISTS (SELECT 1 FROM application_members m WHERE m.application_id = a.id AND m.user_id = $6) \
              OR ($7 IS NOT NULL AND a.state <> 'DRAFT' AND EXISTS (\
                  SELECT 1 FROM challenges c WHERE c.id = a.challenge_id AND c.publisher_id = $7 AND c.close_at <= $8))) \
         ORDER BY a.id DESC LIMIT $9"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(f.challenge_id.clone())
        .bind(f.state.map(|s| s.as_str().to_owned()))
        .bind(f.lead_organization_id.clone())
        .bind(f.before_id.clone())
        .bind(i64::from(f.viewer_is_admin))
        .bind(f.viewer_user_id.clone())
        .bind(f.viewer_publisher_org.clone())
        .bind(now.micros())
        .bind(f.limit)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Serialises submissions that involve the same organisations (PostgreSQL row locks, taken in
/// id order so two transactions never wait on each other in a cycle). SQLite already runs one
/// writer at a time.
pub async fn lock_organizations(tx: &mut Tx, mut ids: Vec<String>) -> Result<(), StoreError> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    ids.sort();
    ids.dedup();
    for id in ids {
        sqlx::query("SELECT id FROM organizations WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    }
    Ok(())
}

/// How many submitted applications of `round` (other than `except_id`) the organisation takes
/// part in.
pub async fn count_in_round(
    tx: &mut Tx,
    organization_id: &str,
    round: &str,
    except_id: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM application_organizations o JOIN applications a ON a.id = o.application_id \
         WHERE o.organization_id = $1 AND a.round = $2 AND a.id <> $3 \
         AND a.state NOT IN ('DRAFT', 'WITHDRAWN')",
    )
    .bind(organization_id)
    .bind(round)
    .bind(except_id)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// Whether the organisation took part in an appointed application of `round`.
pub async fn won_in_round(
    tx: &mut Tx,
    organization_id: &str,
    round: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM application_organizations o JOIN applications a ON a.id = o.application_id \
         WHERE o.organization_id = $1 AND a.round = $2 AND a.state = 'APPOINTED'",
    )
    .bind(organization_id)
    .bind(round)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Whether a bar on the organisation is in force at `now` (a bar may lapse at its end time).
pub async fn is_barred(
    tx: &mut Tx,
    organization_id: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM organization_bars WHERE organization_id = $1 \
         AND (barred_until IS NULL OR barred_until > $2)",
    )
    .bind(organization_id)
    .bind(now.micros())
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Whether the lead organisation already has a submitted application for the challenge.
pub async fn lead_already_applied(
    tx: &mut Tx,
    challenge_id: &str,
    lead: &str,
    except_id: &str,
) -> Result<bool, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM applications WHERE challenge_id = $1 AND lead_organization_id = $2 \
         AND id <> $3 AND state NOT IN ('DRAFT', 'WITHDRAWN')",
    )
    .bind(challenge_id)
    .bind(lead)
    .bind(except_id)
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Bars an organisation (used by the milestone step when misconduct is recorded).
pub async fn bar_organization(
    tx: &mut Tx,
    organization_id: &str,
    reason: &str,
    until: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), StoreError> {
    // A second bar never shortens the first: the later end, or none, wins.
    sqlx::query(
        "INSERT INTO organization_bars (organization_id, reason, created_at, barred_until) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (organization_id) DO UPDATE SET reason = excluded.reason, barred_until = \
         CASE WHEN organization_bars.barred_until IS NULL OR excluded.barred_until IS NULL THEN NULL \
         WHEN excluded.barred_until > organization_bars.barred_until THEN excluded.barred_until \
         ELSE organization_bars.barred_until END",
    )
    .bind(organization_id)
    .bind(reason)
    .bind(now.micros())
    .bind(until.map(Timestamp::micros))
    .execute(tx.conn())
    .await?;
    Ok(())
}
