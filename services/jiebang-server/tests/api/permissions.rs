//! The permissions matrix of `docs/permissions.md`, cell by cell: every RPC called as every role
//! against one world built through the API, and the answer compared with the table.
//!
//! The table is the only place that says who may do what. This file knows how to call each RPC
//! (a request aimed at the world's resources) and in which order to call them, never who may
//! call them. Beyond the codes it checks the reads the requirement names: one team cannot read
//! another's application, one expert cannot see another's unsealed sheet, and a team's view of
//! its result names no expert.

use crate::milestones::report;
use crate::on_both_backends;
use crate::review::{assignment_of, score, sheet};
use crate::support::{ADMIN_PASSWORD, Cast, Team, TestApp, credit_code};
use jiebang_grpc::convert::to_proto_time;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::application_service_client::ApplicationServiceClient;
use jiebang_proto::v1::audit_service_client::AuditServiceClient;
use jiebang_proto::v1::challenge_service_client::ChallengeServiceClient;
use jiebang_proto::v1::clock_service_client::ClockServiceClient;
use jiebang_proto::v1::event_service_client::EventServiceClient;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use jiebang_proto::v1::milestone_service_client::MilestoneServiceClient;
use jiebang_proto::v1::review_service_client::ReviewServiceClient;
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// The single source of truth.
const DOC: &str = include_str!("../../../../docs/permissions.md");

const DAY: Duration = Duration::from_secs(86_400);

/// Written into the expert's unsealed draft, so any answer that carries it is caught.
const UNSEALED_MARKER: &str = "【矩阵专家未封存草稿】";

/// The file name the team gives its technical plan; experts of a blind review must not see it.
const TEAM_FILE_NAME: &str = "矩阵团队-技术方案-负责人.pdf";

/// Every RPC this file can call, in the order the matrix calls them: each row leaves the world
/// in the state the later rows expect (a report before its panel, a panel before its votes, the
/// project's failure last).
const CALLS: &[&str] = &[
    "IdentityService.Login",
    "IdentityService.WhoAmI",
    "IdentityService.CreateOrganization",
    "IdentityService.GetOrganization",
    "IdentityService.ListOrganizations",
    "IdentityService.UpdateOrganization",
    "IdentityService.CreateUser",
    "IdentityService.GetUser",
    "IdentityService.ListUsers",
    "IdentityService.ChangePassword",
    "AuditService.ListAuditRecords",
    "AuditService.VerifyAuditChain",
    "EventService.WatchEvents",
    "ChallengeService.CreateChallenge",
    "ChallengeService.GetChallenge",
    "ChallengeService.ListChallenges",
    "ChallengeService.UpdateChallenge",
    "ChallengeService.SubmitChallenge",
    "ChallengeService.ApproveChallenge",
    "ChallengeService.RejectChallenge",
    "ChallengeService.PublishChallenge",
    "ChallengeService.CancelChallenge",
    "ApplicationService.CreateApplication",
    "ApplicationService.GetApplication",
    "ApplicationService.ListApplications",
    "ApplicationService.UpdateApplication",
    "ApplicationService.SubmitApplication",
    "ApplicationService.WithdrawApplication",
    "ApplicationService.RecordFormalCheck",
    "ApplicationService.GetBlindView",
    "ApplicationService.UploadDocument",
    "ApplicationService.DownloadDocument",
    "ApplicationService.GetDocument",
    "ReviewService.CreateExpert",
    "ReviewService.GetExpert",
    "ReviewService.ListExperts",
    "ReviewService.UpdateExpert",
    "ReviewService.DeclareConflict",
    "ReviewService.ListConflicts",
    "ReviewService.SetAssignmentConstraint",
    "ReviewService.SolveAssignments",
    "ReviewService.GetReviewPanel",
    "ReviewService.SetPanelChair",
    "ReviewService.ListAssignments",
    "ReviewService.OpenAssignment",
    "ReviewService.SaveScoreSheet",
    "ReviewService.SubmitScoreSheet",
    "ReviewService.RequestRescoring",
    "ReviewService.GetApplicationResult",
    "ReviewService.ListRanking",
    "ReviewService.RecordDispersionResolution",
    "ReviewService.ProposeWinners",
    "ReviewService.GetPublicNotice",
    "ReviewService.FileObjection",
    "ReviewService.ListObjections",
    "ReviewService.RuleOnObjection",
    "ReviewService.AppointWinners",
    "MilestoneService.GetProject",
    "MilestoneService.ListProjects",
    "MilestoneService.GetMilestone",
    "MilestoneService.ListMilestones",
    "MilestoneService.SubmitMilestoneReport",
    "MilestoneService.FormAcceptancePanel",
    "MilestoneService.CastAcceptanceVote",
    "MilestoneService.ListAcceptanceVotes",
    "MilestoneService.DecideMilestone",
    "MilestoneService.GrantExtension",
    "MilestoneService.ListDisbursements",
    "MilestoneService.ReleaseTranche",
    "MilestoneService.RankHorseRace",
    "MilestoneService.SelectHorseRaceContinuers",
    "MilestoneService.RecordProjectFailure",
    "ClockService.GetClock",
    "ClockService.AdvanceClock",
];

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Admin,
    Publisher,
    TeamLead,
    TeamMember,
    Expert,
    Chair,
    Unrelated,
    NoToken,
}

/// The columns of the table, by their header.
const ROLES: [(Role, &str); 8] = [
    (Role::Admin, "admin"),
    (Role::Publisher, "publisher"),
    (Role::TeamLead, "team lead"),
    (Role::TeamMember, "team member"),
    (Role::Expert, "expert"),
    (Role::Chair, "chair"),
    (Role::Unrelated, "unrelated"),
    (Role::NoToken, "no token"),
];

fn role_name(role: Role) -> &'static str {
    ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map_or("?", |(_, n)| n)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Public,
    Allow,
    Deny,
    Hidden,
    Unauth,
}

impl Cell {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "public" => Some(Self::Public),
            "allow" => Some(Self::Allow),
            "deny" => Some(Self::Deny),
            "hidden" => Some(Self::Hidden),
            "unauth" => Some(Self::Unauth),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Allow => "allow",
            Self::Deny => "deny",
            Self::Hidden => "hidden",
            Self::Unauth => "unauth",
        }
    }

    /// Whether the server's answer is what the cell says.
    fn admits(self, got: Code) -> bool {
        match self {
            Self::Public => got == Code::Ok,
            Self::Allow => !matches!(
                got,
                Code::PermissionDenied
                    | Code::Unauthenticated
                    | Code::NotFound
                    | Code::Internal
                    | Code::Unknown
            ),
            Self::Deny => got == Code::PermissionDenied,
            Self::Hidden => got == Code::NotFound,
            Self::Unauth => got == Code::Unauthenticated,
        }
    }

    fn refuses(self) -> bool {
        matches!(self, Self::Deny | Self::Hidden | Self::Unauth)
    }
}

type Matrix = BTreeMap<String, BTreeMap<Role, Cell>>;

fn cells_of(line: &str) -> Vec<String> {
    let line = line.trim();
    let line = line.strip_prefix('|').unwrap_or(line);
    let line = line.strip_suffix('|').unwrap_or(line);
    line.split('|').map(|c| c.trim().to_owned()).collect()
}

