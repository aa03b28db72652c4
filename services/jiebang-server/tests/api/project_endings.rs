//! How projects bend and end: one extension of at most 12 months; the horse race (赛马制)
//! keeps the best at mid-term and stops the others with what they were paid; a failure after
//! diligent work is tolerated (失败宽容) while misconduct bars the organisation.

use crate::applications::failed_rules;
use crate::events::{wait_for, watch};
use crate::milestones::{awarded, decide, login_all, panel_votes, report};
use crate::on_both_backends;
use crate::review::scored_round_of;
use crate::support::{Cast, Team, TestApp, code_of, reason_of};
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

const DAY: Duration = Duration::from_secs(86_400);

async fn milestones_of(app: &TestApp, token: &str, project: &str) -> Vec<pb::Milestone> {
    app.milestones(Some(token))
        .await
        .list_milestones(pb::ListMilestonesRequest {
            parent: project.to_owned(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .milestones
}

async fn project(app: &TestApp, token: &str, name: &str) -> pb::Project {
    app.milestones(Some(token))
        .await
        .get_project(pb::GetProjectRequest {
            name: name.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
}

async fn challenge_state(app: &TestApp, cast: &Cast, project_name: &str) -> i32 {
    let challenge = project(app, &cast.admin, project_name).await.challenge;
    app.challenges(Some(&cast.admin))
        .await
        .get_challenge(pb::GetChallengeRequest { name: challenge })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap()
        .state
}

fn failure(kind: pb::FailureKind, barred: &[&str]) -> pb::ProjectFailure {
    pb::ProjectFailure {
        kind: kind as i32,
        reason: "技术路线论证不足，关键工艺无法突破。".into(),
        barred_organizations: barred.iter().map(|b| (*b).to_owned()).collect(),
        ..Default::default()
    }
}

async fn record_failure(
    app: &TestApp,
    token: &str,
    project: &str,
    failure: pb::ProjectFailure,
) -> Result<pb::Project, tonic::Status> {
    app.milestones(Some(token))
        .await
        .record_project_failure(pb::RecordProjectFailureRequest {
            name: project.to_owned(),
            failure: Some(failure),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner().project.unwrap())
}

/// A fresh challenge the team applies to; `Err` with the refusal if it may not.
async fn apply_again(
    app: &TestApp,
    cast: &Cast,
    team: &Team,
) -> Result<pb::Application, tonic::Status> {
    let challenge = app.published(cast, "新一轮瓷绝缘子攻关", 30 * DAY).await;
    let draft = app.draft_application(team, &challenge.name).await;
    app.submit_application(team, &draft.name).await
}

async fn a_project_gets_one_extension_of_at_most_twelve_months(app: &TestApp) {
    let (cast, project_name, team) = awarded(app).await;
    let milestones = milestones_of(app, &team.lead, &project_name).await;
    let grant = |months: i32, milestone: String| {
        let (admin, project_name) = (cast.admin.clone(), project_name.clone());
        async move {
            app.milestones(Some(&admin))
                .await
                .grant_extension(pb::GrantExtensionRequest {
                    project: project_name,
                    milestone,
                    months,
                    reason: "关键设备到货延迟，经专家论证同意延期。".into(),
                    ..Default::default()
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };

    let status = grant(13, milestones[0].name.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let by_team = app
        .milestones(Some(&team.lead))
        .await
        .grant_extension(pb::GrantExtensionRequest {
            project: project_name.clone(),
            milestone: milestones[0].name.clone(),
            months: 6,
            reason: "我们需要更多时间完成攻关。".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_team), Code::PermissionDenied);

    // Six months from the mid-term milestone on: both milestones move, to the calendar day.
    let granted = grant(6, milestones[0].name.clone()).await.unwrap();
    assert_eq!(granted.milestones.len(), 2);
    for (before, after) in milestones.iter().zip(&granted.milestones) {
        let (b, a) = (before.due_time.unwrap(), after.due_time.unwrap());
        let days = (a.seconds - b.seconds) / 86_400;
        assert!((181..=184).contains(&days), "moved {days} days");
    }
    let extension = granted.project.unwrap().extension.unwrap();
    assert_eq!(extension.months, 6);
    assert_eq!(extension.milestone, milestones[0].name);

    let twice = grant(3, milestones[1].name.clone()).await.unwrap_err();
    assert_eq!(reason_of(&twice), "EXTENSION_USED");
    let seen = milestones_of(app, &team.lead, &project_name).await;
    assert_eq!(
        seen[1].due_time, granted.milestones[1].due_time,
        "the refused second extension moved nothing"
    );
}

async fn misconduct_bars_the_organisation_and_fails_the_challenge(app: &TestApp) {
    let (cast, project_name, team) = awarded(app).await;
    let by_publisher = record_failure(
        app,
        &cast.publisher,
        &project_name,
        failure(pb::FailureKind::Misconduct, &[]),
    )
    .await;
    assert_eq!(code_of(by_publisher), Code::PermissionDenied);
    let unspecified = record_failure(
        app,
        &cast.admin,
        &project_name,
        failure(pb::FailureKind::Unspecified, &[]),
    )
    .await
    .unwrap_err();
    assert_eq!(unspecified.code(), Code::InvalidArgument);
    // Failure tolerance: an exempt failure bars no one.
    let exempt_with_bar = record_failure(
        app,
        &cast.admin,
        &project_name,
        failure(pb::FailureKind::Exempt, &[&team.org]),
    )
    .await
    .unwrap_err();
    assert_eq!(exempt_with_bar.code(), Code::InvalidArgument);

    // False data: misconduct, and with no organisation named the lead organisation is barred.
    let failed = record_failure(
        app,
        &cast.admin,
        &project_name,
        failure(pb::FailureKind::Misconduct, &[]),
    )
    .await
    .unwrap();
    assert_eq!(failed.state, pb::ProjectState::Failed as i32);
    let record = failed.failure.unwrap();
    assert_eq!(record.kind, pb::FailureKind::Misconduct as i32);
    assert_eq!(record.barred_organizations, vec![team.org.clone()]);
    assert_eq!(
        challenge_state(app, &cast, &project_name).await,
        pb::ChallengeState::Failed as i32,
        "its only project failed, the challenge failed"
    );
    let again = record_failure(
        app,
        &cast.admin,
        &project_name,
        failure(pb::FailureKind::Exempt, &[]),
    )
    .await
    .unwrap_err();
    assert_eq!(reason_of(&again), "PROJECT_NOT_ACTIVE");
    let release = app
        .milestones(Some(&cast.admin))
        .await
        .release_tranche(pb::ReleaseTrancheRequest {
            project: project_name.clone(),
            milestone: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&release), "PROJECT_ENDED");

    let refused = apply_again(app, &cast, &team).await.unwrap_err();
    assert_eq!(
        failed_rules(&refused),
        vec!["ELIGIBILITY_RULE_BARRED_FOR_MISCONDUCT"]
    );
}

/// A horse race of three: all three scored applications appointed.
async fn race(app: &TestApp) -> (Cast, Vec<(String, Team)>) {
    let cast = app.cast().await;
    let mut content = crate::samples::porcelain_challenge("赛马制瓷绝缘子攻关");
    content.winners_count = 3;
    let (challenge, _, teams, chair) = scored_round_of(app, &cast, content).await;
    app.review(Some(&chair))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.clock.advance(10 * DAY);
    app.review(Some(&cast.admin))
        .await
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut runners = Vec::new();
    for team in teams {
        let projects = app
            .milestones(Some(&team.lead))
            .await
            .list_projects(pb::ListProjectsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .projects;
        assert_eq!(projects.len(), 1, "each winner runs one project");
        assert!(projects[0].horse_race);
        runners.push((projects[0].name.clone(), team));
    }
    (cast, runners)
}

async fn the_horse_race_keeps_the_best_at_mid_term_and_stops_the_others(app: &TestApp) {
    let (cast, runners) = race(app).await;
    let experts = login_all(app, &["notice0", "notice1", "notice2"]).await;
    // The best-scored application reports 520 kN at mid-term, the second 560, the third 530.
    let mut mids = Vec::new();
    for ((project_name, team), value) in runners.iter().zip(["520", "560", "530"]) {
        let mid = milestones_of(app, &team.lead, project_name).await[0]
            .name
            .clone();
        app.milestones(Some(&team.lead))
            .await
            .submit_milestone_report(pb::SubmitMilestoneReportRequest {
                milestone: mid.clone(),
                milestone_report: Some(report(value)),
                ..Default::default()
            })
            .await
            .unwrap();
        mids.push(mid);
    }
    let challenge = project(app, &cast.admin, &runners[0].0).await.challenge;
    let ranking = |token: String| {
        let challenge = challenge.clone();
        async move {
            app.milestones(Some(&token))
                .await
                .rank_horse_race(pb::RankHorseRaceRequest { challenge })
                .await
                .map(|r| r.into_inner().horse_race_entries)
        }
    };
    let early = ranking(cast.admin.clone()).await.unwrap_err();
    assert_eq!(reason_of(&early), "MID_TERM_UNDECIDED");

    for mid in &mids {
        app.milestones(Some(&cast.admin))
            .await
            .form_acceptance_panel(pb::FormAcceptancePanelRequest {
                milestone: mid.clone(),
                seat_count: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        panel_votes(
            app,
            mid,
            &cast.publisher,
            &experts,
            pb::AcceptanceOutcome::Accepted,
        )
        .await;
        decide(app, &cast.admin, mid, pb::AcceptanceOutcome::Accepted, None)
            .await
            .unwrap();
    }

    // Both accepted and every target met: the larger margin over 500 kN ranks first.
    let entries = ranking(cast.publisher.clone()).await.unwrap();
    let order: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.project.as_str(), e.relative_margin.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            (runners[1].0.as_str(), "0.12"),
            (runners[2].0.as_str(), "0.06"),
            (runners[0].0.as_str(), "0.04")
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.check_summary.as_ref().unwrap().met_count == 1)
    );
    assert_eq!(
        code_of(ranking(cast.rival_publisher.clone()).await),
        Code::NotFound
    );

    let select = |continuing: Vec<String>| {
        let (admin, challenge) = (cast.admin.clone(), challenge.clone());
        async move {
            app.milestones(Some(&admin))
                .await
                .select_horse_race_continuers(pb::SelectHorseRaceContinuersRequest {
                    challenge,
                    continuing_projects: continuing,
                    reason: "依据中期评估排名，择优继续支持。".into(),
                    request_id: String::new(),
                })
                .await
                .map(|r| r.into_inner().projects)
        }
    };
    let everyone = select(runners.iter().map(|r| r.0.clone()).collect())
        .await
        .unwrap_err();
    assert_eq!(everyone.code(), Code::InvalidArgument);
    // Naming the winner three times is still one continuer, not "everyone".
    let cut = vec![entries[0].project.clone(); 3];
    let after = select(cut).await.unwrap();
    let state_of = |name: &str| after.iter().find(|p| p.name == name).unwrap().state;
    assert_eq!(state_of(&runners[1].0), pb::ProjectState::Active as i32);
    assert_eq!(state_of(&runners[0].0), pb::ProjectState::Stopped as i32);
    assert_eq!(state_of(&runners[2].0), pb::ProjectState::Stopped as i32);

    // The stopped project keeps what it was paid and releases nothing more.
    let stopped = project(app, &runners[0].1.lead, &runners[0].0).await;
    assert!(!stopped.stop_reason.is_empty());
    let release = app
        .milestones(Some(&cast.admin))
        .await
        .release_tranche(pb::ReleaseTrancheRequest {
            project: runners[0].0.clone(),
            milestone: mids[0].clone(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&release), "PROJECT_ENDED");
    assert_eq!(
        challenge_state(app, &cast, &runners[1].0).await,
        pb::ChallengeState::InProgress as i32,
        "one racer still runs"
    );

    // The continuing team fails after diligent work: exempt, and it may apply again.
    let failed = record_failure(
        app,
        &cast.admin,
        &runners[1].0,
        failure(pb::FailureKind::Exempt, &[]),
    )
    .await
    .unwrap();
    assert_eq!(failed.failure.unwrap().kind, pb::FailureKind::Exempt as i32);
    assert_eq!(
        challenge_state(app, &cast, &runners[1].0).await,
        pb::ChallengeState::Failed as i32,
        "no project completed"
    );
    apply_again(app, &cast, &runners[1].1)
        .await
        .expect("failure tolerance: an exempt team keeps its eligibility");
}

/// The actions recorded on `chain`, in chain order, with each record's actor and digest.
async fn audited(app: &TestApp, cast: &Cast, chain: &str) -> Vec<pb::AuditRecord> {
    app.audit_records(&cast.admin, chain).await
}

fn actions(records: &[pb::AuditRecord]) -> Vec<&str> {
    records.iter().map(|r| r.action.as_str()).collect()
}

/// The team reports `value` kN for the milestone, a panel of three votes to accept, and the
/// bureau accepts it.
async fn accept(
    app: &TestApp,
    cast: &Cast,
    team: &Team,
    experts: &[String],
    milestone: &str,
    value: &str,
) -> pb::DecideMilestoneResponse {
    app.milestones(Some(&team.lead))
        .await
        .submit_milestone_report(pb::SubmitMilestoneReportRequest {
            milestone: milestone.to_owned(),
            milestone_report: Some(report(value)),
            ..Default::default()
        })
        .await
        .expect("report taken");
    app.milestones(Some(&cast.admin))
        .await
        .form_acceptance_panel(pb::FormAcceptancePanelRequest {
            milestone: milestone.to_owned(),
            seat_count: 3,
            ..Default::default()
        })
        .await
        .expect("panel formed");
    panel_votes(
        app,
        milestone,
        &cast.publisher,
        experts,
        pb::AcceptanceOutcome::Accepted,
    )
    .await;
    decide(
        app,
        &cast.admin,
        milestone,
        pb::AcceptanceOutcome::Accepted,
        None,
    )
    .await
    .expect("accepted")
}

async fn the_final_acceptance_ends_the_project_and_the_challenge_on_record(app: &TestApp) {
    let (cast, project_name, team) = awarded(app).await;
    let experts = login_all(app, &["notice0", "notice1", "notice2"]).await;
    let challenge = project(app, &cast.admin, &project_name).await.challenge;
    let mut team_stream = watch(app, &team.lead, 0, "").await;
    let mut publisher_stream = watch(app, &cast.publisher, 0, "projects/").await;
    let milestones = milestones_of(app, &team.lead, &project_name).await;
    accept(app, &cast, &team, &experts, &milestones[0].name, "520").await;
    let done = accept(app, &cast, &team, &experts, &milestones[1].name, "560").await;
    assert_eq!(
        done.project.unwrap().state,
        pb::ProjectState::Completed as i32
    );

    // The team hears, in this order, the decision, its project's end and the challenge's end.
    let decided = wait_for(
        &mut team_stream,
        pb::EventType::MilestoneDecided,
        &milestones[1].name,
    )
    .await;
    let ended = wait_for(&mut team_stream, pb::EventType::ProjectEnded, &project_name).await;
    assert_eq!(ended.state, "PROJECT_STATE_COMPLETED");
    let completed = wait_for(
        &mut team_stream,
        pb::EventType::ChallengeCompleted,
        &challenge,
    )
    .await;
    assert_eq!(completed.state, "CHALLENGE_STATE_COMPLETED");
    assert!(decided.sequence < ended.sequence && ended.sequence < completed.sequence);
    // The publisher, the end user, hears how the project ended too.
    let seen = wait_for(
        &mut publisher_stream,
        pb::EventType::ProjectEnded,
        &project_name,
    )
    .await;
    assert_eq!(seen.sequence, ended.sequence);

    // Each change is on its own chain, by the bureau's decision, with that request's digest.
    let on_challenge = audited(app, &cast, &challenge).await;
    let last = on_challenge.last().unwrap();
    assert_eq!(
        last.action,
        "challenge.completed",
        "{:?}",
        actions(&on_challenge)
    );
    let on_project = audited(app, &cast, &project_name).await;
    let tail: Vec<&pb::AuditRecord> = on_project.iter().rev().take(2).rev().collect();
    assert_eq!(
        tail.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        vec!["milestone.decided", "project.completed"],
        "{:?}",
        actions(&on_project)
    );
    assert_eq!(tail[1].resource, project_name);
    for record in [tail[0], tail[1], last] {
        assert_eq!(record.actor, tail[0].actor);
        assert_eq!(record.request_digest, tail[0].request_digest);
        assert_eq!(record.request_digest.len(), 64);
    }
    assert_eq!(
        challenge_state(app, &cast, &project_name).await,
        pb::ChallengeState::Completed as i32
    );
    let verified = app
        .audit(Some(&cast.admin))
        .await
        .verify_audit_chain(pb::VerifyAuditChainRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(verified.intact, "{:?}", verified.breaks);
}

async fn a_failure_ending_the_last_project_fails_the_challenge_on_record(app: &TestApp) {
    let (cast, project_name, team) = awarded(app).await;
    let challenge = project(app, &cast.admin, &project_name).await.challenge;
    let mut team_stream = watch(app, &team.lead, 0, "").await;
    record_failure(
        app,
        &cast.admin,
        &project_name,
        failure(pb::FailureKind::Exempt, &[]),
    )
    .await
    .unwrap();

    let ended = wait_for(&mut team_stream, pb::EventType::ProjectEnded, &project_name).await;
    assert_eq!(ended.state, "PROJECT_STATE_FAILED");
    let failed = wait_for(&mut team_stream, pb::EventType::ChallengeFailed, &challenge).await;
    assert_eq!(failed.state, "CHALLENGE_STATE_FAILED");
    assert!(ended.sequence < failed.sequence);

    let on_challenge = audited(app, &cast, &challenge).await;
    let last = on_challenge.last().unwrap();
    assert_eq!(
        last.action,
        "challenge.failed",
        "{:?}",
        actions(&on_challenge)
    );
    let on_project = audited(app, &cast, &project_name).await;
    let failed_record = on_project.last().unwrap();
    assert_eq!(failed_record.action, "project.failed");
    assert_eq!(last.actor, failed_record.actor);
    assert_eq!(last.request_digest, failed_record.request_digest);
    assert_eq!(
        challenge_state(app, &cast, &project_name).await,
        pb::ChallengeState::Failed as i32
    );
}

/// Every racer of a horse race fails at the same moment, each in its own transaction: the
/// challenge still ends, FAILED, exactly once.
async fn racers_ending_at_once_still_end_the_challenge(app: &TestApp) {
    let (cast, runners) = race(app).await;
    let endings = runners.iter().map(|(project, _)| {
        record_failure(
            app,
            &cast.admin,
            project,
            failure(pb::FailureKind::Exempt, &[]),
        )
    });
    for ended in futures::future::join_all(endings).await {
        ended.expect("each failure is recorded");
    }
    assert_eq!(
        challenge_state(app, &cast, &runners[0].0).await,
        pb::ChallengeState::Failed as i32,
        "the last of the concurrent endings settles the challenge"
    );
    let challenge = project(app, &cast.admin, &runners[0].0).await.challenge;
    let records = audited(app, &cast, &challenge).await;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.action == "challenge.failed")
            .count(),
        1
    );
}

on_both_backends!(
    racers_ending_at_once_still_end_the_challenge,
    a_project_gets_one_extension_of_at_most_twelve_months,
    misconduct_bars_the_organisation_and_fails_the_challenge,
    the_horse_race_keeps_the_best_at_mid_term_and_stops_the_others,
    the_final_acceptance_ends_the_project_and_the_challenge_on_record,
    a_failure_ending_the_last_project_fails_the_challenge_on_record,
);
