//! The world the scenarios run in, built through the public API before any timing: teams,
//! experts, published challenges, draft applications ready to submit, score sheets ready to
//! seal. Nothing is written to the database directly.

use crate::measure;
use anyhow::{Context, Result, bail};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::clock_service_client::ClockServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use jiebang_proto::v1::review_service_client::ReviewServiceClient;
use std::sync::Arc;
use std::time::Duration;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

const DAY: i64 = 86_400;
const FIELD: &str = "electric_porcelain";

/// Adds `authorization: Bearer …`.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// A few HTTP/2 connections shared round-robin, as a real client fleet would spread.
#[derive(Clone)]
pub struct Connections(Arc<Vec<Channel>>);

impl Connections {
    pub async fn open(url: &str, count: usize) -> Result<Self> {
        let mut channels = Vec::new();
        for _ in 0..count.max(1) {
            channels.push(
                Endpoint::from_shared(url.to_owned())?
                    .tcp_nodelay(true)
                    .connect()
                    .await
                    .with_context(|| format!("cannot connect to {url}"))?,
            );
        }
        Ok(Self(Arc::new(channels)))
    }

    pub fn channel(&self, i: usize) -> Channel {
        self.0[i % self.0.len()].clone()
    }

    pub fn authed(&self, i: usize, token: &str) -> Authed {
        let value = format!("Bearer {token}").parse().expect("tokens are ASCII");
        InterceptedService::new(self.channel(i), Bearer(value))
    }
}

/// What the scenarios need, by size.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Teams, each with its own organisation and lead person; also the burst's clients.
    pub teams: usize,
    /// Score sheets ready to seal (three per reviewed application); as many again are made
    /// for the database floor.
    pub sheets: usize,
    /// Draft applications ready to submit; as many again are made for the database floor.
    pub submissions: usize,
    /// Draft applications of the deadline burst.
    pub burst: usize,
}

pub struct Team {
    pub user: String,
    pub org: String,
    pub token: String,
}

pub struct Sheet {
    pub expert: usize,
    pub name: String,
    pub etag: String,
}

pub struct Draft {
    pub team: usize,
    pub name: String,
}

pub struct World {
    pub admin: String,
    /// Server clock minus this machine's, in seconds: the demo clock has been moved, and a
    /// pledge must be signed in the server's present.
    pub clock_offset: i64,
    /// A team member's token, for the reads.
    pub reader: String,
    /// A published challenge every signed-in user may read.
    pub read_target: String,
    pub teams: Vec<Team>,
    pub expert_tokens: Vec<String>,
    /// The experts' user names (`users/{id}`), in the order of their tokens.
    pub expert_users: Vec<String>,
    pub sheets: Vec<Sheet>,
    /// Sheets like `sheets`, sealed by the database floor instead of through the server.
    pub floor_sheets: Vec<Sheet>,
    pub submissions: Vec<Draft>,
    /// Drafts like `submissions`, submitted by the database floor instead of the server.
    pub floor_submissions: Vec<Draft>,
    pub burst: Vec<Draft>,
    pub burst_challenges: Vec<String>,
}

fn ok_or_kind<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, String> {
    result
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{}: {}", measure::kind_of(&s), s.message()))
}

fn ensure(outcome: &measure::Outcome, what: &str) -> Result<()> {
    if !outcome.failures.is_empty() {
        bail!("setting up {what} failed: {:?}", outcome.failures);
    }
    Ok(())
}

pub async fn login(conns: &Connections, username: &str, password: &str) -> Result<String> {
    Ok(IdentityServiceClient::new(conns.channel(0))
        .login(pb::LoginRequest {
            username: username.into(),
            password: password.into(),
        })
        .await
        .with_context(|| format!("log in as {username}"))?
        .into_inner()
        .access_token)
}