/// The table whose first column is `RPC`, with every problem in its form.
fn read_matrix(doc: &str) -> (Matrix, Vec<String>) {
    let mut problems = Vec::new();
    let mut matrix = Matrix::new();
    let lines: Vec<&str> = doc.lines().collect();
    let Some(at) = lines.iter().position(|l| {
        l.trim_start().starts_with('|') && cells_of(l).first().is_some_and(|c| c == "RPC")
    }) else {
        problems.push("docs/permissions.md has no table with an `RPC` column".to_owned());
        return (matrix, problems);
    };
    let header = cells_of(lines[at]);
    let mut columns = Vec::new();
    for (role, name) in ROLES {
        match header.iter().position(|c| c == name) {
            Some(i) => columns.push((role, i)),
            None => problems.push(format!("the table has no `{name}` column")),
        }
    }
    for line in lines[at + 2..]
        .iter()
        .take_while(|l| l.trim_start().starts_with('|'))
    {
        let cells = cells_of(line);
        let rpc = cells[0].trim_matches('`').to_owned();
        if cells.len() != header.len() {
            problems.push(format!(
                "{rpc}: {} cells for {} columns",
                cells.len(),
                header.len()
            ));
            continue;
        }
        let mut row = BTreeMap::new();
        for (role, i) in &columns {
            match Cell::parse(&cells[*i]) {
                Some(cell) => {
                    row.insert(*role, cell);
                }
                None => problems.push(format!(
                    "{rpc} as {}: `{}` is not a cell of the vocabulary",
                    role_name(*role),
                    cells[*i]
                )),
            }
        }
        if matrix.insert(rpc.clone(), row).is_some() {
            problems.push(format!("{rpc} has two rows"));
        }
    }
    (matrix, problems)
}

/// `Service.Method` of every RPC of `proto/jiebang/v1/*.proto`.
fn proto_rpcs() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(jiebang_proto::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes");
    set.file
        .iter()
        .filter(|f| f.package() == "jiebang.v1")
        .flat_map(|f| &f.service)
        .flat_map(|s| {
            s.method
                .iter()
                .map(move |m| format!("{}.{}", s.name(), m.name()))
        })
        .collect()
}

/// Rows missing, rows the test cannot call, calls for RPCs that no longer exist.
fn coverage(matrix: &Matrix) -> Vec<String> {
    let proto = proto_rpcs();
    let table: BTreeSet<String> = matrix.keys().cloned().collect();
    let callable: BTreeSet<String> = CALLS.iter().map(|c| (*c).to_owned()).collect();
    let mut problems = Vec::new();
    for rpc in proto.difference(&table) {
        problems.push(format!("{rpc} is in the proto but has no row in the table"));
    }
    for rpc in table.difference(&callable) {
        problems.push(format!(
            "the table names {rpc}, which this test cannot call"
        ));
    }
    for rpc in callable.difference(&proto) {
        problems.push(format!(
            "this test calls {rpc}, which the proto does not have"
        ));
    }
    if CALLS.len() != callable.len() {
        problems.push("CALLS names an RPC twice".to_owned());
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// The world

#[derive(Debug, Clone)]
struct Person {
    username: String,
    password: String,
    token: String,
    /// `users/{id}`.
    user: String,
    /// `organizations/{id}`.
    org: String,
}

impl Person {
    fn as_team(&self) -> Team {
        Team {
            org: self.org.clone(),
            lead: self.token.clone(),
            lead_name: self.user.clone(),
        }
    }
}

/// Everyone and everything the matrix calls on. Challenges: `main` went through review to
/// appointment and has the team's project; `review` is under review with the expert's sheets
/// unsealed; `notice` is in public notice; `open` takes applications; `check` is closed with an
/// application not yet formally checked; the rest sit in one lifecycle state each.
struct World {
    admin: Person,
    publisher: Person,
    lead: Person,
    member: Person,
    expert: Person,
    chair: Person,
    third: Person,
    unrelated: Person,
    /// A user the Login row signs in as.
    probe: Person,
    /// A user with the expert role and no profile yet, for CreateExpert.
    spare_expert_user: String,
    team_org: String,
    expert_org: String,
    /// An organisation no one is related to.
    scratch_org: String,
    expert_name: String,
    chair_name: String,
    third_name: String,
    main: String,
    review: String,
    notice: String,
    open: String,
    draft: String,
    pending_approve: String,
    pending_reject: String,
    approved: String,
    to_cancel: String,
    main_app: String,
    rival_main_app: String,
    review_app: String,
    rival_review_app: String,
    notice_app: String,
    rival_notice_app: String,
    check_app: String,
    open_draft: String,
    open_withdraw: String,
    /// The lead's technical plan, attached to `review_app`.
    document: String,
    /// The expert's assignment on `review_app`, with an unsealed draft.
    expert_assignment: String,
    /// That draft.
    expert_sheet: String,
    expert_sheet_total: String,
    /// The expert's DRAFT sheet on `rival_review_app`, submitted by the matrix.
    expert_rival_sheet: String,
    /// The rival's objection in the notice.
    objection: String,
    project: String,
    mid: String,
    last: String,
}

impl World {
    fn person(&self, role: Role) -> Option<&Person> {
        match role {
            Role::Admin => Some(&self.admin),
            Role::Publisher => Some(&self.publisher),
            Role::TeamLead => Some(&self.lead),
            Role::TeamMember => Some(&self.member),
            Role::Expert => Some(&self.expert),
            Role::Chair => Some(&self.chair),
            Role::Unrelated => Some(&self.unrelated),
            Role::NoToken => None,
        }
    }

    /// Every string that would identify an expert of the review.
    fn expert_identities(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for (person, name) in [
            (&self.chair, &self.chair_name),
            (&self.expert, &self.expert_name),
            (&self.third, &self.third_name),
        ] {
            ids.push(name.clone());
            ids.push(name.trim_start_matches("experts/").to_owned());
            ids.push(person.user.clone());
            ids.push(person.user.trim_start_matches("users/").to_owned());
            // `TestApp::user` gives the display name of the username.
            ids.push(person.username.clone());
        }
        ids
    }
}

async fn person_of(app: &TestApp, username: &str, password: &str, token: String) -> Person {
    let me = app
        .identity(Some(&token))
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .expect("whoami")
        .into_inner()
        .user
        .expect("user");
    Person {
        username: username.to_owned(),
        password: password.to_owned(),
        token,
        user: me.name,
        org: me.organization,
    }
}

async fn person(app: &TestApp, username: &str, role: pb::Role, org: &str) -> Person {
    let token = app.user(username, role, org).await;
    person_of(app, username, &format!("{username}-password"), token).await
}

async fn expert(app: &TestApp, username: &str, org: &str) -> (String, Person) {
    let (name, token) = app
        .expert(username, org, &["electric_porcelain"], &["烧成"])
        .await;
    let person = person_of(app, username, &format!("{username}-password"), token).await;
    (name, person)
}

/// The sample challenge, open to up to ten applications per organisation in its round.
fn content(title: &str) -> pb::Challenge {
    let mut c = crate::samples::porcelain_challenge(title);
    if let Some(e) = c.eligibility.as_mut() {
        e.max_applications_per_organization = 10;
    }
    c
}

/// The team's sample application, with the member listed by account.
fn team_application(
    team: &Team,
    member: Option<&Person>,
    documents: Vec<String>,
) -> pb::Application {
    let mut a = crate::samples::application_for(team);
    if let (Some(member), Some(t)) = (member, a.team.as_mut()) {
        t.members.push(pb::TeamMember {
            user: member.user.clone(),
            display_name: "矩阵成员".into(),
            organization: member.org.clone(),
            role: pb::TeamRole::Member as i32,
            duty: "工艺试验".into(),
        });
    }
    a.documents = documents;
    a
}

async fn draft_application(
    app: &TestApp,
    team: &Team,
    challenge: &str,
    a: pb::Application,
) -> String {
    app.applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.to_owned(),
            application: Some(a),
            request_id: String::new(),
        })
        .await
        .expect("create application")
        .into_inner()
        .application
        .expect("application")
        .name
}

async fn submitted(app: &TestApp, team: &Team, challenge: &str, a: pb::Application) -> String {
    let name = draft_application(app, team, challenge, a).await;
    app.submit_application(team, &name)
        .await
        .expect("submit application");
    name
}

fn pdf(seed: usize) -> Vec<u8> {
    let mut body = b"%PDF-1.7\n".to_vec();
    body.extend((0..2_000usize).map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8));
    body
}

