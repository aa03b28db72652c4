//! Rows of applications, their team members and their organisations, and the facts the
//! eligibility rules need.

use crate::batch::Expect;
use crate::columns;
use crate::{Dialect, Store, StoreError, Tx};
use jiebang_domain::Timestamp;
use jiebang_domain::application::{
    Application, ApplicationContent, ApplicationState, FormalCheck, Pledge,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

pub(crate) const COLUMNS: &str = "id, challenge_id, round, state, lead_organization_id, creator_id, content, \
                       pledge, formal_check, withdrawal_reason, submitted_at, withdrawn_at, \
                       created_at, updated_at, version";

fn json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("application {what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("application json: {e}")))
}

fn from_row(row: &AnyRow) -> Result<Application, StoreError> {
    from_row_at(row, 0)
}

/// [`from_row`] of the columns from `at` on (a row that joins other tables).
pub(crate) fn from_row_at(row: &AnyRow, at: usize) -> Result<Application, StoreError> {
    let state: String = row.try_get(at + 3)?;
    let content: String = row.try_get(at + 6)?;
    let pledge: Option<String> = row.try_get(at + 7)?;
    let formal_check: Option<String> = row.try_get(at + 8)?;
    Ok(Application {
        id: row.try_get(at)?,
        challenge_id: row.try_get(at + 1)?,
        round: row.try_get(at + 2)?,
        state: ApplicationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("application state {state}")))?,
        lead_organization_id: row.try_get(at + 4)?,
        creator_id: row.try_get(at + 5)?,
        content: json::<ApplicationContent>(&content, "content")?,
        pledge: pledge
            .as_deref()
            .map(|p| json::<Pledge>(p, "pledge"))
            .transpose()?,
        formal_check: formal_check
            .as_deref()
            .map(|f| json::<FormalCheck>(f, "formal check"))
            .transpose()?,
        withdrawal_reason: row.try_get(at + 9)?,
        submitted_at: row.try_get::<Option<i64>, _>(at + 10)?.map(Timestamp),
        withdrawn_at: row.try_get::<Option<i64>, _>(at + 11)?.map(Timestamp),
        created_at: Timestamp(row.try_get(at + 12)?),
        updated_at: Timestamp(row.try_get(at + 13)?),
        version: row.try_get(at + 14)?,
    })
}

/// Replaces the team, organisation and document rows of an application.
fn queue_links(tx: &mut Tx, a: &Application) {
    tx.queue(
        "DELETE FROM application_members WHERE application_id = $1",
        Expect::Any,
    )
    .bind(&a.id);
    for user in a.team_user_ids() {
        tx.queue(
            "INSERT INTO application_members (application_id, user_id) VALUES ($1, $2)",
            Expect::Any,
        )
        .bind(&a.id)
        .bind(user);
    }
    tx.queue(
        "DELETE FROM application_organizations WHERE application_id = $1",
        Expect::Any,
    )
    .bind(&a.id);
    for org in a.content.organization_ids(&a.lead_organization_id) {
        tx.queue(
            "INSERT INTO application_organizations (application_id, organization_id) VALUES ($1, $2)",
            Expect::Any,
        )
        .bind(&a.id)
        .bind(org);
    }
    tx.queue(
        "DELETE FROM application_documents WHERE application_id = $1",
        Expect::Any,
    )
    .bind(&a.id);
    for sha in &a.content.documents {
        tx.queue(
            "INSERT INTO application_documents (application_id, sha256) VALUES ($1, $2)",
            Expect::Any,
        )
        .bind(&a.id)
        .bind(sha);
    }
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
    queue_links(tx, a);
    tx.flush().await
}

/// Saves the next version, with its team, organisation and document rows, if the stored one
/// is still `expected_version`, else `Conflict`.
pub async fn update(tx: &mut Tx, a: &Application, expected_version: i64) -> Result<(), StoreError> {
    queue_update_row(tx, a, expected_version)?;
    queue_links(tx, a);
    tx.flush().await
}