/// Builds the world; `progress` is told what is being built.
pub async fn build(conns: &Connections, sizes: Sizes, progress: impl Fn(&str)) -> Result<World> {
    let admin = login(conns, "admin", crate::server::ADMIN_PASSWORD).await?;
    let conns = conns.clone();

    progress("organisations and people");
    let institute = organization(
        &conns,
        &admin,
        "bench-institute",
        pb::OrganizationType::Institute,
    )
    .await?;
    let publisher_org = organization(
        &conns,
        &admin,
        "bench-publisher",
        pb::OrganizationType::Enterprise,
    )
    .await?;
    let publisher = user(
        &conns,
        &admin,
        "bench.publisher",
        pb::Role::Publisher,
        &publisher_org,
    )
    .await?;
    let sheets_to_make = sizes.sheets * 2;
    let expert_count = sheets_to_make.div_ceil(150).max(3);
    let teams = {
        let (conns, admin) = (conns.clone(), admin.clone());
        let made = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let made2 = made.clone();
        let outcome = measure::each(8, (0..sizes.teams).collect(), move |_, &i| {
            let (conns, admin, made) = (conns.clone(), admin.clone(), made2.clone());
            async move {
                let org = organization(
                    &conns,
                    &admin,
                    &format!("bench-team-{i}"),
                    pb::OrganizationType::University,
                )
                .await
                .map_err(|e| e.to_string())?;
                let username = format!("bench.team{i}");
                let token = user(&conns, &admin, &username, pb::Role::TeamMember, &org)
                    .await
                    .map_err(|e| e.to_string())?;
                let me = ok_or_kind(
                    IdentityServiceClient::new(conns.authed(i, &token))
                        .who_am_i(pb::WhoAmIRequest {})
                        .await,
                )?;
                let me = me.user.ok_or("no user")?;
                made.lock().await.push((
                    i,
                    Team {
                        user: me.name,
                        org: me.organization,
                        token,
                    },
                ));
                Ok(())
            }
        })
        .await;
        ensure(&outcome, "teams")?;
        let mut made = std::mem::take(&mut *made.lock().await);
        made.sort_by_key(|(i, _)| *i);
        made.into_iter().map(|(_, t)| t).collect::<Vec<_>>()
    };
    let mut experts = Vec::new();
    let mut expert_tokens = Vec::new();
    let mut expert_users = Vec::new();
    for i in 0..expert_count {
        let username = format!("bench.expert{i}");
        let token = user(&conns, &admin, &username, pb::Role::Expert, &institute).await?;
        let me = IdentityServiceClient::new(conns.authed(i, &token))
            .who_am_i(pb::WhoAmIRequest {})
            .await?
            .into_inner()
            .user
            .context("whoami")?
            .name;
        expert_users.push(me.clone());
        let expert = ReviewServiceClient::new(conns.authed(i, &admin))
            .create_expert(pb::CreateExpertRequest {
                expert: Some(pb::Expert {
                    user: me,
                    fields_of_expertise: vec![FIELD.into()],
                    keywords: vec!["烧成".into()],
                    affiliation: institute.clone(),
                    max_load: 200,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?
            .into_inner()
            .expert
            .context("expert")?
            .name;
        experts.push(expert);
        expert_tokens.push(token);
    }

    // Reviewed applications: submitted now, closed by moving the clock, checked, assigned.
    progress("applications to review");
    let reviewed = sheets_to_make.div_ceil(3);
    let review_challenges = publish_many(
        &conns,
        &admin,
        &publisher,
        "review",
        reviewed.div_ceil(sizes.teams.max(1)),
        DAY,
    )
    .await?;
    let review_drafts = drafts(&conns, &teams, &review_challenges, reviewed).await?;
    submit_all(&conns, &admin, &teams, &review_drafts).await?;
    advance(&conns, &admin, 2 * DAY).await?;
    {
        let (c, a) = (conns.clone(), admin.clone());
        let outcome = measure::each(
            8,
            review_drafts.iter().map(|d| d.name.clone()).collect(),
            move |w, name: &String| {
                let (c, a, name) = (c.clone(), a.clone(), name.clone());
                async move {
                    ok_or_kind(
                        ApplicationServiceClient::new(c.authed(w, &a))
                            .record_formal_check(pb::RecordFormalCheckRequest {
                                name,
                                outcome: pb::FormalCheckOutcome::Eligible as i32,
                                ..Default::default()
                            })
                            .await,
                    )
                    .map(|_| ())
                }
            },
        )
        .await;
        ensure(&outcome, "formal checks")?;
    }
    progress("expert assignment and score-sheet drafts");
    let mut sheets = Vec::new();
    for challenge in &review_challenges {
        let solved = ReviewServiceClient::new(conns.authed(0, &admin))
            .solve_assignments(pb::SolveAssignmentsRequest {
                challenge: challenge.clone(),
                experts_per_application: 3,
                ..Default::default()
            })
            .await?
            .into_inner();
        if !solved.feasible {
            bail!("assignment infeasible: {:?}", solved.infeasibility_reasons);
        }
        for a in solved.assignments {
            let expert = experts
                .iter()
                .position(|e| *e == a.expert)
                .context("known expert")?;
            sheets.push((expert, a.name));
        }
    }
    sheets.truncate(sheets_to_make);
    let saved = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    {
        let (c, tokens, saved2) = (
            conns.clone(),
            Arc::new(expert_tokens.clone()),
            saved.clone(),
        );
        let outcome = measure::each(
            8,
            sheets,
            move |w, (expert, assignment): &(usize, String)| {
                let (c, tokens, saved, expert, assignment) = (
                    c.clone(),
                    tokens.clone(),
                    saved2.clone(),
                    *expert,
                    assignment.clone(),
                );
                async move {
                    let sheet = ok_or_kind(
                        ReviewServiceClient::new(c.authed(w, &tokens[expert]))
                            .save_score_sheet(pb::SaveScoreSheetRequest {
                                assignment,
                                score_sheet: Some(score_sheet()),
                                request_id: String::new(),
                            })
                            .await,
                    )?
                    .score_sheet
                    .ok_or("no sheet")?;
                    saved.lock().await.push(Sheet {
                        expert,
                        name: sheet.name,
                        etag: sheet.etag,
                    });
                    Ok(())
                }
            },
        )
        .await;
        ensure(&outcome, "score-sheet drafts")?;
    }
    let mut sheets = std::mem::take(&mut *saved.lock().await);
    let floor_sheets = sheets.split_off(sizes.sheets.min(sheets.len()));

    progress("drafts to submit");
    let open = publish_many(
        &conns,
        &admin,
        &publisher,
        "submit",
        (sizes.submissions * 2).div_ceil(sizes.teams.max(1)),
        30 * DAY,
    )
    .await?;
    let mut submissions = drafts(&conns, &teams, &open, sizes.submissions * 2).await?;
    let floor_submissions = submissions.split_off(sizes.submissions.min(submissions.len()));
    progress("drafts of the deadline burst");
    let burst_challenges = publish_many(
        &conns,
        &admin,
        &publisher,
        "burst",
        sizes.burst.div_ceil(sizes.teams.max(1)),
        DAY,
    )
    .await?;
    let burst = drafts(&conns, &teams, &burst_challenges, sizes.burst).await?;

    let clock_offset = clock_offset(&conns, &admin).await?;
    let reader = teams
        .first()
        .map(|t| t.token.clone())
        .context("at least one team")?;
    let read_target = open
        .first()
        .cloned()
        .context("at least one open challenge")?;
    Ok(World {
        admin,
        clock_offset,
        reader,
        read_target,
        teams,
        expert_tokens,
        expert_users,
        sheets,
        floor_sheets,
        submissions,
        floor_submissions,
        burst,
        burst_challenges,
    })
}

pub async fn advance(conns: &Connections, admin: &str, seconds: i64) -> Result<()> {
    ClockServiceClient::new(conns.authed(0, admin))
        .advance_clock(pb::AdvanceClockRequest {
            by: Some(prost_types::Duration { seconds, nanos: 0 }),
        })
        .await
        .context("move the server's demo clock")?;
    Ok(())
}

async fn organization(
    conns: &Connections,
    admin: &str,
    seed: &str,
    org_type: pb::OrganizationType,
) -> Result<String> {
    let hash = seed.bytes().fold(1_469_598_103_934_665_603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    });
    let code = jiebang_domain::identity::complete_credit_code(&format!(
        "91{:015}",
        hash % 1_000_000_000_000_000
    ))
    .context("credit code")?;
    Ok(IdentityServiceClient::new(conns.authed(0, admin))
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: seed.into(),
                r#type: org_type as i32,
                region: "330100".into(),
                unified_social_credit_code: code,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .with_context(|| format!("create organisation {seed}"))?
        .into_inner()
        .organization
        .context("organisation")?
        .name)
}

/// Creates a user and returns their token.
async fn user(
    conns: &Connections,
    admin: &str,
    username: &str,
    role: pb::Role,
    org: &str,
) -> Result<String> {
    let password = format!("{username}-password");
    IdentityServiceClient::new(conns.authed(0, admin))
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                username: username.into(),
                display_name: username.into(),
                role: role as i32,
                organization: org.into(),
                ..Default::default()
            }),
            initial_password: password.clone(),
            request_id: String::new(),
        })
        .await
        .with_context(|| format!("create user {username}"))?;
    login(conns, username, &password).await
}