async fn upload(
    channel: &Channel,
    who: Option<&Person>,
    file_name: &str,
    content: Vec<u8>,
) -> Result<pb::UploadDocumentResponse, Status> {
    let meta = pb::DocumentUploadMetadata {
        file_name: file_name.into(),
        media_type: "application/pdf".into(),
        declared_size_bytes: i64::try_from(content.len()).expect("size"),
        declared_sha256: hex::encode(Sha256::digest(&content)),
        purpose: pb::DocumentPurpose::TechnicalPlan as i32,
    };
    let messages = vec![
        pb::UploadDocumentRequest {
            payload: Some(pb::upload_document_request::Payload::Metadata(meta)),
            request_id: String::new(),
        },
        pb::UploadDocumentRequest {
            payload: Some(pb::upload_document_request::Payload::Chunk(content)),
            request_id: String::new(),
        },
    ];
    applications(channel, who)
        .upload_document(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// The expert's unsealed draft: low scores and a marker no one else may ever see.
fn unsealed_draft() -> pb::ScoreSheet {
    let mut draft = sheet("0.33");
    draft.overall_comment = format!("{UNSEALED_MARKER}{}", draft.overall_comment);
    draft
}

async fn save_draft(
    app: &TestApp,
    who: &Person,
    assignment: &str,
    draft: pb::ScoreSheet,
) -> pb::ScoreSheet {
    app.review(Some(&who.token))
        .await
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment: assignment.to_owned(),
            score_sheet: Some(draft),
            request_id: String::new(),
        })
        .await
        .expect("save draft")
        .into_inner()
        .score_sheet
        .expect("sheet")
}

async fn vote(app: &TestApp, who: &Person, milestone: &str) {
    app.milestones(Some(&who.token))
        .await
        .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
            milestone: milestone.to_owned(),
            outcome: pb::AcceptanceOutcome::Accepted as i32,
            comment: "样品与检测报告相符，同意通过。".into(),
            request_id: String::new(),
        })
        .await
        .expect("vote");
}

/// Builds the world through the API.
async fn build(app: &TestApp) -> World {
    use pb::OrganizationType as Org;
    let admin = person_of(app, "admin", ADMIN_PASSWORD, app.admin_token.clone()).await;
    let publisher_org = app
        .organization("矩阵电瓷股份有限公司", Org::Enterprise)
        .await;
    let team_org = app.organization("矩阵工业大学", Org::University).await;
    let rival_org = app.organization("矩阵理工大学", Org::University).await;
    let expert_org = app.organization("矩阵评审研究院", Org::Institute).await;
    let scratch_org = app.organization("矩阵无关单位", Org::Enterprise).await;
    let publisher = person(app, "mx.publisher", pb::Role::Publisher, &publisher_org).await;
    let lead = person(app, "mx.lead", pb::Role::TeamMember, &team_org).await;
    let member = person(app, "mx.member", pb::Role::TeamMember, &team_org).await;
    let unrelated = person(app, "mx.rival", pb::Role::TeamMember, &rival_org).await;
    let probe = person(app, "mx.probe", pb::Role::TeamMember, &scratch_org).await;
    let spare_expert_user = person(app, "mx.spare", pb::Role::Expert, &expert_org)
        .await
        .user;
    let (chair_name, chair) = expert(app, "mx.chair", &expert_org).await;
    let (expert_name, expert_person) = expert(app, "mx.expert", &expert_org).await;
    let (third_name, third) = expert(app, "mx.third", &expert_org).await;

    // Challenges, one per state the rows need.
    let cast = Cast {
        admin: admin.token.clone(),
        publisher: publisher.token.clone(),
        publisher_org: publisher_org.clone(),
        rival_publisher: String::new(),
        team_member: String::new(),
        expert: String::new(),
    };
    let main = app
        .published_of(&cast, content("矩阵主榜单"), 2 * DAY)
        .await
        .name;
    let review = app
        .published_of(&cast, content("矩阵评审榜单"), 2 * DAY)
        .await
        .name;
    let notice = app
        .published_of(&cast, content("矩阵公示榜单"), 2 * DAY)
        .await
        .name;
    let check = app
        .published_of(&cast, content("矩阵形式审查榜单"), 2 * DAY)
        .await
        .name;
    let open = app
        .published_of(&cast, content("矩阵开放榜单"), 365 * DAY)
        .await
        .name;
    let to_cancel = app
        .published_of(&cast, content("矩阵撤销榜单"), 365 * DAY)
        .await
        .name;
    let approved = app.approved_of(&cast, content("矩阵待发布榜单")).await.name;
    let mut pending = Vec::new();
    for title in ["矩阵待批榜单", "矩阵待退回榜单"] {
        let draft = app.draft_of(&cast, content(title)).await;
        app.challenges(Some(&publisher.token))
            .await
            .submit_challenge(pb::SubmitChallengeRequest {
                name: draft.name.clone(),
                ..Default::default()
            })
            .await
            .expect("submit challenge");
        pending.push(draft.name);
    }
    let draft = app.draft_of(&cast, content("矩阵草稿榜单")).await.name;

    // The team (lead and member) and the rival apply.
    let team = lead.as_team();
    let rival = unrelated.as_team();
    let document = upload(&app.channel().await, Some(&lead), TEAM_FILE_NAME, pdf(1))
        .await
        .expect("upload")
        .document
        .expect("document")
        .name;
    let ours = |documents: Vec<String>| team_application(&team, Some(&member), documents);
    let theirs = || team_application(&rival, None, vec![]);
    let main_app = submitted(app, &team, &main, ours(vec![])).await;
    let rival_main_app = submitted(app, &rival, &main, theirs()).await;
    let review_app = submitted(app, &team, &review, ours(vec![document.clone()])).await;
    let rival_review_app = submitted(app, &rival, &review, theirs()).await;
    let notice_app = submitted(app, &team, &notice, ours(vec![])).await;
    let rival_notice_app = submitted(app, &rival, &notice, theirs()).await;
    let check_app = submitted(app, &team, &check, ours(vec![])).await;
    let open_draft = draft_application(app, &team, &open, ours(vec![])).await;
    let open_withdraw = draft_application(app, &team, &open, ours(vec![])).await;

    // The deadline passes; the bureau checks and assigns; the first expert chairs every panel.
    app.clock.advance(3 * DAY);
    let mut admin_review = app.review(Some(&admin.token)).await;
    for (challenge, applications) in [
        (&main, [&main_app, &rival_main_app]),
        (&review, [&review_app, &rival_review_app]),
        (&notice, [&notice_app, &rival_notice_app]),
    ] {
        for name in applications {
            app.applications(Some(&admin.token))
                .await
                .record_formal_check(pb::RecordFormalCheckRequest {
                    name: name.clone(),
                    outcome: pb::FormalCheckOutcome::Eligible as i32,
                    ..Default::default()
                })
                .await
                .expect("formal check");
        }
        let solved = admin_review
            .solve_assignments(pb::SolveAssignmentsRequest {
                challenge: challenge.clone(),
                experts_per_application: 3,
                ..Default::default()
            })
            .await
            .expect("solve")
            .into_inner();
        assert!(solved.feasible, "{:?}", solved.infeasibility_reasons);
        admin_review
            .set_panel_chair(pb::SetPanelChairRequest {
                name: format!("{challenge}/reviewPanel"),
                chair: chair_name.clone(),
                request_id: String::new(),
            })
            .await
            .expect("chair");
    }

    // Main and notice: every sheet sealed, the team ranked first.
    for who in [&chair, &expert_person, &third] {
        for (application, fraction) in [
            (&main_app, "0.85"),
            (&rival_main_app, "0.75"),
            (&notice_app, "0.85"),
            (&rival_notice_app, "0.8"),
        ] {
            score(app, &who.token, application, fraction).await;
        }
    }
    // Review: the chair and the third expert seal theirs (the rival's spread by 35 points);
    // the expert keeps two drafts.
    score(app, &chair.token, &review_app, "0.8").await;
    score(app, &chair.token, &rival_review_app, "0.95").await;
    score(app, &third.token, &review_app, "0.8").await;
    score(app, &third.token, &rival_review_app, "0.6").await;
    let expert_assignment = assignment_of(app, &expert_person.token, &review_app).await;
    let expert_draft = save_draft(app, &expert_person, &expert_assignment, unsealed_draft()).await;
    let rival_assignment = assignment_of(app, &expert_person.token, &rival_review_app).await;
    let expert_rival_sheet = save_draft(app, &expert_person, &rival_assignment, sheet("0.7"))
        .await
        .name;

    // The chair proposes the main challenge's winner; after the notice the bureau appoints.
    app.review(Some(&chair.token))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: main.clone(),
            ..Default::default()
        })
        .await
        .expect("propose main");
    app.clock.advance(10 * DAY);
    let appointed = admin_review
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: main.clone(),
            ..Default::default()
        })
        .await
        .expect("appoint")
        .into_inner();
    let project = appointed.applications[0].project.clone();
    assert_eq!(appointed.applications[0].name, main_app, "the team won");
    admin_review
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: notice.clone(),
            ..Default::default()
        })
        .await
        .expect("propose notice");
    let objection = app
        .review(Some(&unrelated.token))
        .await
        .file_objection(pb::FileObjectionRequest {
            parent: notice.clone(),
            objection: Some(objection_content()),
            request_id: String::new(),
        })
        .await
        .expect("objection")
        .into_inner()
        .objection
        .expect("objection")
        .name;

    // The project: signing tranche paid, mid-term milestone reported, accepted by a panel of
    // the publisher, the expert and the third expert; the final one still PLANNED.
    let milestones = app
        .milestones(Some(&lead.token))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .expect("milestones")
        .into_inner()
        .milestones;
    let (mid, last) = (milestones[0].name.clone(), milestones[1].name.clone());
    let mut admin_milestones = app.milestones(Some(&admin.token)).await;
    admin_milestones
        .release_tranche(pb::ReleaseTrancheRequest {
            project: project.clone(),
            milestone: String::new(),
            request_id: String::new(),
        })
        .await
        .expect("signing tranche");
    app.milestones(Some(&lead.token))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: mid.clone(),
            milestone_report: Some(report("520")),
            ..Default::default()
        })
        .await
        .expect("mid-term report");
    admin_milestones
        .form_acceptance_panel(panel_request(&mid, &expert_name, &third_name))
        .await
        .expect("panel");
    for who in [&publisher, &expert_person, &third] {
        vote(app, who, &mid).await;
    }
    crate::milestones::decide(
        app,
        &admin.token,
        &mid,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .expect("mid-term accepted");

    let [pending_approve, pending_reject] = <[String; 2]>::try_from(pending).expect("two");
    World {
        admin,
        publisher,
        lead,
        member,
        expert: expert_person,
        chair,
        third,
        unrelated,
        probe,
        spare_expert_user,
        team_org,
        expert_org,
        scratch_org,
        expert_name,
        chair_name,
        third_name,
        main,
        review,
        notice,
        open,
        draft,
        pending_approve,
        pending_reject,
        approved,
        to_cancel,
        main_app,
        rival_main_app,
        review_app,
        rival_review_app,
        notice_app,
        rival_notice_app,
        check_app,
        open_draft,
        open_withdraw,
        document,
        expert_assignment,
        expert_sheet: expert_draft.name,
        expert_sheet_total: expert_draft.total,
        expert_rival_sheet,
        objection,
        project,
        mid,
        last,
    }
}

