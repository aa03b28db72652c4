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
async fn awarded(app: &TestApp) -> (crate::support::Cast, String, crate::support::Team) {
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

fn report(value: &str) -> pb::MilestoneReport {
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

on_both_backends!(
    a_report_is_checked_against_its_targets_and_the_clock_marks_lateness,
    an_appointed_team_gets_a_project_with_its_plan_fixed,
    a_tranche_is_released_exactly_once_under_fifty_concurrent_calls,
);