/// `count` challenges published now with an application window of `window` seconds, each in
/// a round of its own (an organisation may take part in three applications per round).
async fn publish_many(
    conns: &Connections,
    admin: &str,
    publisher: &str,
    label: &str,
    count: usize,
    window: i64,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for i in 0..count {
        let mut challenges = ChallengeServiceClient::new(conns.authed(i, publisher));
        let draft = challenges
            .create_challenge(pb::CreateChallengeRequest {
                challenge: Some(challenge(&format!("bench-{label}-{i}"))),
                request_id: String::new(),
            })
            .await
            .context("create challenge")?
            .into_inner()
            .challenge
            .context("challenge")?;
        challenges
            .submit_challenge(pb::SubmitChallengeRequest {
                name: draft.name.clone(),
                ..Default::default()
            })
            .await?;
        ChallengeServiceClient::new(conns.authed(i, admin))
            .approve_challenge(pb::ApproveChallengeRequest {
                name: draft.name.clone(),
                ..Default::default()
            })
            .await?;
        let now = ClockServiceClient::new(conns.authed(i, admin))
            .get_clock(pb::GetClockRequest {})
            .await?
            .into_inner()
            .now
            .context("clock")?;
        challenges
            .publish_challenge(pb::PublishChallengeRequest {
                name: draft.name.clone(),
                application_close_time: Some(prost_types::Timestamp {
                    seconds: now.seconds + window,
                    nanos: 0,
                }),
                ..Default::default()
            })
            .await
            .context("publish challenge")?;
        names.push(draft.name);
    }
    Ok(names)
}