fn objection_content() -> pb::Objection {
    pb::Objection {
        contact: Some(pb::Contact {
            person: "矩阵异议人".into(),
            phone: "13900000000".into(),
            email: String::new(),
        }),
        application: String::new(),
        grounds: "评审过程中存在应当回避而未回避的情形，请予核查。".into(),
        ..Default::default()
    }
}

/// Three seats: the publisher as end user, the expert and the third expert (never the chair).
fn panel_request(milestone: &str, expert: &str, third: &str) -> pb::FormAcceptancePanelRequest {
    pb::FormAcceptancePanelRequest {
        milestone: milestone.to_owned(),
        seat_count: 3,
        required_experts: vec![expert.to_owned(), third.to_owned()],
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// How to call each RPC

/// Sends the bearer token, if any.
#[derive(Clone)]
struct Auth(Option<String>);

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| Status::internal("bad token"))?;
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

type Svc = InterceptedService<Channel, Auth>;

fn auth(who: Option<&Person>) -> Auth {
    Auth(who.map(|p| p.token.clone()))
}

fn identity(ch: &Channel, who: Option<&Person>) -> IdentityServiceClient<Svc> {
    IdentityServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn challenges(ch: &Channel, who: Option<&Person>) -> ChallengeServiceClient<Svc> {
    ChallengeServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn applications(ch: &Channel, who: Option<&Person>) -> ApplicationServiceClient<Svc> {
    ApplicationServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn review(ch: &Channel, who: Option<&Person>) -> ReviewServiceClient<Svc> {
    ReviewServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn milestones(ch: &Channel, who: Option<&Person>) -> MilestoneServiceClient<Svc> {
    MilestoneServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn audit(ch: &Channel, who: Option<&Person>) -> AuditServiceClient<Svc> {
    AuditServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn events(ch: &Channel, who: Option<&Person>) -> EventServiceClient<Svc> {
    EventServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn clock(ch: &Channel, who: Option<&Person>) -> ClockServiceClient<Svc> {
    ClockServiceClient::with_interceptor(ch.clone(), auth(who))
}

fn done<T>(result: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    result.map(|_| ())
}

/// A fresh number for names that must be unique (organisations, users, uploads).
fn next() -> usize {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Calls `rpc` as `who` (no token when `None`) with a request aimed at the world's resources.
/// Requests are built to succeed for whoever may make them; where a fresh etag is needed it is
/// read first as someone who may read it.
async fn call(
    app: &TestApp,
    ch: &Channel,
    w: &World,
    rpc: &str,
    who: Option<&Person>,
) -> Result<(), Status> {
    let me = who.unwrap_or(&w.lead);
    match rpc {
        // Identity.
        "IdentityService.Login" => done(
            identity(ch, who)
                .login(pb::LoginRequest {
                    username: w.probe.username.clone(),
                    password: w.probe.password.clone(),
                })
                .await,
        ),
        "IdentityService.WhoAmI" => done(identity(ch, who).who_am_i(pb::WhoAmIRequest {}).await),
        "IdentityService.ChangePassword" => done(
            identity(ch, who)
                .change_password(pb::ChangePasswordRequest {
                    current_password: me.password.clone(),
                    new_password: format!("{}-changed", me.password),
                    request_id: String::new(),
                })
                .await,
        ),
        "IdentityService.CreateOrganization" => {
            let n = next();
            done(
                identity(ch, who)
                    .create_organization(pb::CreateOrganizationRequest {
                        organization: Some(pb::Organization {
                            display_name: format!("矩阵新建单位{n}"),
                            r#type: pb::OrganizationType::Enterprise as i32,
                            region: "330100".into(),
                            unified_social_credit_code: credit_code(&format!("matrix-org-{n}")),
                            ..Default::default()
                        }),
                        request_id: String::new(),
                    })
                    .await,
            )
        }
        "IdentityService.GetOrganization" => done(
            identity(ch, who)
                .get_organization(pb::GetOrganizationRequest {
                    name: w.team_org.clone(),
                })
                .await,
        ),
        "IdentityService.ListOrganizations" => done(
            identity(ch, who)
                .list_organizations(pb::ListOrganizationsRequest::default())
                .await,
        ),
        "IdentityService.UpdateOrganization" => {
            let current = identity(ch, Some(&w.admin))
                .get_organization(pb::GetOrganizationRequest {
                    name: w.scratch_org.clone(),
                })
                .await?
                .into_inner()
                .organization
                .unwrap_or_default();
            done(
                identity(ch, who)
                    .update_organization(pb::UpdateOrganizationRequest {
                        organization: Some(pb::Organization {
                            name: current.name,
                            etag: current.etag,
                            display_name: format!("矩阵无关单位{}", next()),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["display_name".into()],
                        }),
                        request_id: String::new(),
                    })
                    .await,
            )
        }
        "IdentityService.CreateUser" => done(
            identity(ch, who)
                .create_user(pb::CreateUserRequest {
                    user: Some(pb::User {
                        username: format!("mx.new{}", next()),
                        display_name: "矩阵新用户".into(),
                        role: pb::Role::TeamMember as i32,
                        organization: w.scratch_org.clone(),
                        ..Default::default()
                    }),
                    initial_password: "matrix-new-password".into(),
                    request_id: String::new(),
                })
                .await,
        ),
        "IdentityService.GetUser" => done(
            identity(ch, who)
                .get_user(pb::GetUserRequest {
                    name: w.lead.user.clone(),
                })
                .await,
        ),
        "IdentityService.ListUsers" => done(
            identity(ch, who)
                .list_users(pb::ListUsersRequest::default())
                .await,
        ),

        // Audit and events.
        "AuditService.ListAuditRecords" => done(
            audit(ch, who)
                .list_audit_records(pb::ListAuditRecordsRequest {
                    page_size: 10,
                    chain: w.main.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "AuditService.VerifyAuditChain" => done(
            audit(ch, who)
                .verify_audit_chain(pb::VerifyAuditChainRequest {
                    chain: w.main.clone(),
                })
                .await,
        ),
        "EventService.WatchEvents" => done(
            events(ch, who)
                .watch_events(pb::WatchEventsRequest {
                    after_sequence: 0,
                    types: vec![],
                    resource_prefix: "challenges/".into(),
                })
                .await,
        ),

        // Challenges.
        "ChallengeService.CreateChallenge" => done(
            challenges(ch, who)
                .create_challenge(pb::CreateChallengeRequest {
                    challenge: Some(content("矩阵新建榜单")),
                    request_id: String::new(),
                })
                .await,
        ),
        "ChallengeService.GetChallenge" => done(
            challenges(ch, who)
                .get_challenge(pb::GetChallengeRequest {
                    name: w.draft.clone(),
                })
                .await,
        ),
        "ChallengeService.ListChallenges" => done(
            challenges(ch, who)
                .list_challenges(pb::ListChallengesRequest::default())
                .await,
        ),
        "ChallengeService.UpdateChallenge" => {
            let etag = challenges(ch, Some(&w.publisher))
                .get_challenge(pb::GetChallengeRequest {
                    name: w.draft.clone(),
                })
                .await?
                .into_inner()
                .challenge
                .unwrap_or_default()
                .etag;
            done(
                challenges(ch, who)
                    .update_challenge(pb::UpdateChallengeRequest {
                        challenge: Some(pb::Challenge {
                            name: w.draft.clone(),
                            etag,
                            title: "矩阵草稿榜单（修订）".into(),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["title".into()],
                        }),
                        request_id: String::new(),
                    })
                    .await,
            )
        }
        "ChallengeService.SubmitChallenge" => done(
            challenges(ch, who)
                .submit_challenge(pb::SubmitChallengeRequest {
                    name: w.draft.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ChallengeService.ApproveChallenge" => done(
            challenges(ch, who)
                .approve_challenge(pb::ApproveChallengeRequest {
                    name: w.pending_approve.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ChallengeService.RejectChallenge" => done(
            challenges(ch, who)
                .reject_challenge(pb::RejectChallengeRequest {
                    name: w.pending_reject.clone(),
                    reason: "考核指标表述不清，请修改后重新提交。".into(),
                    ..Default::default()
                })
                .await,
        ),
        "ChallengeService.PublishChallenge" => done(
            challenges(ch, who)
                .publish_challenge(pb::PublishChallengeRequest {
                    name: w.approved.clone(),
                    application_close_time: Some(to_proto_time(app.clock.now().plus(30 * DAY))),
                    ..Default::default()
                })
                .await,
        ),
        "ChallengeService.CancelChallenge" => done(
            challenges(ch, who)
                .cancel_challenge(pb::CancelChallengeRequest {
                    name: w.to_cancel.clone(),
                    reason: pb::CancellationReason::PolicyChange as i32,
                    ..Default::default()
                })
                .await,
        ),

        // Applications and documents.
        "ApplicationService.CreateApplication" => done(
            applications(ch, who)
                .create_application(pb::CreateApplicationRequest {
                    parent: w.open.clone(),
                    application: Some(crate::samples::application_for(&me.as_team())),
                    request_id: String::new(),
                })
                .await,
        ),
        "ApplicationService.GetApplication" => done(
            applications(ch, who)
                .get_application(pb::GetApplicationRequest {
                    name: w.main_app.clone(),
                })
                .await,
        ),
        "ApplicationService.ListApplications" => done(
            applications(ch, who)
                .list_applications(pb::ListApplicationsRequest {
                    parent: "challenges/-".into(),
                    ..Default::default()
                })
                .await,
        ),
        "ApplicationService.UpdateApplication" => {
            let etag = applications(ch, Some(&w.lead))
                .get_application(pb::GetApplicationRequest {
                    name: w.open_draft.clone(),
                })
                .await?
                .into_inner()
                .application
                .unwrap_or_default()
                .etag;
            done(
                applications(ch, who)
                    .update_application(pb::UpdateApplicationRequest {
                        application: Some(pb::Application {
                            name: w.open_draft.clone(),
                            etag,
                            title: "高强度瓷绝缘子配方与梯度烧成工艺（修订）".into(),
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["title".into()],
                        }),
                        request_id: String::new(),
                    })
                    .await,
            )
        }
        "ApplicationService.SubmitApplication" => {
            let mut request =
                crate::samples::submission(&w.lead.as_team(), &w.open_draft, app.clock.now());
            request.validate_only = true;
            done(applications(ch, who).submit_application(request).await)
        }
        "ApplicationService.WithdrawApplication" => done(
            applications(ch, who)
                .withdraw_application(pb::WithdrawApplicationRequest {
                    name: w.open_withdraw.clone(),
                    reason: "团队调整研究方向。".into(),
                    ..Default::default()
                })
                .await,
        ),
        "ApplicationService.RecordFormalCheck" => done(
            applications(ch, who)
                .record_formal_check(pb::RecordFormalCheckRequest {
                    name: w.check_app.clone(),
                    outcome: pb::FormalCheckOutcome::Eligible as i32,
                    ..Default::default()
                })
                .await,
        ),
        "ApplicationService.GetBlindView" => done(
            applications(ch, who)
                .get_blind_view(pb::GetBlindViewRequest {
                    name: w.review_app.clone(),
                })
                .await,
        ),
        "ApplicationService.UploadDocument" => upload(ch, who, "矩阵上传.pdf", pdf(100 + next()))
            .await
            .map(|_| ()),
        "ApplicationService.DownloadDocument" => {
            let mut stream = applications(ch, who)
                .download_document(pb::DownloadDocumentRequest {
                    name: w.document.clone(),
                    read_offset: 0,
                })
                .await?
                .into_inner();
            while let Some(message) = stream.next().await {
                message?;
            }
            Ok(())
        }
        "ApplicationService.GetDocument" => done(
            applications(ch, who)
                .get_document(pb::GetDocumentRequest {
                    name: w.document.clone(),
                })
                .await,
        ),

        // Review.
        "ReviewService.CreateExpert" => done(
            review(ch, who)
                .create_expert(pb::CreateExpertRequest {
                    expert: Some(pb::Expert {
                        user: w.spare_expert_user.clone(),
                        fields_of_expertise: vec!["electric_porcelain".into()],
                        affiliation: w.expert_org.clone(),
                        max_load: 10,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.GetExpert" => done(
            review(ch, who)
                .get_expert(pb::GetExpertRequest {
                    name: w.expert_name.clone(),
                })
                .await,
        ),
        "ReviewService.ListExperts" => done(
            review(ch, who)
                .list_experts(pb::ListExpertsRequest::default())
                .await,
        ),
        "ReviewService.UpdateExpert" => {
            let etag = review(ch, Some(&w.admin))
                .get_expert(pb::GetExpertRequest {
                    name: w.expert_name.clone(),
                })
                .await?
                .into_inner()
                .expert
                .unwrap_or_default()
                .etag;
            done(
                review(ch, who)
                    .update_expert(pb::UpdateExpertRequest {
                        expert: Some(pb::Expert {
                            name: w.expert_name.clone(),
                            etag,
                            keywords: vec!["烧成".into(), "釉料".into()],
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["keywords".into()],
                        }),
                        request_id: String::new(),
                    })
                    .await,
            )
        }
        "ReviewService.DeclareConflict" => done(
            review(ch, who)
                .declare_conflict(pb::DeclareConflictRequest {
                    expert: w.expert_name.clone(),
                    assignment: String::new(),
                    conflict: Some(pb::ExpertConflict {
                        r#type: pb::ConflictType::Collaborator as i32,
                        counterpart: Some(pb::expert_conflict::Counterpart::Organization(
                            w.scratch_org.clone(),
                        )),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.ListConflicts" => done(
            review(ch, who)
                .list_conflicts(pb::ListConflictsRequest {
                    parent: w.review.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.SetAssignmentConstraint" => done(
            review(ch, who)
                .set_assignment_constraint(pb::SetAssignmentConstraintRequest {
                    assignment_constraint: Some(pb::AssignmentConstraint {
                        application: w.rival_review_app.clone(),
                        expert: w.third_name.clone(),
                        kind: pb::AssignmentConstraintKind::None as i32,
                        reason: "清除此前的约束".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.SolveAssignments" => done(
            review(ch, who)
                .solve_assignments(pb::SolveAssignmentsRequest {
                    challenge: w.review.clone(),
                    validate_only: true,
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.GetReviewPanel" => done(
            review(ch, who)
                .get_review_panel(pb::GetReviewPanelRequest {
                    name: format!("{}/reviewPanel", w.review),
                })
                .await,
        ),
        "ReviewService.SetPanelChair" => done(
            review(ch, who)
                .set_panel_chair(pb::SetPanelChairRequest {
                    name: format!("{}/reviewPanel", w.review),
                    chair: w.chair_name.clone(),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.ListAssignments" => done(
            review(ch, who)
                .list_assignments(pb::ListAssignmentsRequest {
                    parent: w.review_app.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.OpenAssignment" => done(
            review(ch, who)
                .open_assignment(pb::OpenAssignmentRequest {
                    name: w.expert_assignment.clone(),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.SaveScoreSheet" => done(
            review(ch, who)
                .save_score_sheet(pb::SaveScoreSheetRequest {
                    assignment: w.expert_assignment.clone(),
                    score_sheet: Some(unsealed_draft()),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.SubmitScoreSheet" => done(
            review(ch, who)
                .submit_score_sheet(pb::SubmitScoreSheetRequest {
                    name: w.expert_rival_sheet.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.RequestRescoring" => done(
            review(ch, who)
                .request_rescoring(pb::RequestRescoringRequest {
                    application: w.main_app.clone(),
                    score_sheets: vec![],
                    reason: "请复核技术路线与可行性的评分依据。".into(),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.GetApplicationResult" => done(
            review(ch, who)
                .get_application_result(pb::GetApplicationResultRequest {
                    application: w.main_app.clone(),
                })
                .await,
        ),
        "ReviewService.ListRanking" => done(
            review(ch, who)
                .list_ranking(pb::ListRankingRequest {
                    challenge: w.review.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.RecordDispersionResolution" => done(
            review(ch, who)
                .record_dispersion_resolution(pb::RecordDispersionResolutionRequest {
                    application: w.rival_review_app.clone(),
                    reason: "专家组会议讨论后维持原评分。".into(),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.ProposeWinners" => done(
            review(ch, who)
                .propose_winners(pb::ProposeWinnersRequest {
                    challenge: w.review.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.GetPublicNotice" => done(
            review(ch, who)
                .get_public_notice(pb::GetPublicNoticeRequest {
                    name: format!("{}/publicNotice", w.notice),
                })
                .await,
        ),
        "ReviewService.FileObjection" => done(
            review(ch, who)
                .file_objection(pb::FileObjectionRequest {
                    parent: w.notice.clone(),
                    objection: Some(objection_content()),
                    request_id: String::new(),
                })
                .await,
        ),
        "ReviewService.ListObjections" => done(
            review(ch, who)
                .list_objections(pb::ListObjectionsRequest {
                    parent: w.notice.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.RuleOnObjection" => done(
            review(ch, who)
                .rule_on_objection(pb::RuleOnObjectionRequest {
                    name: w.objection.clone(),
                    outcome: pb::ObjectionState::Dismissed as i32,
                    reason: "所述情况与事实不符，不予支持。".into(),
                    ..Default::default()
                })
                .await,
        ),
        "ReviewService.AppointWinners" => done(
            review(ch, who)
                .appoint_winners(pb::AppointWinnersRequest {
                    challenge: w.notice.clone(),
                    ..Default::default()
                })
                .await,
        ),

        // Projects and milestones.
        "MilestoneService.GetProject" => done(
            milestones(ch, who)
                .get_project(pb::GetProjectRequest {
                    name: w.project.clone(),
                })
                .await,
        ),
        "MilestoneService.ListProjects" => done(
            milestones(ch, who)
                .list_projects(pb::ListProjectsRequest::default())
                .await,
        ),
        "MilestoneService.GetMilestone" => done(
            milestones(ch, who)
                .get_milestone(pb::GetMilestoneRequest {
                    name: w.mid.clone(),
                })
                .await,
        ),
        "MilestoneService.ListMilestones" => done(
            milestones(ch, who)
                .list_milestones(pb::ListMilestonesRequest {
                    parent: w.project.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.SubmitMilestoneReport" => done(
            milestones(ch, who)
                .submit_milestone_report(pb::SubmitMilestoneReportRequest {
                    milestone: w.last.clone(),
                    milestone_report: Some(report("560")),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.FormAcceptancePanel" => done(
            milestones(ch, who)
                .form_acceptance_panel(panel_request(&w.last, &w.expert_name, &w.third_name))
                .await,
        ),
        "MilestoneService.CastAcceptanceVote" => done(
            milestones(ch, who)
                .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
                    milestone: w.last.clone(),
                    outcome: pb::AcceptanceOutcome::Accepted as i32,
                    comment: "样品与检测报告相符，同意通过。".into(),
                    request_id: String::new(),
                })
                .await,
        ),
        "MilestoneService.ListAcceptanceVotes" => done(
            milestones(ch, who)
                .list_acceptance_votes(pb::ListAcceptanceVotesRequest {
                    parent: w.mid.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.DecideMilestone" => done(
            milestones(ch, who)
                .decide_milestone(pb::DecideMilestoneRequest {
                    name: w.last.clone(),
                    outcome: pb::AcceptanceOutcome::Accepted as i32,
                    reason: "依据验收专家组意见及考核指标核查结果。".into(),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.GrantExtension" => done(
            milestones(ch, who)
                .grant_extension(pb::GrantExtensionRequest {
                    project: w.project.clone(),
                    milestone: w.last.clone(),
                    months: 6,
                    reason: "第三方检测机构排期延误，申请延期。".into(),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.ListDisbursements" => done(
            milestones(ch, who)
                .list_disbursements(pb::ListDisbursementsRequest {
                    parent: w.project.clone(),
                    ..Default::default()
                })
                .await,
        ),
        "MilestoneService.ReleaseTranche" => done(
            milestones(ch, who)
                .release_tranche(pb::ReleaseTrancheRequest {
                    project: w.project.clone(),
                    milestone: w.mid.clone(),
                    request_id: String::new(),
                })
                .await,
        ),
        "MilestoneService.RankHorseRace" => done(
            milestones(ch, who)
                .rank_horse_race(pb::RankHorseRaceRequest {
                    challenge: w.main.clone(),
                })
                .await,
        ),
        "MilestoneService.SelectHorseRaceContinuers" => done(
            milestones(ch, who)
                .select_horse_race_continuers(pb::SelectHorseRaceContinuersRequest {
                    challenge: w.main.clone(),
                    continuing_projects: vec![w.project.clone()],
                    reason: "中期评估排名第一，继续支持。".into(),
                    request_id: String::new(),
                })
                .await,
        ),
        "MilestoneService.RecordProjectFailure" => done(
            milestones(ch, who)
                .record_project_failure(pb::RecordProjectFailureRequest {
                    name: w.project.clone(),
                    failure: Some(pb::ProjectFailure {
                        kind: pb::FailureKind::Exempt as i32,
                        reason: "技术路线经论证不可行，团队已勤勉尽责。".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await,
        ),

        // The clock.
        "ClockService.GetClock" => done(clock(ch, who).get_clock(pb::GetClockRequest {}).await),
        "ClockService.AdvanceClock" => done(
            clock(ch, who)
                .advance_clock(pb::AdvanceClockRequest {
                    by: Some(prost_types::Duration {
                        seconds: 1,
                        nanos: 0,
                    }),
                })
                .await,
        ),
        other => panic!("no call for {other}; add it to `call` and CALLS"),
    }
}

fn outcome(result: &Result<(), Status>) -> String {
    match result {
        Ok(()) => "OK".to_owned(),
        Err(status) => {
            let message: String = status.message().chars().take(120).collect();
            format!("{:?} ({message})", status.code())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reads checked beyond the status code

/// The code of a call that must not succeed, or `OK`.
fn code<T>(result: &Result<T, Status>) -> Code {
    match result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// A team lead cannot read another team's application, in any way.
async fn other_teams_applications(ch: &Channel, w: &World, problems: &mut Vec<String>) {
    let lead = Some(&w.lead);
    for (what, got) in [
        (
            "GetApplication",
            code(
                &applications(ch, lead)
                    .get_application(pb::GetApplicationRequest {
                        name: w.rival_main_app.clone(),
                    })
                    .await,
            ),
        ),
        (
            "GetBlindView",
            code(
                &applications(ch, lead)
                    .get_blind_view(pb::GetBlindViewRequest {
                        name: w.rival_review_app.clone(),
                    })
                    .await,
            ),
        ),
        (
            "GetApplicationResult",
            code(
                &review(ch, lead)
                    .get_application_result(pb::GetApplicationResultRequest {
                        application: w.rival_main_app.clone(),
                    })
                    .await,
            ),
        ),
    ] {
        if !matches!(got, Code::NotFound | Code::PermissionDenied) {
            problems.push(format!(
                "content: the team lead reads the rival's application through {what}: {got:?}"
            ));
        }
    }
    let ours: BTreeSet<&String> = [
        &w.main_app,
        &w.review_app,
        &w.notice_app,
        &w.check_app,
        &w.open_draft,
        &w.open_withdraw,
    ]
    .into_iter()
    .collect();
    let theirs: BTreeSet<&String> = [&w.rival_main_app, &w.rival_review_app, &w.rival_notice_app]
        .into_iter()
        .collect();
    for (reader, own, other) in [
        (&w.lead, &ours, &theirs),
        (&w.member, &ours, &theirs),
        (&w.unrelated, &theirs, &ours),
    ] {
        for parent in ["challenges/-".to_owned(), w.main.clone(), w.review.clone()] {
            match applications(ch, Some(reader))
                .list_applications(pb::ListApplicationsRequest {
                    parent: parent.clone(),
                    page_size: 100,
                    ..Default::default()
                })
                .await
            {
                Ok(list) => {
                    for a in list.into_inner().applications {
                        if other.contains(&a.name) || !own.contains(&a.name) {
                            problems.push(format!(
                                "content: ListApplications({parent}) as {} shows {}, not their team's",
                                reader.username, a.name
                            ));
                        }
                    }
                }
                Err(status) => problems.push(format!(
                    "content: ListApplications({parent}) as {}: {}",
                    reader.username,
                    outcome(&Err(status))
                )),
            }
        }
    }
    for reader in [&w.expert, &w.chair] {
        if let Ok(list) = applications(ch, Some(reader))
            .list_applications(pb::ListApplicationsRequest {
                parent: "challenges/-".into(),
                ..Default::default()
            })
            .await
            && !list.get_ref().applications.is_empty()
        {
            problems.push(format!(
                "content: ListApplications as the expert {} shows applications",
                reader.username
            ));
        }
    }
}

/// No one but the expert sees the expert's unsealed sheet: not the other experts, not the chair.
async fn unsealed_sheets(ch: &Channel, w: &World, problems: &mut Vec<String>) {
    for other in [&w.chair, &w.third] {
        let who = Some(other);
        let who_name = &other.username;
        let opened = review(ch, who)
            .open_assignment(pb::OpenAssignmentRequest {
                name: w.expert_assignment.clone(),
                request_id: String::new(),
            })
            .await;
        let saved = review(ch, who)
            .save_score_sheet(pb::SaveScoreSheetRequest {
                assignment: w.expert_assignment.clone(),
                score_sheet: Some(sheet("0.9")),
                request_id: String::new(),
            })
            .await;
        let sealed = review(ch, who)
            .submit_score_sheet(pb::SubmitScoreSheetRequest {
                name: w.expert_sheet.clone(),
                ..Default::default()
            })
            .await;
        for (what, got) in [
            ("OpenAssignment", code(&opened)),
            ("SaveScoreSheet", code(&saved)),
            ("SubmitScoreSheet", code(&sealed)),
        ] {
            if got != Code::NotFound {
                problems.push(format!(
                    "content: {who_name} reaches the expert's unsealed sheet through {what}: {got:?}"
                ));
            }
        }
        match review(ch, who)
            .list_assignments(pb::ListAssignmentsRequest {
                parent: w.review_app.clone(),
                ..Default::default()
            })
            .await
        {
            Ok(list) => {
                let list = list.into_inner();
                let seen = format!("{list:?}");
                if list.assignments.is_empty() {
                    problems.push(format!(
                        "content: {who_name} lists none of their own assignments"
                    ));
                }
                if list
                    .assignments
                    .iter()
                    .any(|a| a.expert != expert_of(w, other))
                    || seen.contains(&w.expert_assignment)
                    || seen.contains(&w.expert_sheet)
                {
                    problems.push(format!(
                        "content: ListAssignments as {who_name} shows the expert's assignment or sheet"
                    ));
                }
                for own in list.assignments {
                    if let Ok(view) = review(ch, who)
                        .open_assignment(pb::OpenAssignmentRequest {
                            name: own.name.clone(),
                            request_id: String::new(),
                        })
                        .await
                        && format!("{:?}", view.get_ref()).contains(UNSEALED_MARKER)
                    {
                        problems.push(format!(
                            "content: {who_name}'s own assignment shows the expert's unsealed draft"
                        ));
                    }
                }
            }
            Err(status) => problems.push(format!(
                "content: ListAssignments as {who_name}: {}",
                outcome(&Err(status))
            )),
        }
    }
    // The chair's ranking counts sealed sheets only.
    match review(ch, Some(&w.chair))
        .list_ranking(pb::ListRankingRequest {
            challenge: w.review.clone(),
            ..Default::default()
        })
        .await
    {
        Ok(ranking) => {
            let ranking = ranking.into_inner();
            let unsealed: f64 = w.expert_sheet_total.parse().unwrap_or(f64::NAN);
            match ranking
                .ranking_entries
                .iter()
                .find(|e| e.application == w.review_app)
            {
                Some(entry) => {
                    if entry.submitted_sheet_count != 2
                        || entry.sheet_totals.len() != 2
                        || entry
                            .sheet_totals
                            .iter()
                            .any(|t| t.total.parse::<f64>().ok() == Some(unsealed))
                    {
                        problems.push(format!(
                            "content: the chair's ranking counts the unsealed sheet: {entry:?}"
                        ));
                    }
                }
                None => problems.push("content: the chair's ranking lacks the team".to_owned()),
            }
            if format!("{ranking:?}").contains(UNSEALED_MARKER) {
                problems.push("content: the chair's ranking shows the unsealed draft".to_owned());
            }
        }
        Err(status) => problems.push(format!(
            "content: the chair cannot rank after sealing their sheets: {}",
            outcome(&Err(status))
        )),
    }
}

fn expert_of(w: &World, person: &Person) -> String {
    if person.user == w.chair.user {
        w.chair_name.clone()
    } else if person.user == w.third.user {
        w.third_name.clone()
    } else {
        w.expert_name.clone()
    }
}

/// Every view a team has of its result names no expert.
async fn team_views_name_no_expert(ch: &Channel, w: &World, problems: &mut Vec<String>) {
    let identities = w.expert_identities();
    for reader in [&w.lead, &w.member] {
        let who = Some(reader);
        let mut views: Vec<(&str, Result<String, Status>)> = Vec::new();
        let result = review(ch, who)
            .get_application_result(pb::GetApplicationResultRequest {
                application: w.main_app.clone(),
            })
            .await
            .map(tonic::Response::into_inner);
        if let Ok(r) = &result
            && r.application_result
                .as_ref()
                .is_none_or(|r| r.comments.is_empty())
        {
            problems.push("content: the team's result has no comments".to_owned());
        }
        views.push(("GetApplicationResult", result.map(|r| format!("{r:?}"))));
        views.push((
            "GetPublicNotice",
            review(ch, who)
                .get_public_notice(pb::GetPublicNoticeRequest {
                    name: format!("{}/publicNotice", w.main),
                })
                .await
                .map(|r| format!("{:?}", r.into_inner())),
        ));
        views.push((
            "GetProject",
            milestones(ch, who)
                .get_project(pb::GetProjectRequest {
                    name: w.project.clone(),
                })
                .await
                .map(|r| format!("{:?}", r.into_inner())),
        ));
        views.push((
            "GetMilestone",
            milestones(ch, who)
                .get_milestone(pb::GetMilestoneRequest {
                    name: w.mid.clone(),
                })
                .await
                .map(|r| format!("{:?}", r.into_inner())),
        ));
        views.push((
            "ListMilestones",
            milestones(ch, who)
                .list_milestones(pb::ListMilestonesRequest {
                    parent: w.project.clone(),
                    ..Default::default()
                })
                .await
                .map(|r| format!("{:?}", r.into_inner())),
        ));
        views.push((
            "ListAcceptanceVotes",
            milestones(ch, who)
                .list_acceptance_votes(pb::ListAcceptanceVotesRequest {
                    parent: w.mid.clone(),
                    ..Default::default()
                })
                .await
                .map(|r| format!("{:?}", r.into_inner())),
        ));
        views.push(("WatchEvents", team_events(ch, w, reader).await));
        for (what, view) in views {
            match view {
                Ok(text) => {
                    for line in text.lines() {
                        if let Some(id) = identities.iter().find(|id| line.contains(id.as_str())) {
                            let head: String = line.chars().take(60).collect();
                            problems.push(format!(
                                "content: {what} as {} names an expert ({id}) in: {head}…",
                                reader.username
                            ));
                        }
                    }
                }
                Err(status) => problems.push(format!(
                    "content: {what} as {}: {}",
                    reader.username,
                    outcome(&Err(status))
                )),
            }
        }
    }
}

/// The events a team member received about the main challenge, up to its appointment.
async fn team_events(ch: &Channel, w: &World, reader: &Person) -> Result<String, Status> {
    let mut stream = events(ch, Some(reader))
        .watch_events(pb::WatchEventsRequest {
            after_sequence: 0,
            types: vec![],
            resource_prefix: w.main.clone(),
        })
        .await?
        .into_inner();
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next()).await;
        let Ok(Some(message)) = next else {
            return Err(Status::deadline_exceeded(
                "the appointment event did not arrive within 10 s",
            ));
        };
        let event = message?.event.unwrap_or_default();
        let appointed = event.r#type == pb::EventType::ApplicationAppointed as i32
            && event.resource == w.main_app;
        seen.push(event);
        if appointed {
            // One line per event, its type first, so a finding names the event.
            return Ok(seen
                .iter()
                .map(|e| {
                    let kind = pb::EventType::try_from(e.r#type).map_or("?", |t| t.as_str_name());
                    format!("{kind} {e:?}")
                })
                .collect::<Vec<_>>()
                .join("\n"));
        }
    }
}

/// An expert of a blind review learns no team identity from a document they review.
async fn blind_documents(ch: &Channel, w: &World, problems: &mut Vec<String>) {
    let team_identity = [
        TEAM_FILE_NAME.to_owned(),
        w.lead.user.clone(),
        w.lead.user.trim_start_matches("users/").to_owned(),
        w.lead.username.clone(),
        w.team_org.clone(),
    ];
    for reader in [&w.expert, &w.chair] {
        match applications(ch, Some(reader))
            .get_document(pb::GetDocumentRequest {
                name: w.document.clone(),
            })
            .await
        {
            Ok(document) => {
                let document = document.into_inner().document.unwrap_or_default();
                let text = format!("{document:?}");
                let leaks: Vec<&str> = team_identity
                    .iter()
                    .filter(|id| text.contains(id.as_str()))
                    .map(String::as_str)
                    .collect();
                if !leaks.is_empty() {
                    problems.push(format!(
                        "content: GetDocument as the blind reviewer {} names the team: \
                         file_name {:?}, uploader {:?}",
                        reader.username, document.file_name, document.uploader
                    ));
                }
            }
            Err(status) => problems.push(format!(
                "content: GetDocument as {}: {}",
                reader.username,
                outcome(&Err(status))
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test

async fn every_rpc_answers_every_role_as_docs_permissions_md_says(app: &TestApp) {
    let (matrix, mut problems) = read_matrix(DOC);
    problems.extend(coverage(&matrix));
    assert!(
        problems.is_empty(),
        "docs/permissions.md and this test disagree on what there is:\n{}",
        problems.join("\n")
    );

    let world = build(app).await;
    let ch = app.channel().await;

    // Reads first, on the world as built.
    other_teams_applications(&ch, &world, &mut problems).await;
    unsealed_sheets(&ch, &world, &mut problems).await;
    team_views_name_no_expert(&ch, &world, &mut problems).await;
    blind_documents(&ch, &world, &mut problems).await;

    // Then every cell, the refusals of a row before its allowances. JIEBANG_MATRIX_TRACE=1
    // prints what each call answered.
    let trace = std::env::var("JIEBANG_MATRIX_TRACE").is_ok_and(|v| v == "1");
    let mut checked = 0;
    for rpc in CALLS {
        let row = &matrix[*rpc];
        let mut order: Vec<(Role, Cell)> =
            ROLES.iter().map(|(role, _)| (*role, row[role])).collect();
        order.sort_by_key(|(_, cell)| !cell.refuses());
        for (role, cell) in order {
            let got = call(app, &ch, &world, rpc, world.person(role)).await;
            checked += 1;
            if trace {
                eprintln!("{rpc} as {}: {}", role_name(role), outcome(&got));
            }
            if !cell.admits(code(&got)) {
                problems.push(format!(
                    "{rpc} as {}: table says {}, server said {}",
                    role_name(role),
                    cell.name(),
                    outcome(&got)
                ));
            }
        }
    }
    let backend = app.db.url.split(':').next().unwrap_or("?").to_owned();
    eprintln!("permissions matrix: {checked} cells checked on {backend}");
    assert!(
        problems.is_empty(),
        "{} disagreement(s) with docs/permissions.md on {backend}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

on_both_backends!(every_rpc_answers_every_role_as_docs_permissions_md_says);
