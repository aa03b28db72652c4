//! Projects after appointment: the plan fixed from the proposal, and a ledger that releases
//! each tranche exactly once and never more than the award.

use crate::on_both_backends;
use crate::review::scored_round;
use crate::support::{TestApp, code_of, reason_of};
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

const DAY: Duration = Duration::from_secs(86_400);

/// An awarded challenge with one project (the sample application: 3,500,000 yuan, 50% on
/// signing, 30% at the mid-term milestone after 12 months, 20% at the final one after 24).
pub(crate) async fn awarded(app: &TestApp) -> (crate::support::Cast, String, crate::support::Team) {
    let cast = app.cast().await;
    let (challenge, _, mut teams, chair) = scored_round(app, &cast).await;
    app.review(Some(&chair))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.clock.advance(10 * DAY);
    let awarded = app
        .review(Some(&cast.admin))
        .await
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        cast,
        awarded.applications[0].project.clone(),
        teams.remove(0),
    )
}

async fn an_appointed_team_gets_a_project_with_its_plan_fixed(app: &TestApp) {
    let (cast, project, team) = awarded(app).await;
    let seen = app
        .milestones(Some(&team.lead))
        .await
        .get_project(pb::GetProjectRequest {
            name: project.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(seen.state, pb::ProjectState::Active as i32);
    assert_eq!(seen.award_fen, 350_000_000);
    assert_eq!(seen.signing_share_basis_points, 5_000);
    assert_eq!(seen.milestone_count, 2);
    for outsider in [&cast.rival_publisher, &cast.expert] {
        let hidden = app
            .milestones(Some(outsider))
            .await
            .get_project(pb::GetProjectRequest {
                name: project.clone(),
            })
            .await;
        assert_eq!(code_of(hidden), Code::NotFound);
    }
    app.milestones(Some(&cast.publisher))
        .await
        .get_project(pb::GetProjectRequest {
            name: project.clone(),
        })
        .await
        .expect("the publisher sees the project of its challenge");

    let milestones = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    assert_eq!(milestones.len(), 2);
    assert!(milestones[0].mid_term && milestones[1].final_acceptance);
    assert_eq!(
        (milestones[0].tranche_fen, milestones[1].tranche_fen),
        (105_000_000, 70_000_000)
    );
    let start =
        jiebang_grpc::convert::from_proto_time(seen.start_time.as_ref().unwrap(), "t").unwrap();
    let due = jiebang_grpc::convert::from_proto_time(milestones[0].due_time.as_ref().unwrap(), "t")
        .unwrap();
    assert_eq!(due, jiebang_domain::milestone::plan::add_months(start, 12));
    let listed = app
        .milestones(Some(&team.lead))
        .await
        .list_projects(pb::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .projects;
    assert_eq!(listed.len(), 1);
}

async fn a_tranche_is_released_exactly_once_under_fifty_concurrent_calls(app: &TestApp) {
    let (cast, project, team) = awarded(app).await;
    let mut calls = Vec::new();
    for _ in 0..50 {
        let mut client = app.milestones(Some(&cast.admin)).await;
        let project = project.clone();
        calls.push(tokio::spawn(async move {
            client
                .release_tranche(pb::ReleaseTrancheRequest {
                    project,
                    milestone: String::new(),
                    request_id: String::new(),
                })
                .await
        }));
    }
    let mut fresh = 0;
    for call in calls {
        let response = call
            .await
            .unwrap()
            .expect("every call answers")
            .into_inner();
        if !response.already_released {
            fresh += 1;
        }
        assert_eq!(response.disbursement.unwrap().amount_fen, 175_000_000);
    }
    assert_eq!(fresh, 1, "exactly one call released the signing tranche");
    let ledger = app
        .milestones(Some(&team.lead))
        .await
        .list_disbursements(pb::ListDisbursementsRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .disbursements;
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].cumulative_fen, 175_000_000);

    // A milestone releases nothing before it is accepted; only the bureau releases.
    let milestones = app
        .milestones(Some(&cast.admin))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    let early = app
        .milestones(Some(&cast.admin))
        .await
        .release_tranche(pb::ReleaseTrancheRequest {
            project: project.clone(),
            milestone: milestones[0].name.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&early), "MILESTONE_NOT_ACCEPTED");
    let by_team = app
        .milestones(Some(&team.lead))
        .await
        .release_tranche(pb::ReleaseTrancheRequest {
            project,
            milestone: String::new(),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(by_team), Code::PermissionDenied);
}

pub(crate) fn report(value: &str) -> pb::MilestoneReport {
    pb::MilestoneReport {
        measured_values: vec![pb::MeasuredValue {
            indicator: "机电破坏负荷".into(),
            value: value.into(),
            ..Default::default()
        }],
        narrative: "完成样品试制 20 只，型式试验全部通过，详见检测报告。".into(),
        ..Default::default()
    }
}

async fn a_report_is_checked_against_its_targets_and_the_clock_marks_lateness(app: &TestApp) {
    let (cast, project, team) = awarded(app).await;
    let milestones = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    let (mid, last) = (&milestones[0], &milestones[1]);

    // The bureau cannot report for the team; an unknown indicator is refused.
    let by_admin = app
        .milestones(Some(&cast.admin))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: mid.name.clone(),
            milestone_report: Some(report("520")),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_admin), Code::PermissionDenied);
    let mut unknown = report("520");
    unknown.measured_values[0].indicator = "耐污闪".into();
    let status = app
        .milestones(Some(&team.lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: mid.name.clone(),
            milestone_report: Some(unknown),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // The mid-term milestone targets 500 kN (at least): 520 meets it.
    let submitted = app
        .milestones(Some(&team.lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: mid.name.clone(),
            milestone_report: Some(report("520")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let checked = submitted.milestone_report.unwrap();
    assert!(checked.indicator_checks[0].met);
    assert_eq!(
        checked.check_summary.unwrap().band,
        pb::AcceptanceBand::Pass as i32
    );
    assert_eq!(
        submitted.milestone.unwrap().state,
        pb::MilestoneState::ReportSubmitted as i32
    );
    let twice = app
        .milestones(Some(&team.lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: mid.name.clone(),
            milestone_report: Some(report("530")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&twice), "MILESTONE_WRONG_STATE");

    // Past its due time without a report, the final milestone becomes OVERDUE by the clock.
    app.clock.advance(25 * 31 * DAY);
    // Two years on, everyone signs in again.
    let lead = app.login("na.lead", "na.lead-password").await;
    let publisher = app.login("porcelain.pub", "porcelain.pub-password").await;
    let team = crate::support::Team { lead, ..team };
    let mut overdue = false;
    for _ in 0..100 {
        let m = app
            .milestones(Some(&team.lead))
            .await
            .get_milestone(pb::GetMilestoneRequest {
                name: last.name.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .milestone
            .unwrap();
        if m.state == pb::MilestoneState::Overdue as i32 {
            overdue = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(overdue, "the final milestone was marked OVERDUE");
    // A late report is still taken, and says how late; 540 misses the mandatory 550.
    let late = app
        .milestones(Some(&team.lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: last.name.clone(),
            milestone_report: Some(report("540")),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestone_report
        .unwrap();
    assert!(late.days_late > 0);
    assert!(!late.indicator_checks[0].met);
    let summary = late.check_summary.unwrap();
    assert!(!summary.all_mandatory_met);
    assert_eq!(summary.band, pb::AcceptanceBand::Fail as i32);
    let detail = app
        .milestones(Some(&publisher))
        .await
        .get_milestone(pb::GetMilestoneRequest {
            name: last.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .milestone
        .unwrap();
    assert_eq!(
        detail.reports.len(),
        1,
        "the publisher sees the report with its checks"
    );
}

/// Every panel member (the publisher's end-user seat and the experts drawn) votes; the ones
/// not drawn are told they are not on the panel. Returns how many expert votes were taken.
pub(crate) async fn panel_votes(
    app: &TestApp,
    milestone: &str,
    publisher: &str,
    experts: &[String],
    outcome: pb::AcceptanceOutcome,
) -> usize {
    let vote = |token: String| async move {
        app.milestones(Some(&token))
            .await
            .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
                milestone: milestone.to_owned(),
                outcome: outcome as i32,
                comment: "样品与检测报告相符，结论如下。".into(),
                request_id: String::new(),
            })
            .await
    };
    vote(publisher.to_owned())
        .await
        .expect("the end-user seat votes");
    let mut drawn = 0;
    for token in experts {
        match vote(token.clone()).await {
            Ok(_) => drawn += 1,
            Err(status) => assert_eq!(reason_of(&status), "NOT_ON_PANEL"),
        }
    }
    drawn
}

pub(crate) async fn decide(
    app: &TestApp,
    token: &str,
    milestone: &str,
    outcome: pb::AcceptanceOutcome,
    rework_due: Option<prost_types::Timestamp>,
) -> Result<pb::DecideMilestoneResponse, tonic::Status> {
    app.milestones(Some(token))
        .await
        .decide_milestone(pb::DecideMilestoneRequest {
            name: milestone.to_owned(),
            outcome: outcome as i32,
            reason: "依据验收专家组意见及考核指标核查结果。".into(),
            rework_due_time: rework_due,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn milestones_are_accepted_by_a_panel_and_the_final_one_completes_the_project(app: &TestApp) {
    let (cast, project, team) = awarded(app).await;
    let experts: Vec<String> = login_all(app, &["notice0", "notice1", "notice2"]).await;
    let milestones = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    let (mid, last) = (milestones[0].name.clone(), milestones[1].name.clone());
    let submit = |name: String, value: &'static str| {
        let lead = team.lead.clone();
        async move {
            app.milestones(Some(&lead))
                .await
                .submit_milestone_report(pb::SubmitMilestoneReportRequest {
                    milestone: name,
                    milestone_report: Some(report(value)),
                    ..Default::default()
                })
                .await
                .expect("report taken")
        }
    };
    let admin = cast.admin.clone();
    let form = |name: String, reuse: bool| {
        let admin = admin.clone();
        async move {
            app.milestones(Some(&admin))
                .await
                .form_acceptance_panel(pb::FormAcceptancePanelRequest {
                    milestone: name,
                    seat_count: 3,
                    reuse_previous_panel: reuse,
                    ..Default::default()
                })
                .await
        }
    };

    // No panel before a report; only the bureau forms one.
    let early = form(mid.clone(), false).await.unwrap_err();
    assert_eq!(reason_of(&early), "MILESTONE_WRONG_STATE");
    submit(mid.clone(), "520").await;
    let by_publisher = app
        .milestones(Some(&cast.publisher))
        .await
        .form_acceptance_panel(pb::FormAcceptancePanelRequest {
            milestone: mid.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_publisher), Code::PermissionDenied);
    let formed = form(mid.clone(), false)
        .await
        .unwrap()
        .into_inner()
        .milestone
        .unwrap();
    assert_eq!(formed.state, pb::MilestoneState::UnderAcceptance as i32);

    // Three seats: the publisher's end user and two of the three unconflicted experts.
    let outstanding = decide(
        app,
        &cast.admin,
        &mid,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&outstanding), "VOTES_OUTSTANDING");
    let team_vote = app
        .milestones(Some(&team.lead))
        .await
        .cast_acceptance_vote(pb::CastAcceptanceVoteRequest {
            milestone: mid.clone(),
            outcome: pb::AcceptanceOutcome::Accepted as i32,
            comment: "我们认为已经全部完成。".into(),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(team_vote), Code::PermissionDenied);
    let drawn = panel_votes(
        app,
        &mid,
        &cast.publisher,
        &experts,
        pb::AcceptanceOutcome::Accepted,
    )
    .await;
    assert_eq!(drawn, 2);
    // The team sees no votes until the decision.
    let hidden = app
        .milestones(Some(&team.lead))
        .await
        .list_acceptance_votes(pb::ListAcceptanceVotesRequest {
            parent: mid.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(hidden), Code::NotFound);
    let by_publisher = decide(
        app,
        &cast.publisher,
        &mid,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await;
    assert_eq!(code_of(by_publisher), Code::PermissionDenied);
    let accepted = decide(
        app,
        &cast.admin,
        &mid,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        accepted.milestone.unwrap().state,
        pb::MilestoneState::Accepted as i32
    );
    assert_eq!(
        accepted.project.unwrap().state,
        pb::ProjectState::Active as i32
    );
    let votes = app
        .milestones(Some(&team.lead))
        .await
        .list_acceptance_votes(pb::ListAcceptanceVotesRequest {
            parent: mid.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .acceptance_votes;
    assert_eq!(votes.len(), 3);
    assert!(
        votes.iter().all(|v| v.voter.is_empty()),
        "the team does not learn who voted how"
    );
    // The accepted mid-term milestone now releases its 30% tranche.
    let tranche = app
        .milestones(Some(&cast.admin))
        .await
        .release_tranche(pb::ReleaseTrancheRequest {
            project: project.clone(),
            milestone: mid.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tranche.disbursement.unwrap().amount_fen, 105_000_000);

    // The final report misses the mandatory 550 kN: the panel cannot wave it through, but the
    // one rework is allowed, due within three months.
    submit(last.clone(), "540").await;
    form(last.clone(), false).await.unwrap();
    panel_votes(
        app,
        &last,
        &cast.publisher,
        &experts,
        pb::AcceptanceOutcome::Accepted,
    )
    .await;
    let waved = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&waved), "DECISION_AGAINST_RULES");
    let too_far = jiebang_grpc::convert::to_proto_time(app.clock.now().plus(120 * DAY));
    let status = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::ReworkRequired,
        Some(too_far),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let due = jiebang_grpc::convert::to_proto_time(app.clock.now().plus(60 * DAY));
    let rework = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::ReworkRequired,
        Some(due),
    )
    .await
    .unwrap();
    assert_eq!(
        rework.milestone.unwrap().state,
        pb::MilestoneState::ReworkRequired as i32
    );

    // The corrected report goes to the same panel; their earlier votes do not count for it.
    submit(last.clone(), "560").await;
    form(last.clone(), true).await.unwrap();
    let outstanding = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&outstanding), "VOTES_OUTSTANDING");
    let drawn = panel_votes(
        app,
        &last,
        &cast.publisher,
        &experts,
        pb::AcceptanceOutcome::Accepted,
    )
    .await;
    assert_eq!(drawn, 2, "the same two experts sit again");
    let done = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        done.project.unwrap().state,
        pb::ProjectState::Completed as i32
    );
    let again = decide(
        app,
        &cast.admin,
        &last,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&again), "MILESTONE_WRONG_STATE");
    let challenge = app
        .milestones(Some(&cast.admin))
        .await
        .get_project(pb::GetProjectRequest { name: project })
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .challenge;
    let challenge = app
        .challenges(Some(&cast.admin))
        .await
        .get_challenge(pb::GetChallengeRequest { name: challenge })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(
        challenge.state,
        pb::ChallengeState::Completed as i32,
        "its only project completed, the challenge is completed"
    );
}

pub(crate) async fn login_all(app: &TestApp, usernames: &[&str]) -> Vec<String> {
    let mut tokens = Vec::new();
    for name in usernames {
        tokens.push(app.login(name, &format!("{name}-password")).await);
    }
    tokens
}

async fn form_panel(app: &TestApp, admin: &str, milestone: &str) {
    app.milestones(Some(admin))
        .await
        .form_acceptance_panel(pb::FormAcceptancePanelRequest {
            milestone: milestone.to_owned(),
            seat_count: 3,
            ..Default::default()
        })
        .await
        .expect("panel formed");
}

async fn submit(app: &TestApp, lead: &str, milestone: &str, value: &str) {
    app.milestones(Some(lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: milestone.to_owned(),
            milestone_report: Some(report(value)),
            ..Default::default()
        })
        .await
        .expect("report taken");
}

async fn acceptance_after_fixes_and_failure_carry_what_the_rules_ask(app: &TestApp) {
    let (cast, project, team) = awarded(app).await;
    let experts = login_all(app, &["notice0", "notice1", "notice2"]).await;
    let mut team_events = crate::events::watch(app, &team.lead, 0, &project).await;
    let milestones = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    let (mid, last) = (milestones[0].name.clone(), milestones[1].name.clone());

    submit(app, &team.lead, &mid, "520").await;
    form_panel(app, &cast.admin, &mid).await;
    panel_votes(
        app,
        &mid,
        &cast.publisher,
        &experts,
        pb::AcceptanceOutcome::AcceptedAfterFixes,
    )
    .await;
    // Acceptance after fixes names the fixes.
    let bare = decide(
        app,
        &cast.admin,
        &mid,
        pb::AcceptanceOutcome::AcceptedAfterFixes,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(bare.code(), Code::InvalidArgument);
    let decided = app
        .milestones(Some(&cast.admin))
        .await
        .decide_milestone(pb::DecideMilestoneRequest {
            name: mid.clone(),
            outcome: pb::AcceptanceOutcome::AcceptedAfterFixes as i32,
            reason: "指标达到，检测报告格式需补正。".into(),
            required_fixes: vec!["补充第三方检测报告原件".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        decided.milestone.unwrap().state,
        pb::MilestoneState::AcceptedAfterFixes as i32
    );
    let decided_event =
        crate::events::wait_for(&mut team_events, pb::EventType::MilestoneDecided, &mid).await;
    assert_eq!(decided_event.state, "MILESTONE_STATE_ACCEPTED_AFTER_FIXES");

    // A panel expert reads the milestone they accepted, and its recorded decision; the team
    // sees the seats but not who holds them.
    let mut seen_by_expert = None;
    for token in &experts {
        if let Ok(m) = app
            .milestones(Some(token))
            .await
            .get_milestone(pb::GetMilestoneRequest { name: mid.clone() })
            .await
        {
            seen_by_expert = Some(m.into_inner().milestone.unwrap());
        }
    }
    let seen = seen_by_expert.expect("a seated expert reads the milestone");
    let decision = seen.decision.unwrap();
    assert_eq!(
        decision.required_fixes,
        vec!["补充第三方检测报告原件".to_owned()]
    );
    assert_eq!(decision.vote_counts.len(), 1);
    assert_eq!(decision.vote_counts[0].count, 3);
    assert!(
        seen.acceptance_panel
            .unwrap()
            .seats
            .iter()
            .all(|s| s.voted && !s.user.is_empty())
    );
    let by_team = app
        .milestones(Some(&team.lead))
        .await
        .get_milestone(pb::GetMilestoneRequest { name: mid.clone() })
        .await
        .unwrap()
        .into_inner()
        .milestone
        .unwrap();
    let seats = by_team.acceptance_panel.unwrap().seats;
    assert_eq!(seats.len(), 3);
    assert!(
        seats
            .iter()
            .all(|s| s.user.is_empty() && s.expert.is_empty())
    );
    let outsider = app
        .milestones(Some(&cast.expert))
        .await
        .get_milestone(pb::GetMilestoneRequest { name: mid.clone() })
        .await;
    assert_eq!(code_of(outsider), Code::NotFound);

    // The final report misses the mandatory 550 kN; the panel votes to fail it, on a ground.
    submit(app, &team.lead, &last, "540").await;
    form_panel(app, &cast.admin, &last).await;
    panel_votes(
        app,
        &last,
        &cast.publisher,
        &experts,
        pb::AcceptanceOutcome::Failed,
    )
    .await;
    let groundless = decide(app, &cast.admin, &last, pb::AcceptanceOutcome::Failed, None)
        .await
        .unwrap_err();
    assert_eq!(groundless.code(), Code::InvalidArgument);
    let failed = app
        .milestones(Some(&cast.admin))
        .await
        .decide_milestone(pb::DecideMilestoneRequest {
            name: last.clone(),
            outcome: pb::AcceptanceOutcome::Failed as i32,
            reason: "强制性指标机电破坏负荷未达到 550 kN。".into(),
            failure_grounds: vec![pb::FailureGround::MandatoryIndicatorMissed as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        failed.milestone.unwrap().state,
        pb::MilestoneState::Failed as i32
    );
    assert_eq!(
        failed.project.unwrap().state,
        pb::ProjectState::Active as i32,
        "the failure record is the bureau's next step"
    );
}

async fn a_milestone_more_than_six_months_late_fails_without_a_report(app: &TestApp) {
    let (_, project, team) = awarded(app).await;
    let milestones = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones;
    let mid = milestones[0].name.clone();
    let overdue = |admin: String| {
        let mid = mid.clone();
        async move {
            for _ in 0..100 {
                let m = app
                    .milestones(Some(&admin))
                    .await
                    .get_milestone(pb::GetMilestoneRequest { name: mid.clone() })
                    .await
                    .unwrap()
                    .into_inner()
                    .milestone
                    .unwrap();
                if m.state == pb::MilestoneState::Overdue as i32 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the mid-term milestone was never marked OVERDUE");
        }
    };
    // Twelve months and two more: overdue, but not yet failable.
    app.clock.advance(14 * 31 * DAY);
    let admin = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    overdue(admin.clone()).await;
    let fail = |admin: String| {
        let mid = mid.clone();
        async move {
            app.milestones(Some(&admin))
                .await
                .decide_milestone(pb::DecideMilestoneRequest {
                    name: mid,
                    outcome: pb::AcceptanceOutcome::Failed as i32,
                    reason: "逾期超过六个月未提交验收材料。".into(),
                    failure_grounds: vec![pb::FailureGround::TooLate as i32],
                    ..Default::default()
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let early = fail(admin.clone()).await.unwrap_err();
    assert_eq!(reason_of(&early), "MILESTONE_WRONG_STATE");
    // Past six calendar months beyond its due time, it fails on lateness alone.
    app.clock.advance(5 * 31 * DAY);
    let failed = fail(admin).await.unwrap();
    assert_eq!(
        failed.milestone.unwrap().state,
        pb::MilestoneState::Failed as i32
    );
}

on_both_backends!(
    acceptance_after_fixes_and_failure_carry_what_the_rules_ask,
    a_milestone_more_than_six_months_late_fails_without_a_report,
    milestones_are_accepted_by_a_panel_and_the_final_one_completes_the_project,
    a_report_is_checked_against_its_targets_and_the_clock_marks_lateness,
    an_appointed_team_gets_a_project_with_its_plan_fixed,
    a_tranche_is_released_exactly_once_under_fifty_concurrent_calls,
);

/// The lateness limit is a deployment rule: with `JIEBANG_ACCEPTANCE_MAX_MONTHS_LATE=1`, a
/// milestone two months overdue already fails, where the default would wait for six.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lateness_limit_follows_the_configuration() {
    let db = crate::support::Database::fresh(crate::support::Backend::Sqlite)
        .await
        .unwrap();
    let mut config = crate::support::test_config(&db);
    config.acceptance_max_months_late = 1;
    let app = TestApp::spawn_with(db, jiebang_domain::ManualClock::now_real(), config).await;
    let (_, project, team) = awarded(&app).await;
    let mid = app
        .milestones(Some(&team.lead))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones[0]
        .name
        .clone();
    app.clock.advance(14 * 31 * DAY);
    let admin = app.login("admin", crate::support::ADMIN_PASSWORD).await;
    let mut failed = None;
    for _ in 0..100 {
        let attempt = app
            .milestones(Some(&admin))
            .await
            .decide_milestone(pb::DecideMilestoneRequest {
                name: mid.clone(),
                outcome: pb::AcceptanceOutcome::Failed as i32,
                reason: "逾期超过规定期限未提交验收材料。".into(),
                failure_grounds: vec![pb::FailureGround::TooLate as i32],
                ..Default::default()
            })
            .await;
        match attempt {
            Ok(r) => {
                failed = r.into_inner().milestone;
                break;
            }
            // Until the clock job has marked it OVERDUE.
            Err(status) => assert_eq!(reason_of(&status), "MILESTONE_WRONG_STATE"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        failed.expect("failed on lateness").state,
        pb::MilestoneState::Failed as i32
    );
    app.stop().await;
}