/// `count` draft applications spread over `challenges`, each team at most once per challenge.
async fn drafts(
    conns: &Connections,
    teams: &[Team],
    challenges: &[String],
    count: usize,
) -> Result<Vec<Draft>> {
    let plan: Vec<(usize, String)> = (0..count)
        .map(|i| (i % teams.len(), challenges[i / teams.len()].clone()))
        .collect();
    let tokens: Arc<Vec<(String, String, String)>> = Arc::new(
        teams
            .iter()
            .map(|t| (t.token.clone(), t.user.clone(), t.org.clone()))
            .collect(),
    );
    let made = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let (c, made2) = (conns.clone(), made.clone());
    let outcome = measure::each(8, plan, move |w, (team, challenge): &(usize, String)| {
        let (c, tokens, made, team, challenge) = (
            c.clone(),
            tokens.clone(),
            made2.clone(),
            *team,
            challenge.clone(),
        );
        async move {
            let (token, user, org) = &tokens[team];
            let draft = ok_or_kind(
                ApplicationServiceClient::new(c.authed(w, token))
                    .create_application(pb::CreateApplicationRequest {
                        parent: challenge,
                        application: Some(application(user, org)),
                        request_id: String::new(),
                    })
                    .await,
            )?
            .application
            .ok_or("no application")?;
            made.lock().await.push(Draft {
                team,
                name: draft.name,
            });
            Ok(())
        }
    })
    .await;
    ensure(&outcome, "draft applications")?;
    Ok(std::mem::take(&mut *made.lock().await))
}

async fn clock_offset(conns: &Connections, admin: &str) -> Result<i64> {
    let server = ClockServiceClient::new(conns.authed(0, admin))
        .get_clock(pb::GetClockRequest {})
        .await?
        .into_inner()
        .now
        .context("clock")?;
    Ok(server.seconds - unix_seconds())
}

fn unix_seconds() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(now.as_secs()).unwrap_or(0)
}

async fn submit_all(
    conns: &Connections,
    admin: &str,
    teams: &[Team],
    drafts: &[Draft],
) -> Result<()> {
    let offset = clock_offset(conns, admin).await?;
    let work: Vec<(String, String, String)> = drafts
        .iter()
        .map(|d| {
            (
                teams[d.team].token.clone(),
                teams[d.team].user.clone(),
                d.name.clone(),
            )
        })
        .collect();
    let c = conns.clone();
    let outcome = measure::each(
        8,
        work,
        move |w, (token, user, name): &(String, String, String)| {
            let request = submission(user, name, offset);
            let client = ApplicationServiceClient::new(c.authed(w, token));
            async move { ok_or_kind(client.clone().submit_application(request).await).map(|_| ()) }
        },
    )
    .await;
    ensure(&outcome, "submissions")
}

