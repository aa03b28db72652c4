//! Rows of projects, their milestones and the disbursement ledger.

use crate::{StoreError, Tx};
use jiebang_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// What a milestone promises, as fixed at appointment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MilestonePlan {
    pub deliverables: Vec<String>,
    /// (indicator name, target value as exact decimal text)
    pub targets: Vec<(String, String)>,
    pub mid_term: bool,
    pub final_acceptance: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneRow {
    pub id: String,
    pub project_id: String,
    pub position: i32,
    pub title: String,
    pub plan: MilestonePlan,
    pub share_bp: i32,
    pub tranche_fen: i64,
    pub state: String,
    pub due_at: Timestamp,
    pub original_due_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

const MILESTONE_COLUMNS: &str = "id, project_id, position, title, plan, share_bp, tranche_fen, state, due_at, original_due_at, updated_at, version";

fn milestone_from_row(r: &AnyRow) -> Result<MilestoneRow, StoreError> {
    let plan: String = r.try_get(4)?;
    Ok(MilestoneRow {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        position: i32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
        title: r.try_get(3)?,
        plan: serde_json::from_str(&plan)
            .map_err(|e| StoreError::Corrupt(format!("milestone plan: {e}")))?,
        share_bp: i32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
        tranche_fen: r.try_get(6)?,
        state: r.try_get(7)?,
        due_at: Timestamp(r.try_get(8)?),
        original_due_at: Timestamp(r.try_get(9)?),
        updated_at: Timestamp(r.try_get(10)?),
        version: r.try_get(11)?,
    })
}

pub async fn insert_milestone(tx: &mut Tx, m: &MilestoneRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO milestones (id, project_id, position, title, plan, share_bp, tranche_fen, state, due_at, original_due_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&m.id)
    .bind(&m.project_id)
    .bind(i64::from(m.position))
    .bind(&m.title)
    .bind(serde_json::to_string(&m.plan).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(i64::from(m.share_bp))
    .bind(m.tranche_fen)
    .bind(&m.state)
    .bind(m.due_at.micros())
    .bind(m.original_due_at.micros())
    .bind(m.updated_at.micros())
    .bind(m.version)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn milestones_of(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<MilestoneRow>, StoreError> {
    let sql = format!(
        "SELECT {MILESTONE_COLUMNS} FROM milestones WHERE project_id = $1 ORDER BY position"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(milestone_from_row).collect()
}

/// A project as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: String,
    pub challenge_id: String,
    pub application_id: String,
    pub award_fen: i64,
    pub state: String,
    pub signing_share_bp: i32,
    pub start_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
    /// The one extension granted, as JSON (months, first milestone, reason, granter, time).
    pub extension: Option<String>,
    /// The failure record, as JSON (kind, reason, milestone, evidence, bars, recorder, time).
    pub failure: Option<String>,
    /// Why a horse-race project was stopped.
    pub stop_reason: Option<String>,
}

const PROJECT_COLUMNS: &str = "id, challenge_id, application_id, award_fen, state, signing_share_bp, start_at, ended_at, created_at, updated_at, version, extension, failure, stop_reason";

fn project_from_row(r: &AnyRow) -> Result<ProjectRecord, StoreError> {
    Ok(ProjectRecord {
        id: r.try_get(0)?,
        challenge_id: r.try_get(1)?,
        application_id: r.try_get(2)?,
        award_fen: r.try_get(3)?,
        state: r.try_get(4)?,
        signing_share_bp: i32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
        start_at: Timestamp(r.try_get(6)?),
        ended_at: r.try_get::<Option<i64>, _>(7)?.map(Timestamp),
        created_at: Timestamp(r.try_get(8)?),
        updated_at: Timestamp(r.try_get(9)?),
        version: r.try_get(10)?,
        extension: r.try_get(11)?,
        failure: r.try_get(12)?,
        stop_reason: r.try_get(13)?,
    })
}

pub async fn set_signing_share(
    tx: &mut Tx,
    project_id: &str,
    share_bp: i32,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE projects SET signing_share_bp = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(share_bp))
        .bind(now.micros())
        .bind(project_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn get_project(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<ProjectRecord>, StoreError> {
    let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(project_from_row).transpose()
}

/// Milestones of every project the viewer may see (as `list_projects`), and those whose
/// acceptance panel the viewer sits on; by id, after `after_id`, optionally in one state.
#[allow(clippy::too_many_arguments)]
pub async fn visible_milestones(
    conn: &mut AnyConnection,
    viewer_is_admin: bool,
    viewer_user_id: &str,
    viewer_publisher_org: Option<&str>,
    state: Option<&str>,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<MilestoneRow>, StoreError> {
    let columns = MILESTONE_COLUMNS
        .split(", ")
        .map(|c| format!("ms.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM milestones ms JOIN projects p ON p.id = ms.project_id \
         WHERE ($1 IS NULL OR ms.state = $1) AND ($2 IS NULL OR ms.id > $2) \
         AND ($3 = 1 \
              OR EXISTS (SELECT 1 FROM application_members m WHERE m.application_id = p.application_id AND m.user_id = $4) \
              OR EXISTS (SELECT 1 FROM acceptance_seats s WHERE s.milestone_id = ms.id AND s.user_id = $4) \
              OR ($5 IS NOT NULL AND EXISTS (SELECT 1 FROM challenges c WHERE c.id = p.challenge_id AND c.publisher_id = $5))) \
         ORDER BY ms.id LIMIT $6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(state.map(str::to_owned))
        .bind(after_id.map(str::to_owned))
        .bind(i64::from(viewer_is_admin))
        .bind(viewer_user_id)
        .bind(viewer_publisher_org.map(str::to_owned))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(milestone_from_row).collect()
}

/// Which projects to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectFilter<'a> {
    pub challenge_id: Option<&'a str>,
    pub state: Option<&'a str>,
    pub lead_organization_id: Option<&'a str>,
}

/// Projects the viewer may see, newest first: everything for the bureau; a publisher's
/// challenges; the team's own.
pub async fn list_projects(
    conn: &mut AnyConnection,
    viewer_is_admin: bool,
    viewer_user_id: &str,
    viewer_publisher_org: Option<&str>,
    filter: ProjectFilter<'_>,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Vec<ProjectRecord>, StoreError> {
    let columns = PROJECT_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM projects p JOIN applications a ON a.id = p.application_id \
         WHERE ($1 IS NULL OR p.challenge_id = $1) AND ($2 IS NULL OR p.id < $2) \
         AND ($7 IS NULL OR p.state = $7) AND ($8 IS NULL OR a.lead_organization_id = $8) \
         AND ($3 = 1 \
              OR EXISTS (SELECT 1 FROM application_members m WHERE m.application_id = p.application_id AND m.user_id = $4) \
              OR ($5 IS NOT NULL AND EXISTS (SELECT 1 FROM challenges c WHERE c.id = p.challenge_id AND c.publisher_id = $5))) \
         ORDER BY p.id DESC LIMIT $6"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.challenge_id.map(str::to_owned))
        .bind(before_id.map(str::to_owned))
        .bind(i64::from(viewer_is_admin))
        .bind(viewer_user_id)
        .bind(viewer_publisher_org.map(str::to_owned))
        .bind(limit)
        .bind(filter.state.map(str::to_owned))
        .bind(filter.lead_organization_id.map(str::to_owned))
        .fetch_all(conn)
        .await?;
    rows.iter().map(project_from_row).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisbursementRow {
    pub id: String,
    pub project_id: String,
    pub tranche: String,
    pub milestone_id: Option<String>,
    pub amount_fen: i64,
    pub share_bp: i32,
    pub approver_id: String,
    pub disbursed_at: Timestamp,
}

const DISBURSEMENT_COLUMNS: &str =
    "id, project_id, tranche, milestone_id, amount_fen, share_bp, approver_id, disbursed_at";

fn disbursement_from_row(r: &AnyRow) -> Result<DisbursementRow, StoreError> {
    Ok(DisbursementRow {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        tranche: r.try_get(2)?,
        milestone_id: r.try_get(3)?,
        amount_fen: r.try_get(4)?,
        share_bp: i32::try_from(r.try_get::<i64, _>(5)?).unwrap_or(0),
        approver_id: r.try_get(6)?,
        disbursed_at: Timestamp(r.try_get(7)?),
    })
}

/// Appends a disbursement. The unique (project, tranche) key makes a second release of the
/// same tranche fail here, whatever raced: the caller then returns the first.
pub async fn insert_disbursement(tx: &mut Tx, d: &DisbursementRow) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO disbursements ({DISBURSEMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&d.id)
        .bind(&d.project_id)
        .bind(&d.tranche)
        .bind(d.milestone_id.clone())
        .bind(d.amount_fen)
        .bind(i64::from(d.share_bp))
        .bind(&d.approver_id)
        .bind(d.disbursed_at.micros())
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn disbursements(
    conn: &mut AnyConnection,
    project_id: &str,
) -> Result<Vec<DisbursementRow>, StoreError> {
    let sql = format!(
        "SELECT {DISBURSEMENT_COLUMNS} FROM disbursements WHERE project_id = $1 ORDER BY disbursed_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(project_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(disbursement_from_row).collect()
}

/// Locks the project row for the ledger (PostgreSQL), so concurrent releases of different
/// tranches of one project add up one at a time; SQLite's single writer does the same.
pub async fn lock_project(tx: &mut Tx, project_id: &str) -> Result<(), StoreError> {
    if tx.dialect() == crate::Dialect::Postgres {
        sqlx::query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
            .bind(project_id)
            .fetch_optional(tx.conn())
            .await?;
    }
    Ok(())
}

/// What a report holds: measured values, evidence, narrative, and the automatic checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportContent {
    /// (indicator, measured value as exact decimal text)
    pub measured: Vec<(String, String)>,
    /// Evidence documents by SHA-256.
    pub evidence: Vec<String>,
    pub narrative: String,
    /// (indicator, comparison, target, measured or empty, unit, mandatory, met)
    pub checks: Vec<CheckLine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CheckLine {
    pub indicator: String,
    pub comparison: String,
    pub target: String,
    pub measured: String,
    pub unit: String,
    pub mandatory: bool,
    pub met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub id: String,
    pub milestone_id: String,
    pub project_id: String,
    pub content: ReportContent,
    pub submitter_id: String,
    pub submitted_at: Timestamp,
    pub days_late: i64,
}

pub async fn insert_report(tx: &mut Tx, r: &ReportRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO milestone_reports (id, milestone_id, project_id, content, submitter_id, submitted_at, days_late) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.milestone_id)
    .bind(&r.project_id)
    .bind(serde_json::to_string(&r.content).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(&r.submitter_id)
    .bind(r.submitted_at.micros())
    .bind(r.days_late)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn reports_of(
    conn: &mut AnyConnection,
    milestone_id: &str,
) -> Result<Vec<ReportRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, milestone_id, project_id, content, submitter_id, submitted_at, days_late FROM milestone_reports \
         WHERE milestone_id = $1 ORDER BY submitted_at, id",
    )
    .bind(milestone_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let content: String = r.try_get(3)?;
            Ok(ReportRow {
                id: r.try_get(0)?,
                milestone_id: r.try_get(1)?,
                project_id: r.try_get(2)?,
                content: serde_json::from_str(&content)
                    .map_err(|e| StoreError::Corrupt(format!("report: {e}")))?,
                submitter_id: r.try_get(4)?,
                submitted_at: Timestamp(r.try_get(5)?),
                days_late: r.try_get(6)?,
            })
        })
        .collect()
}

/// Moves a milestone to `state` if it is still at `expected_version`.
pub async fn set_milestone_state(
    tx: &mut Tx,
    m: &MilestoneRow,
    state: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE milestones SET state = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
        .bind(state)
        .bind(now.micros())
        .bind(&m.id)
        .bind(m.version)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// PLANNED milestones of ACTIVE projects whose due time has passed: the clock marks them OVERDUE.
pub async fn overdue(
    conn: &mut AnyConnection,
    now: Timestamp,
) -> Result<Vec<MilestoneRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM milestones m WHERE m.state = 'PLANNED' AND m.due_at < $1 \
         AND EXISTS (SELECT 1 FROM projects p WHERE p.id = m.project_id AND p.state = 'ACTIVE') ORDER BY m.due_at LIMIT 200",
        MILESTONE_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now.micros())
        .fetch_all(conn)
        .await?;
    rows.iter().map(milestone_from_row).collect()
}

/// The acceptance state of a milestone beyond its plan: the rework and the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acceptance {
    pub rework_used: bool,
    pub rework_due_at: Option<Timestamp>,
    /// The recorded decision as JSON (outcome, reason, fixes, grounds, votes, decider, time).
    pub decision: Option<String>,
}

pub async fn acceptance(
    conn: &mut AnyConnection,
    milestone_id: &str,
) -> Result<Acceptance, StoreError> {
    let row =
        sqlx::query("SELECT rework_used, rework_due_at, decision FROM milestones WHERE id = $1")
            .bind(milestone_id)
            .fetch_one(conn)
            .await?;
    Ok(Acceptance {
        rework_used: row.try_get::<i64, _>(0)? != 0,
        rework_due_at: row.try_get::<Option<i64>, _>(1)?.map(Timestamp),
        decision: row.try_get(2)?,
    })
}

/// Records a decision and the milestone's new state, if unchanged since read.
pub async fn decide(
    tx: &mut Tx,
    m: &MilestoneRow,
    state: &str,
    acceptance: &Acceptance,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE milestones SET state = $1, rework_used = $2, rework_due_at = $3, decision = $4, updated_at = $5, version = version + 1 \
         WHERE id = $6 AND version = $7",
    )
    .bind(state)
    .bind(i64::from(acceptance.rework_used))
    .bind(acceptance.rework_due_at.map(Timestamp::micros))
    .bind(acceptance.decision.clone())
    .bind(now.micros())
    .bind(&m.id)
    .bind(m.version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    pub user_id: String,
    /// `EXPERT` or `END_USER`.
    pub kind: String,
    pub expert_id: Option<String>,
}

pub async fn insert_seat(tx: &mut Tx, milestone_id: &str, seat: &Seat) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO acceptance_seats (milestone_id, user_id, seat_kind, expert_id) VALUES ($1, $2, $3, $4)")
        .bind(milestone_id)
        .bind(&seat.user_id)
        .bind(&seat.kind)
        .bind(seat.expert_id.clone())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Empties a milestone's panel, before a new one is drawn for a reworked report.
pub async fn clear_seats(tx: &mut Tx, milestone_id: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM acceptance_seats WHERE milestone_id = $1")
        .bind(milestone_id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

pub async fn seats(conn: &mut AnyConnection, milestone_id: &str) -> Result<Vec<Seat>, StoreError> {
    let rows = sqlx::query("SELECT user_id, seat_kind, expert_id FROM acceptance_seats WHERE milestone_id = $1 ORDER BY seat_kind, user_id")
        .bind(milestone_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Seat {
                user_id: r.try_get(0)?,
                kind: r.try_get(1)?,
                expert_id: r.try_get(2)?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRow {
    pub id: String,
    pub milestone_id: String,
    pub report_id: String,
    pub voter_id: String,
    pub seat_kind: String,
    /// `ACCEPTED`, `ACCEPTED_AFTER_FIXES`, `REWORK_REQUIRED` or `FAILED`.
    pub outcome: String,
    pub comment: String,
    pub supersedes: Option<String>,
    pub current: bool,
    pub cast_at: Timestamp,
}

/// Casts a vote, superseding the voter's current one (kept on record).
pub async fn cast_vote(tx: &mut Tx, v: &VoteRow) -> Result<(), StoreError> {
    sqlx::query("UPDATE acceptance_votes SET is_current = 0 WHERE milestone_id = $1 AND voter_id = $2 AND is_current = 1")
        .bind(&v.milestone_id)
        .bind(&v.voter_id)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO acceptance_votes (id, milestone_id, report_id, voter_id, seat_kind, outcome, comment, supersedes, is_current, cast_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
    )
    .bind(&v.id)
    .bind(&v.milestone_id)
    .bind(&v.report_id)
    .bind(&v.voter_id)
    .bind(&v.seat_kind)
    .bind(&v.outcome)
    .bind(&v.comment)
    .bind(v.supersedes.clone())
    .bind(v.cast_at.micros())
    .execute(tx.conn())
    .await
    .map_err(|e| match StoreError::from(e) {
        StoreError::UniqueViolation { .. } => StoreError::Conflict,
        other => other,
    })?;
    Ok(())
}

pub async fn votes(
    conn: &mut AnyConnection,
    milestone_id: &str,
    include_superseded: bool,
) -> Result<Vec<VoteRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, milestone_id, report_id, voter_id, seat_kind, outcome, comment, supersedes, is_current, cast_at \
         FROM acceptance_votes WHERE milestone_id = $1 AND ($2 = 1 OR is_current = 1) ORDER BY cast_at, id",
    )
    .bind(milestone_id)
    .bind(i64::from(include_superseded))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VoteRow {
                id: r.try_get(0)?,
                milestone_id: r.try_get(1)?,
                report_id: r.try_get(2)?,
                voter_id: r.try_get(3)?,
                seat_kind: r.try_get(4)?,
                outcome: r.try_get(5)?,
                comment: r.try_get(6)?,
                supersedes: r.try_get(7)?,
                current: r.try_get::<i64, _>(8)? != 0,
                cast_at: Timestamp(r.try_get(9)?),
            })
        })
        .collect()
}

/// Ends a project (COMPLETED, FAILED or STOPPED) if unchanged since read.
pub async fn end_project(
    tx: &mut Tx,
    p: &ProjectRecord,
    state: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query("UPDATE projects SET state = $1, ended_at = $2, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
        .bind(state)
        .bind(now.micros())
        .bind(&p.id)
        .bind(p.version)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Records the project's one extension, if it has none yet and is unchanged since read.
pub async fn set_extension(
    tx: &mut Tx,
    p: &ProjectRecord,
    extension: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE projects SET extension = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3 AND version = $4 AND extension IS NULL",
    )
    .bind(extension)
    .bind(now.micros())
    .bind(&p.id)
    .bind(p.version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Moves a milestone's due time (and state, e.g. OVERDUE → PLANNED), if unchanged since read.
pub async fn move_milestone(
    tx: &mut Tx,
    m: &MilestoneRow,
    due_at: Timestamp,
    state: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE milestones SET due_at = $1, state = $2, updated_at = $3, version = version + 1 \
         WHERE id = $4 AND version = $5",
    )
    .bind(due_at.micros())
    .bind(state)
    .bind(now.micros())
    .bind(&m.id)
    .bind(m.version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Ends an ACTIVE project as FAILED with its failure record, or STOPPED with its reason.
pub async fn end_project_with(
    tx: &mut Tx,
    p: &ProjectRecord,
    state: &str,
    failure: Option<&str>,
    stop_reason: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE projects SET state = $1, failure = $2, stop_reason = $3, ended_at = $4, updated_at = $4, \
         version = version + 1 WHERE id = $5 AND version = $6 AND state = 'ACTIVE'",
    )
    .bind(state)
    .bind(failure.map(str::to_owned))
    .bind(stop_reason.map(str::to_owned))
    .bind(now.micros())
    .bind(&p.id)
    .bind(p.version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// The states of every project of a challenge.
pub async fn project_states(
    conn: &mut AnyConnection,
    challenge_id: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT state FROM projects WHERE challenge_id = $1")
        .bind(challenge_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}