/// The application's own row of [`update`], sent with the transaction's other queued writes:
/// for changes that leave the content (and so the team, organisation and document rows) as
/// they were, such as submission.
pub fn queue_update_row(
    tx: &mut Tx,
    a: &Application,
    expected_version: i64,
) -> Result<(), StoreError> {
    let (content, pledge, formal_check) = (
        to_json(&a.content)?,
        a.pledge.as_ref().map(to_json).transpose()?,
        a.formal_check.as_ref().map(to_json).transpose()?,
    );
    tx.queue(
        "UPDATE applications SET state = $1, content = $2, pledge = $3, formal_check = $4, \
         withdrawal_reason = $5, submitted_at = $6, withdrawn_at = $7, updated_at = $8, version = $9, \
         title = $12, requested_budget_fen = $13 WHERE id = $10 AND version = $11",
        Expect::OneRow,
    )
    .bind(a.state.as_str())
    .bind(content)
    .bind(pledge)
    .bind(formal_check)
    .bind(a.withdrawal_reason.clone())
    .bind(a.submitted_at.map(Timestamp::micros))
    .bind(a.withdrawn_at.map(Timestamp::micros))
    .bind(a.updated_at.micros())
    .bind(a.version)
    .bind(&a.id)
    .bind(expected_version)
    .bind(&a.content.title)
    .bind(a.content.requested_budget_fen);
    Ok(())
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

/// An application and its challenge in one statement, inside a write transaction, the
/// challenge held as [`crate::challenges::get_shared`] holds it (PostgreSQL `FOR SHARE`).
/// A submission needs both, and on SQLite each statement is a hand-off to the writer's
/// thread. `None` if the application is not in that challenge.
pub async fn get_with_challenge_shared(
    tx: &mut Tx,
    challenge_id: &str,
    id: &str,
) -> Result<Option<(Application, jiebang_domain::challenge::Challenge)>, StoreError> {
    let lock = match tx.dialect() {
        crate::Dialect::Postgres => " FOR SHARE OF c",
        crate::Dialect::Sqlite => "",
    };
    let sql = format!(
        "SELECT {}, {} FROM applications a JOIN challenges c ON c.id = a.challenge_id \
         WHERE a.id = $1 AND a.challenge_id = $2{lock}",
        columns::qualified("a", COLUMNS),
        columns::qualified("c", crate::challenges::COLUMNS),
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(challenge_id)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref()
        .map(|row| {
            Ok((
                from_row_at(row, 0)?,
                crate::challenges::from_row_at(row, columns::count(COLUMNS))?,
            ))
        })
        .transpose()
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
///
/// A statement of its own, before [`standings`]: on PostgreSQL each statement of a
/// transaction reads the rows committed when it starts, so counts read in the statement that
/// waited for the locks would miss the submission that held them.
pub async fn lock_organizations(tx: &mut Tx, ids: &[String]) -> Result<(), StoreError> {
    if tx.dialect() != Dialect::Postgres || ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT id FROM organizations WHERE id IN ({}) ORDER BY id FOR UPDATE",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id);
    }
    query.fetch_all(tx.conn()).await?;
    Ok(())
}

/// What the eligibility rules ask of one organisation of a consortium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub organization_id: String,
    pub org_type: jiebang_domain::identity::OrganizationType,
    pub region: String,
    /// Its submitted applications of the round, other than the one being decided.
    pub applications_in_round: i64,
    /// It took part in an appointed application of the round.
    pub won_in_round: bool,
    /// A bar on it is in force.
    pub barred: bool,
    /// It leads another submitted application for the same challenge.
    pub leads_another: bool,
}

/// The [`Standing`] of each of `organization_ids` (those that exist) as application `a`'s
/// submission is decided at `now`, in one read.
pub async fn standings(
    tx: &mut Tx,
    a: &Application,
    organization_ids: &[String],
    now: Timestamp,
) -> Result<Vec<Standing>, StoreError> {
    if organization_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT o.id, o.org_type, o.region, \
         (SELECT COUNT(*) FROM application_organizations m JOIN applications x ON x.id = m.application_id \
          WHERE m.organization_id = o.id AND x.round = $1 AND x.id <> $2 \
          AND x.state NOT IN ('DRAFT', 'WITHDRAWN')), \
         (SELECT COUNT(*) FROM application_organizations m JOIN applications x ON x.id = m.application_id \
          WHERE m.organization_id = o.id AND x.round = $1 AND x.state = 'APPOINTED'), \
         (SELECT COUNT(*) FROM organization_bars b WHERE b.organization_id = o.id \
          AND (b.barred_until IS NULL OR b.barred_until > $3)), \
         (SELECT COUNT(*) FROM applications x WHERE x.challenge_id = $4 AND x.lead_organization_id = o.id \
          AND x.id <> $2 AND x.state NOT IN ('DRAFT', 'WITHDRAWN')) \
         FROM organizations o WHERE o.id IN ({})",
        placeholders(5, organization_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&a.round)
        .bind(&a.id)
        .bind(now.micros())
        .bind(&a.challenge_id);
    for id in organization_ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter()
        .map(|r| {
            let org_type: String = r.try_get(1)?;
            Ok(Standing {
                organization_id: r.try_get(0)?,
                org_type: jiebang_domain::identity::OrganizationType::parse(&org_type)
                    .ok_or_else(|| StoreError::Corrupt(format!("organisation type {org_type}")))?,
                region: r.try_get(2)?,
                applications_in_round: r.try_get(3)?,
                won_in_round: r.try_get::<i64, _>(4)? > 0,
                barred: r.try_get::<i64, _>(5)? > 0,
                leads_another: r.try_get::<i64, _>(6)? > 0,
            })
        })
        .collect()
}

/// `$first, $first+1, …`, `count` of them.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
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