/// A submission with the pledge signed now (on the server's clock) by `lead`.
pub fn submission(lead: &str, name: &str, clock_offset: i64) -> pb::SubmitApplicationRequest {
    pb::SubmitApplicationRequest {
        name: name.into(),
        pledge: Some(pb::ResponsibilityPledge {
            signer: lead.into(),
            sign_time: Some(prost_types::Timestamp {
                seconds: unix_seconds() + clock_offset,
                nanos: 0,
            }),
            text: "本团队承诺按期完成全部考核指标，如未达到，愿承担相应责任。".into(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    }
}

fn challenge(round: &str) -> pb::Challenge {
    let criterion = |name: &str, kind: pb::CriterionKind, weight: i32| pb::Criterion {
        name: name.into(),
        kind: kind as i32,
        weight,
        guidance: String::new(),
    };
    let tranche = |trigger: pb::TrancheTrigger, share: i32| pb::Tranche {
        trigger: trigger as i32,
        share_basis_points: share,
        description: String::new(),
    };
    pb::Challenge {
        title: format!("负载测试榜单 {round}"),
        problem: "国产特高压瓷绝缘子机电性能离散度大，批次一致性差。".into(),
        goals: "研制机电破坏负荷不低于 550 kN 的瓷绝缘子。".into(),
        indicators: vec![pb::Indicator {
            name: "机电破坏负荷".into(),
            target_value: "550".into(),
            unit: "kN".into(),
            comparison: pb::Comparison::AtLeast as i32,
            test_method: "GB/T 1001.1 型式试验".into(),
            mandatory: true,
        }],
        end_user: "本市电瓷企业生产线".into(),
        government_funding_fen: 300_000_000,
        co_funding_fen: 100_000_000,
        duration_months: 24,
        industry_field: FIELD.into(),
        eligibility: Some(pb::Eligibility {
            organization_types: vec![
                pb::OrganizationType::Enterprise as i32,
                pb::OrganizationType::University as i32,
            ],
            max_partners: Some(4),
            max_applications_per_organization: 3,
            ..Default::default()
        }),
        criteria: vec![
            criterion(
                "技术路线与可行性",
                pb::CriterionKind::TechnicalFeasibility,
                40,
            ),
            criterion("团队能力", pb::CriterionKind::TeamCapability, 25),
            criterion("预算合理性", pb::CriterionKind::Budget, 15),
            criterion("产业化与用户价值", pb::CriterionKind::Industrialisation, 20),
        ],
        winners_count: 1,
        tranches: vec![
            tranche(pb::TrancheTrigger::OnSigning, 5_000),
            tranche(pb::TrancheTrigger::MidTerm, 3_000),
            tranche(pb::TrancheTrigger::Final, 2_000),
        ],
        responsible_department: "市科技局高新技术处".into(),
        contact: Some(pb::Contact {
            person: "王工".into(),
            phone: "0571-88888888".into(),
            email: String::new(),
        }),
        blind_review: true,
        round: round.into(),
        ..Default::default()
    }
}

fn application(lead: &str, org: &str) -> pb::Application {
    let milestone =
        |title: &str, months: i32, target: &str, share: i32, mid: bool| pb::ProposedMilestone {
            title: title.into(),
            deliverables: vec!["检测报告".into()],
            due_after_months: months,
            indicator_targets: vec![pb::IndicatorTarget {
                indicator: "机电破坏负荷".into(),
                target_value: target.into(),
            }],
            share_basis_points: share,
            mid_term: mid,
        };
    pb::Application {
        title: "高强度瓷绝缘子配方与梯度烧成工艺".into(),
        team: Some(pb::Team {
            lead_person: lead.into(),
            members: vec![pb::TeamMember {
                user: lead.into(),
                display_name: "李工".into(),
                organization: org.into(),
                role: pb::TeamRole::Lead as i32,
                duty: "总体技术负责".into(),
            }],
            ..Default::default()
        }),
        technical_plan: "采用高铝瓷配方，梯度烧成控制晶相，在线监测窑温。".into(),
        requested_budget_fen: 350_000_000,
        signing_share_basis_points: 5_000,
        proposed_milestones: vec![
            milestone("中期：样品试制", 12, "500", 3_000, true),
            milestone("结题：小批量试产", 24, "560", 2_000, false),
        ],
        contacts: vec![pb::Contact {
            person: "李工".into(),
            phone: "13800000000".into(),
            email: String::new(),
        }],
        ..Default::default()
    }
}

fn score_sheet() -> pb::ScoreSheet {
    let line = |name: &str, score: &str| pb::CriterionScore {
        criterion: name.into(),
        score: score.into(),
        comment: format!("{name}：论证充分，依据明确，与考核指标对应。"),
    };
    pb::ScoreSheet {
        criterion_scores: vec![
            line("技术路线与可行性", "34"),
            line("团队能力", "21"),
            line("预算合理性", "12"),
            line("产业化与用户价值", "17"),
        ],
        overall_comment: "总体评价：技术路线可行，团队具备相应能力，预算编制基本合理，产业化前景明确，建议在中期重点核查关键工艺的一致性与第三方检测数据。".into(),
        recommendation: pb::Recommendation::Recommend as i32,
        ..Default::default()
    }
}
