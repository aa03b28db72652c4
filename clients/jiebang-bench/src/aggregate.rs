//! Aggregation and ranking from the database: one challenge with N reviewed applications, 7
//! sealed score sheets each and 5 criteria, seeded with bulk SQL on a fresh database migrated
//! by `jiebang_storage::Store::open` (the real schema), then ranked by the code path the server
//! runs for ListRanking (`jiebang_review::ranking::Ranking`, after reading the challenge, and
//! the first page rendered). Seeding is timed apart; the ranking is timed three times and the
//! median kept.

use crate::scenarios::Database;
use crate::{Args, Backend};
use anyhow::{Context, Result, bail};
use jiebang_domain::Timestamp;
use jiebang_domain::application::{
    ApplicationContent, Contact, FormalCheck, IndicatorTarget, Member, Pledge, ProposedMilestone,
    TeamRole,
};
use jiebang_domain::challenge::{
    AggregationMethod, Challenge, ChallengeSpec, ChallengeState, Comparison, Criterion,
    CriterionKind, Eligibility, Indicator, ReviewSettings, Tranche, TrancheTrigger,
};
use jiebang_domain::review::sheet::{CriterionScore, SheetContent};
use jiebang_review::ranking::Ranking;
use jiebang_storage::{Dialect, Store, StoreOptions};
use prost::Message;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// ListRanking's default page: what the timed runs render.
const PAGE: usize = 100;
/// Sheets per application (the default panel) and the criteria of the challenge.
pub const SHEETS: usize = 7;
const CHALLENGE_ID: &str = "bench-aggregation";
const NOW: i64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z
const TITLE_MARK: &str = "@TITLE@";
const BUDGET_MARK: i64 = 987_654_321_987;

/// (name, kind, weight): weights sum to 100, each at least 10.
const CRITERIA: [(&str, CriterionKind, i32); 5] = [
    ("技术路线与可行性", CriterionKind::TechnicalFeasibility, 30),
    ("团队能力与基础", CriterionKind::TeamCapability, 25),
    ("预算合理性", CriterionKind::Budget, 15),
    ("产业化与用户价值", CriterionKind::Industrialisation, 20),
    ("知识产权与风险", CriterionKind::Other, 10),
];

#[derive(Serialize)]
pub struct Aggregation {
    pub what: String,
    pub backend: Backend,
    pub applications: usize,
    pub sheets_per_application: usize,
    pub criteria: usize,
    /// Rows the ranking covers: applications, sealed sheets, live assignments, and the
    /// criterion scores inside the sheets.
    pub rows_read: RowsRead,
    /// Seeding the database (not part of the measurement).
    pub seed_seconds: f64,
    /// Each timed ranking, in order; then the median.
    pub runs_seconds: Vec<f64>,
    pub median_seconds: f64,
    /// Rendering every entry rather than the first page (not in the timed runs: ListRanking
    /// renders a page at a time).
    pub render_all_seconds: f64,
    /// What the ranking said: entries, eligible ones, flagged dispersions, complete.
    pub entries: usize,
    pub eligible: usize,
    pub dispersion_flagged: usize,
    pub complete: bool,
    /// SHA-256 of the protobuf encoding of every entry, in order: equal digests, equal
    /// rankings (compare before and after a change to the code path).
    pub result_sha256: String,
    pub target: crate::report::Target,
}

#[derive(Serialize)]
pub struct RowsRead {
    pub applications: usize,
    pub score_sheets: usize,
    pub assignments: usize,
    pub criterion_scores: usize,
    pub total: usize,
}

pub async fn run(args: &Args, applications: usize) -> Result<Aggregation> {
    let dir = std::env::temp_dir().join(format!(
        "jiebang-bench-aggregate-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    let database = Database::create(args, &dir).await?;
    let outcome = measure(args, &database.url, applications).await;
    database.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn measure(args: &Args, url: &str, n: usize) -> Result<Aggregation> {
    if n == 0 {
        bail!("--aggregate needs at least one application");
    }
    let store = Store::open(&StoreOptions::new(url))
        .await
        .context("open (and migrate) the aggregation database")?;
    eprintln!(
        "bench: aggregation: seeding {n} applications × {SHEETS} sheets × {} criteria…",
        CRITERIA.len()
    );
    let started = Instant::now();
    seed(&store, n).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    eprintln!("bench: aggregation: seeded in {seed_seconds:.1} s; ranking 3 times…");

    // Timed: what ListRanking does after its access check for the first page (the default
    // page size): read the challenge, aggregate and rank every application, render the page.
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let started = Instant::now();
        let challenge = {
            let mut conn = store.pool().acquire().await?;
            jiebang_storage::challenges::get_in(&mut conn, CHALLENGE_ID)
                .await?
                .context("the seeded challenge is missing")?
        };
        let ranking = Ranking::read_pooled(&store, &challenge)
            .await
            .map_err(|e| anyhow::anyhow!("ranking failed: {e:?}"))?;
        let page = ranking.entries(0..PAGE, false);
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "bench: aggregation: ranked and rendered the first {} in {seconds:.3} s",
            page.len()
        );
        runs.push(seconds);
        last = Some(ranking);
    }
    store.close().await;
    let ranking = last.context("no run")?;
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];

    // Not timed: every entry, to check the ranking covered everything and to digest it.
    let started = Instant::now();
    let entries = ranking.all_entries(false);
    let render_all_seconds = started.elapsed().as_secs_f64();
    let complete = ranking.complete();
    let sheets: usize = entries
        .iter()
        .map(|e| usize::try_from(e.submitted_sheet_count).unwrap_or(0))
        .sum();
    if entries.len() != n || sheets != n * SHEETS {
        bail!(
            "the ranking covered {} applications and {sheets} sheets, not {n} and {}",
            entries.len(),
            n * SHEETS
        );
    }
    let mut digest = Sha256::new();
    for entry in &entries {
        digest.update(entry.encode_to_vec());
    }
    let what = format!(
        "aggregation of {n} × {SHEETS} × {} from the database",
        CRITERIA.len()
    );
    Ok(Aggregation {
        target: crate::report::Target {
            what: format!("{what} ({:?})", args.backend),
            required: "< 2 s (the target is PostgreSQL's)".into(),
            measured: format!("{median:.3} s on {:?}", args.backend),
            met: median < 2.0,
        },
        what,
        backend: args.backend,
        applications: n,
        sheets_per_application: SHEETS,
        criteria: CRITERIA.len(),
        rows_read: RowsRead {
            applications: n,
            score_sheets: n * SHEETS,
            assignments: n * SHEETS,
            criterion_scores: n * SHEETS * CRITERIA.len(),
            total: n + 2 * n * SHEETS,
        },
        seed_seconds,
        runs_seconds: runs,
        median_seconds: median,
        render_all_seconds,
        eligible: entries.iter().filter(|e| e.eligible_for_award).count(),
        dispersion_flagged: entries.iter().filter(|e| e.dispersion_flagged).count(),
        entries: entries.len(),
        complete,
        result_sha256: hex(&digest.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SQL string literal.
fn lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `WITH g(i) AS (0 … n−1)`, the row source of every bulk insert.
fn series(dialect: Dialect, n: usize) -> String {
    let last = n.saturating_sub(1);
    match dialect {
        Dialect::Postgres => {
            format!("WITH g(i) AS (SELECT CAST(generate_series(0, {last}) AS BIGINT))")
        }
        Dialect::Sqlite => format!(
            "WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < {last})"
        ),
    }
}

/// The seven experts of the panel, as rows `e` = 0 … 6.
fn experts_rows() -> String {
    (0..SHEETS)
        .map(|e| format!("SELECT {e} AS e"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// `template` serialised, with each marker replaced by a SQL expression: a concatenation.
fn concat(template: &str, parts: &[(&str, String)]) -> String {
    let mut pieces = vec![template.to_owned()];
    let mut out = Vec::new();
    for (mark, expression) in parts {
        let mut next = Vec::new();
        for piece in pieces {
            let split: Vec<&str> = piece.split(mark).collect();
            for (k, s) in split.iter().enumerate() {
                if k > 0 {
                    next.push(format!("\u{0}{expression}"));
                }
                next.push((*s).to_owned());
            }
        }
        pieces = next;
    }
    for piece in pieces {
        match piece.strip_prefix('\u{0}') {
            Some(expression) => out.push(format!("({expression})")),
            None if piece.is_empty() => {}
            None => out.push(lit(&piece)),
        }
    }
    out.join(" || ")
}

fn spec() -> ChallengeSpec {
    ChallengeSpec {
        title: "工业软件高性能求解器揭榜挂帅（聚合基准）".into(),
        problem: "国产工业仿真软件的大规模稀疏线性方程组求解性能不足。".repeat(4),
        goals: "求解器在千万自由度问题上达到国际主流产品同等性能。".repeat(3),
        indicators: vec![Indicator {
            name: "求解速度".into(),
            target_value: "2.5".into(),
            unit: "倍".into(),
            comparison: Comparison::AtLeast,
            test_method: "第三方测评机构按标准算例测试".into(),
            mandatory: true,
        }],
        end_user: "某重型装备集团".into(),
        government_funding_fen: 5_000_000_000,
        co_funding_fen: 1_000_000_000,
        duration_months: 24,
        industry_field: "industrial_software".into(),
        eligibility: Eligibility::default(),
        criteria: CRITERIA
            .iter()
            .map(|(name, kind, weight)| Criterion {
                name: (*name).into(),
                kind: *kind,
                weight: *weight,
                guidance: "按申报书与答辩材料评分".into(),
            })
            .collect(),
        winners_count: 1,
        tranches: vec![
            Tranche {
                trigger: TrancheTrigger::OnSigning,
                share_basis_points: 3_000,
                description: "签约".into(),
            },
            Tranche {
                trigger: TrancheTrigger::MidTerm,
                share_basis_points: 4_000,
                description: "中期".into(),
            },
            Tranche {
                trigger: TrancheTrigger::Final,
                share_basis_points: 3_000,
                description: "验收".into(),
            },
        ],
        responsible_department: "科技处".into(),
        contact: jiebang_domain::challenge::Contact {
            person: "王老师".into(),
            phone: "010-12345678".into(),
            email: "contact@example.org".into(),
        },
        blind_review: true,
        review: ReviewSettings {
            aggregation_method: AggregationMethod::TrimmedMean,
            ..ReviewSettings::default()
        },
        round: "2026".into(),
    }
}

/// An application's content as the server stores it (about 2 KB of JSON), with the title and
/// requested budget left as markers.
fn content_template() -> Result<String> {
    let member = |name: &str, role| Member {
        user_id: None,
        display_name: name.into(),
        organization_id: "org-team".into(),
        role,
        duty: "负责求解器核心算法的设计与实现，以及性能测试。".into(),
    };
    let milestone = |title: &str, months, share, mid_term| ProposedMilestone {
        title: title.into(),
        deliverables: vec!["阶段技术报告".into(), "软件原型与测试报告".into()],
        due_after_months: months,
        indicator_targets: vec![IndicatorTarget {
            indicator: "求解速度".into(),
            target_value: "2.5".into(),
        }],
        share_basis_points: share,
        mid_term,
    };
    let content = ApplicationContent {
        title: TITLE_MARK.into(),
        partner_organization_ids: vec![],
        lead_person_id: "usr-team".into(),
        members: vec![
            member("张三", TeamRole::Lead),
            member("李四", TeamRole::CoreMember),
            member("王五", TeamRole::Member),
        ],
        technical_plan: "采用多层级代数多重网格预条件与混合精度迭代求解，结合图划分并行。"
            .repeat(8),
        requested_budget_fen: BUDGET_MARK,
        signing_share_basis_points: 3_000,
        milestones: vec![
            milestone("算法原型", 6, 3_000, false),
            milestone("中期验证", 12, 4_000, true),
            milestone("工程化交付", 24, 3_000, false),
        ],
        contacts: vec![Contact {
            person: "张三".into(),
            phone: "13800000000".into(),
            email: "lead@example.org".into(),
        }],
        documents: vec![],
    };
    Ok(serde_json::to_string(&content)?)
}

fn sheet_template() -> Result<String> {
    let content = SheetContent {
        scores: CRITERIA
            .iter()
            .enumerate()
            .map(|(c, (name, _, _))| CriterionScore {
                criterion: (*name).into(),
                score: format!("@S{c}@"),
                comment: "方案论证较充分，关键技术路线清晰，风险分析基本到位。".into(),
            })
            .collect(),
        overall_comment:
            "申报书整体质量较好，技术路线可行，团队具备相应研究基础，预算编制基本合理，建议在中期考核中重点关注性能指标的达成情况。"
                .into(),
        recommendation: "RECOMMEND".into(),
    };
    Ok(serde_json::to_string(&content)?)
}

async fn exec(store: &Store, sql: String) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(store.pool())
        .await?;
    Ok(())
}

/// The challenge, organisations (one lead each: one application per lead), a team user, the
/// panel of seven experts, N applications UNDER_REVIEW, 7N submitted assignments and 7N
/// sealed sheets whose scores vary by application quality and by expert.
async fn seed(store: &Store, n: usize) -> Result<()> {
    let dialect = store.dialect();
    let with = series(dialect, n);
    exec(
        store,
        format!(
            "{with} INSERT INTO organizations (id, display_name, org_type, region, \
             unified_social_credit_code, created_at, updated_at, version) \
             SELECT 'org' || CAST(1000000 + i AS TEXT), '申报单位' || CAST(i AS TEXT), 'enterprise', '110000', \
             'usc' || CAST(1000000 + i AS TEXT), {NOW}, {NOW}, 1 FROM g"
        ),
    )
    .await?;
    exec(
        store,
        format!(
            "INSERT INTO organizations (id, display_name, org_type, region, unified_social_credit_code, \
             created_at, updated_at, version) VALUES \
             ('org-publisher', '发榜单位', 'enterprise', '110000', 'usc-publisher', {NOW}, {NOW}, 1), \
             ('org-experts', '专家所在单位', 'university', '310000', 'usc-experts', {NOW}, {NOW}, 1)"
        ),
    )
    .await?;
    let users: Vec<String> = std::iter::once(format!(
        "('usr-team', 'bench-team', '申报人', 'team_member', 'org1000000', 'team@example.org', '', 'x', {NOW}, {NOW}, 1)"
    ))
    .chain((0..SHEETS).map(|e| {
        format!(
            "('usr-exp{e}', 'bench-expert-{e}', '专家{e}', 'expert', 'org-experts', 'e{e}@example.org', '', 'x', {NOW}, {NOW}, 1)"
        )
    }))
    .collect();
    exec(
        store,
        format!(
            "INSERT INTO users (id, username, display_name, role, organization_id, email, phone, \
             password_hash, created_at, updated_at, version) VALUES {}",
            users.join(", ")
        ),
    )
    .await?;
    let experts: Vec<String> = (0..SHEETS)
        .map(|e| {
            format!(
                "('exp{e}', 'usr-exp{e}', 'org-experts', '[]', '[]', '[]', 1000000, 'AVAILABLE', NULL, {NOW}, {NOW}, 1)"
            )
        })
        .collect();
    exec(
        store,
        format!(
            "INSERT INTO experts (id, user_id, affiliation_id, fields, keywords, declared, max_load, \
             availability, unavailable_until, created_at, updated_at, version) VALUES {}",
            experts.join(", ")
        ),
    )
    .await?;

    let challenge = Challenge {
        id: CHALLENGE_ID.into(),
        publisher_id: "org-publisher".into(),
        state: ChallengeState::UnderReview,
        spec: spec(),
        open_at: Some(Timestamp(NOW - 60 * 86_400_000_000)),
        close_at: Some(Timestamp(NOW - 30 * 86_400_000_000)),
        rejection_reason: None,
        cancellation: None,
        created_at: Timestamp(NOW - 90 * 86_400_000_000),
        updated_at: Timestamp(NOW),
        version: 5,
    };
    let mut tx = store.begin().await?;
    jiebang_storage::challenges::insert(&mut tx, &challenge).await?;
    tx.commit().await?;

    let title = "'揭榜方案 ' || CAST(i AS TEXT)";
    // 10,000,000 fen plus a step of 1,000 yuan that repeats: equal budgets happen.
    let budget = "1000000000 + (i * 37) % 1000 * 100000";
    let content = concat(
        &content_template()?,
        &[
            (TITLE_MARK, title.into()),
            (&BUDGET_MARK.to_string(), format!("CAST({budget} AS TEXT)")),
        ],
    );
    let pledge = serde_json::to_string(&Pledge {
        signer_id: "usr-team".into(),
        signed_at: Timestamp(NOW - 40 * 86_400_000_000),
        text: "本单位承诺申报材料真实有效。".into(),
        signed_document: None,
        text_sha256: "0".repeat(64),
    })?;
    let formal_check = serde_json::to_string(&FormalCheck {
        eligible: true,
        reasons: vec![],
        checker_id: "usr-admin".into(),
        checked_at: Timestamp(NOW - 29 * 86_400_000_000),
    })?;
    exec(
        store,
        format!(
            "{with} INSERT INTO applications (id, challenge_id, round, state, lead_organization_id, \
             creator_id, content, pledge, formal_check, withdrawal_reason, submitted_at, withdrawn_at, \
             created_at, updated_at, version, title, requested_budget_fen) \
             SELECT 'app' || CAST(1000000 + i AS TEXT), {challenge}, '2026', 'UNDER_REVIEW', \
             'org' || CAST(1000000 + i AS TEXT), 'usr-team', {content}, {pledge}, {formal_check}, \
             NULL, {submitted}, NULL, {created}, {NOW}, 4, {title}, {budget} FROM g",
            challenge = lit(CHALLENGE_ID),
            pledge = lit(&pledge),
            formal_check = lit(&formal_check),
            submitted = NOW - 40 * 86_400_000_000,
            created = NOW - 50 * 86_400_000_000,
        ),
    )
    .await?;

    let experts = experts_rows();
    exec(
        store,
        format!(
            "{with} INSERT INTO assignments (id, challenge_id, application_id, expert_id, state, origin, \
             affinity, replaces, created_at, opened_at, withdrawn_at, version) \
             SELECT 'asg' || CAST(1000000 + i AS TEXT) || '-' || CAST(e AS TEXT), {challenge}, \
             'app' || CAST(1000000 + i AS TEXT), 'exp' || CAST(e AS TEXT), 'SUBMITTED', 'SOLVER', 0, NULL, \
             {NOW}, {NOW}, NULL, 3 FROM g CROSS JOIN ({experts}) x",
            challenge = lit(CHALLENGE_ID),
        ),
    )
    .await?;

    // Scores in half points: the application's quality (55–95 % of each weight), the expert's
    // leniency on the whole sheet (±3 half points, ±5 for every fifth application) and a
    // little per criterion (±2), capped at the weight. Some fall below the thresholds, about
    // one in ten spreads past the dispersion gap, many tie.
    let bias = "+ (i * 31 + e * 17) % (CASE WHEN i % 5 = 0 THEN 11 ELSE 7 END) \
                - (CASE WHEN i % 5 = 0 THEN 5 ELSE 3 END)";
    let raw: Vec<String> = CRITERIA
        .iter()
        .enumerate()
        .map(|(c, (_, _, w))| {
            format!(
                "(2 * {w} * (55 + (i * 7919) % 41)) / 100 {bias} + (i + e * 5 + {c} * 3) % 5 - 2 AS r{c}"
            )
        })
        .collect();
    let capped: Vec<String> = CRITERIA
        .iter()
        .enumerate()
        .map(|(c, (_, _, w))| {
            format!(
                "CASE WHEN r{c} > {cap} THEN {cap} ELSE r{c} END AS h{c}",
                cap = 2 * w
            )
        })
        .collect();
    let marks: Vec<String> = (0..CRITERIA.len()).map(|c| format!("@S{c}@")).collect();
    let scores: Vec<(&str, String)> = marks
        .iter()
        .enumerate()
        .map(|(c, mark)| {
            (
                mark.as_str(),
                format!("CAST(h{c} / 2 AS TEXT) || CASE WHEN h{c} % 2 = 1 THEN '.5' ELSE '' END"),
            )
        })
        .collect();
    let sheet = concat(&sheet_template()?, &scores);
    // The criterion scores alone, as the server writes them beside the content (0010).
    let pairs: Vec<(&str, &str)> = CRITERIA
        .iter()
        .zip(&marks)
        .map(|((name, _, _), mark)| (*name, mark.as_str()))
        .collect();
    let sheet_scores = concat(&serde_json::to_string(&pairs)?, &scores);
    exec(
        store,
        format!(
            "{with} INSERT INTO score_sheets (id, assignment_id, challenge_id, application_id, expert_id, \
             state, content, revision, supersedes, rescoring_reason, seal_sha256, created_at, updated_at, \
             submitted_at, version, scores) \
             SELECT 'sht' || CAST(1000000 + i AS TEXT) || '-' || CAST(e AS TEXT), \
             'asg' || CAST(1000000 + i AS TEXT) || '-' || CAST(e AS TEXT), {challenge}, \
             'app' || CAST(1000000 + i AS TEXT), 'exp' || CAST(e AS TEXT), 'SUBMITTED', {sheet}, 1, NULL, NULL, \
             {seal}, {NOW}, {NOW}, {NOW}, 3, {sheet_scores} \
             FROM (SELECT i, e, {capped} FROM (SELECT i, e, {raw} FROM g CROSS JOIN ({experts}) x) r) h",
            challenge = lit(CHALLENGE_ID),
            seal = lit(&"5".repeat(64)),
            capped = capped.join(", "),
            raw = raw.join(", "),
        ),
    )
    .await?;
    // Fresh statistics, as a database that has lived with these rows would have.
    exec(store, "ANALYZE".into()).await?;
    Ok(())
}
