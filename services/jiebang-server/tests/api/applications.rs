//! Applying (揭榜): a team drafts, submits with the pledge before the deadline, withdraws; the
//! bureau records the formal check after it. Every eligibility rule refuses with its name.

use crate::on_both_backends;
use crate::support::{TestApp, code_of, reason_of, violated_fields};
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;
use tonic_types::StatusExt;

const DAY: Duration = Duration::from_secs(86_400);

/// The rules named by a refused submission's `PreconditionFailure`.
pub(crate) fn failed_rules(status: &tonic::Status) -> Vec<String> {
    status
        .get_details_precondition_failure()
        .map(|p| p.violations.into_iter().map(|v| v.r#type).collect())
        .unwrap_or_default()
}

async fn a_team_drafts_and_submits_with_the_pledge_and_only_the_team_sees_it(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app
        .published(&cast, "特高压瓷绝缘子关键制备技术", 30 * DAY)
        .await;
    let team = app
        .team("zjut", pb::OrganizationType::University, "330100")
        .await;
    let draft = app.draft_application(&team, &challenge.name).await;
    assert_eq!(draft.state, pb::ApplicationState::Draft as i32);
    assert_eq!(draft.team.as_ref().unwrap().lead_organization, team.org);
    assert!(
        draft
            .name
            .starts_with(&format!("{}/applications/", challenge.name))
    );

    // Before the deadline nobody outside the team sees it, not even the publisher.
    for outsider in [
        &cast.publisher,
        &cast.rival_publisher,
        &cast.team_member,
        &cast.expert,
    ] {
        let seen = app
            .applications(Some(outsider))
            .await
            .get_application(pb::GetApplicationRequest {
                name: draft.name.clone(),
            })
            .await;
        assert_eq!(code_of(seen), Code::NotFound);
    }

    let submitted = app.submit_application(&team, &draft.name).await.unwrap();
    assert_eq!(submitted.state, pb::ApplicationState::Submitted as i32);
    let pledge = submitted.pledge.unwrap();
    assert_eq!(pledge.signer, team.lead_name);
    assert_eq!(pledge.text_sha256.len(), 64);
    assert!(submitted.submit_time.is_some());

    // After the deadline the publisher sees the submitted application of its challenge.
    app.clock.advance(31 * DAY);
    let listed = app
        .applications(Some(&cast.publisher))
        .await
        .list_applications(pb::ListApplicationsRequest {
            parent: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .applications;
    assert_eq!(listed.len(), 1);
    let rival = app
        .applications(Some(&cast.rival_publisher))
        .await
        .list_applications(pb::ListApplicationsRequest {
            parent: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .applications;
    assert!(rival.is_empty());
}

async fn only_team_members_apply_and_only_the_lead_person_submits(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "压缩机转子型线优化", 30 * DAY).await;
    let team = app
        .team("hdu", pb::OrganizationType::University, "330100")
        .await;
    let refused = app
        .applications(Some(&cast.publisher))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name.clone(),
            application: Some(crate::samples::application_for(&team)),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(refused), Code::PermissionDenied);

    let draft = app.draft_application(&team, &challenge.name).await;
    let colleague = app
        .user("hdu.colleague", pb::Role::TeamMember, &team.org)
        .await;
    let mut pledge = crate::samples::submission(&team, &draft.name, app.clock.now());
    let not_lead = app
        .applications(Some(&colleague))
        .await
        .submit_application(pledge.clone())
        .await;
    assert_eq!(
        code_of(not_lead),
        Code::NotFound,
        "a colleague outside the team does not see it"
    );

    pledge.pledge = None;
    let no_pledge = app
        .applications(Some(&team.lead))
        .await
        .submit_application(pledge)
        .await
        .unwrap_err();
    assert_eq!(no_pledge.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&no_pledge), vec!["pledge"]);
}

async fn a_draft_is_validated_field_by_field(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "电子电路高可靠焊接", 30 * DAY).await;
    let team = app
        .team("zju", pb::OrganizationType::University, "330100")
        .await;
    let mut bad = crate::samples::application_for(&team);
    bad.title = String::new();
    bad.requested_budget_fen = 0;
    bad.contacts.clear();
    bad.proposed_milestones[1].due_after_months = 6;
    bad.documents = vec!["documents/not-a-digest".into()];
    let status = app
        .applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name,
            application: Some(bad),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "application.contacts",
            "application.documents[0]",
            "application.proposed_milestones[1].due_after_months",
            "application.requested_budget_fen",
            "application.title",
        ]
    );
}

async fn each_eligibility_rule_refuses_by_name(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "瓷绝缘子无损检测", 30 * DAY).await;

    // A government body may not lead; a region outside the challenge's is refused elsewhere.
    let bureau_team = app
        .team("gov", pb::OrganizationType::Government, "330100")
        .await;
    let draft = app.draft_application(&bureau_team, &challenge.name).await;
    let status = app
        .submit_application(&bureau_team, &draft.name)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&status), "INELIGIBLE");
    assert_eq!(
        failed_rules(&status),
        vec!["ELIGIBILITY_RULE_ORGANIZATION_TYPE"]
    );

    // Budget above the funding and a plan that ignores the tranches.
    let team = app
        .team("nbu", pb::OrganizationType::University, "330200")
        .await;
    let draft = app.draft_application(&team, &challenge.name).await;
    let mut greedy = crate::samples::application_for(&team);
    greedy.name = draft.name.clone();
    greedy.etag = draft.etag.clone();
    greedy.requested_budget_fen = 500_000_000;
    greedy.signing_share_basis_points = 6_000;
    greedy.proposed_milestones[0].share_basis_points = 2_000;
    app.applications(Some(&team.lead))
        .await
        .update_application(pb::UpdateApplicationRequest {
            application: Some(greedy),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![
                    "requested_budget_fen".into(),
                    "signing_share_basis_points".into(),
                    "proposed_milestones".into(),
                ],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let status = app
        .submit_application(&team, &draft.name)
        .await
        .unwrap_err();
    let rules = failed_rules(&status);
    assert!(
        rules.contains(&"ELIGIBILITY_RULE_BUDGET".to_owned()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"ELIGIBILITY_RULE_MILESTONE_PLAN".to_owned()),
        "{rules:?}"
    );

    // One submitted application per lead organisation per challenge.
    let twice = app
        .team("twice", pb::OrganizationType::Enterprise, "330100")
        .await;
    let first = app.draft_application(&twice, &challenge.name).await;
    let second = app.draft_application(&twice, &challenge.name).await;
    app.submit_application(&twice, &first.name).await.unwrap();
    let status = app
        .submit_application(&twice, &second.name)
        .await
        .unwrap_err();
    assert_eq!(
        failed_rules(&status),
        vec!["ELIGIBILITY_RULE_DUPLICATE_APPLICATION"]
    );

    // An organisation barred for misconduct (recorded by the milestone step) is refused.
    let barred = app
        .team("barred", pb::OrganizationType::Enterprise, "330100")
        .await;
    let draft = app.draft_application(&barred, &challenge.name).await;
    let mut db = app.db.connect().await;
    sqlx::query("INSERT INTO organization_bars (organization_id, reason, created_at) VALUES ($1, 'false data', 0)")
        .bind(barred.org.strip_prefix("organizations/").unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    let status = app
        .submit_application(&barred, &draft.name)
        .await
        .unwrap_err();
    assert_eq!(
        failed_rules(&status),
        vec!["ELIGIBILITY_RULE_BARRED_FOR_MISCONDUCT"]
    );
}

async fn region_consortium_and_past_winner_rules_follow_the_challenge(app: &TestApp) {
    let cast = app.cast().await;
    let mut local = crate::samples::porcelain_challenge("仅限宁波且不得联合申报");
    let e = local.eligibility.as_mut().unwrap();
    e.region_prefixes = vec!["3302".into()];
    e.max_partners = Some(0);
    e.bar_past_winners = true;
    let challenge = app.published_of(&cast, local, 30 * DAY).await;

    // A Hangzhou (3301) university in a consortium with one partner.
    let team = app
        .team("hz", pb::OrganizationType::University, "330100")
        .await;
    let partner = app
        .team("hzpartner", pb::OrganizationType::Enterprise, "330200")
        .await;
    let mut consortium = crate::samples::application_for(&team);
    consortium.team.as_mut().unwrap().partner_organizations = vec![partner.org.clone()];
    let draft = app
        .applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name.clone(),
            application: Some(consortium),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    let status = app
        .submit_application(&team, &draft.name)
        .await
        .unwrap_err();
    assert_eq!(
        failed_rules(&status),
        vec![
            "ELIGIBILITY_RULE_REGION",
            "ELIGIBILITY_RULE_CONSORTIUM_SIZE"
        ]
    );

    // A Ningbo team that won a challenge of the same round (appointed by step 3's review).
    let winner = app
        .team("nbwinner", pb::OrganizationType::Enterprise, "330200")
        .await;
    let earlier = app.published(&cast, "同批次已揭榜的榜单", 30 * DAY).await;
    let won = app.draft_application(&winner, &earlier.name).await;
    let mut db = app.db.connect().await;
    sqlx::query("UPDATE applications SET state = 'APPOINTED' WHERE id = $1")
        .bind(won.name.rsplit('/').next().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    let draft = app.draft_application(&winner, &challenge.name).await;
    let status = app
        .submit_application(&winner, &draft.name)
        .await
        .unwrap_err();
    assert_eq!(failed_rules(&status), vec!["ELIGIBILITY_RULE_PAST_WINNER"]);
}

async fn an_organisation_takes_part_in_at_most_three_applications_per_round(app: &TestApp) {
    let cast = app.cast().await;
    let busy = app
        .team("busy", pb::OrganizationType::Enterprise, "330100")
        .await;
    let mut names = Vec::new();
    for i in 0..4 {
        let challenge = app
            .published(&cast, &format!("同一批次榜单{i}号"), 30 * DAY)
            .await;
        names.push(app.draft_application(&busy, &challenge.name).await.name);
    }
    for name in &names[..3] {
        app.submit_application(&busy, name).await.unwrap();
    }
    let status = app.submit_application(&busy, &names[3]).await.unwrap_err();
    assert_eq!(
        failed_rules(&status),
        vec!["ELIGIBILITY_RULE_APPLICATIONS_PER_ORGANIZATION"]
    );
    // Withdrawing one frees a place.
    app.applications(Some(&busy.lead))
        .await
        .withdraw_application(pb::WithdrawApplicationRequest {
            name: names[0].clone(),
            reason: "改投他榜".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.submit_application(&busy, &names[3]).await.unwrap();
}

async fn the_deadline_is_exact_for_submission_and_withdrawal(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "截止时刻测试榜单", 2 * DAY).await;
    let team = app
        .team("late", pb::OrganizationType::Enterprise, "330100")
        .await;
    let early = app
        .team("early", pb::OrganizationType::Enterprise, "330100")
        .await;
    let late_draft = app.draft_application(&team, &challenge.name).await;
    let early_draft = app.draft_application(&early, &challenge.name).await;
    app.submit_application(&early, &early_draft.name)
        .await
        .unwrap();

    app.clock.advance(2 * DAY);
    let status = app
        .submit_application(&team, &late_draft.name)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&status), "DEADLINE_PASSED");
    let withdraw = app
        .applications(Some(&early.lead))
        .await
        .withdraw_application(pb::WithdrawApplicationRequest {
            name: early_draft.name,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&withdraw), "DEADLINE_PASSED");
    let create = app
        .applications(Some(&team.lead))
        .await
        .create_application(pb::CreateApplicationRequest {
            parent: challenge.name,
            application: Some(crate::samples::application_for(&team)),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&create), "DEADLINE_PASSED");
}

async fn the_bureau_records_the_formal_check_after_the_deadline_and_the_team_hears_of_it(
    app: &TestApp,
) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "形式审查测试榜单", 2 * DAY).await;
    let good = app
        .team("good", pb::OrganizationType::University, "330100")
        .await;
    let weak = app
        .team("weak", pb::OrganizationType::Enterprise, "330100")
        .await;
    let good_app = app.draft_application(&good, &challenge.name).await;
    let weak_app = app.draft_application(&weak, &challenge.name).await;
    app.submit_application(&good, &good_app.name).await.unwrap();
    app.submit_application(&weak, &weak_app.name).await.unwrap();
    let mut events = app
        .events(Some(&weak.lead))
        .await
        .watch_events(pb::WatchEventsRequest {
            after_sequence: 0,
            types: vec![pb::EventType::ApplicationIneligible as i32],
            resource_prefix: String::new(),
        })
        .await
        .unwrap()
        .into_inner();

    let mut admin = app.applications(Some(&cast.admin)).await;
    let early = admin
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: good_app.name.clone(),
            outcome: pb::FormalCheckOutcome::Eligible as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&early), "DEADLINE_NOT_PASSED");

    app.clock.advance(3 * DAY);
    let eligible = admin
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: good_app.name.clone(),
            outcome: pb::FormalCheckOutcome::Eligible as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(eligible.state, pb::ApplicationState::Eligible as i32);

    let no_reason = admin
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: weak_app.name.clone(),
            outcome: pb::FormalCheckOutcome::Ineligible as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_reason), vec!["reasons"]);
    let ineligible = admin
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: weak_app.name.clone(),
            outcome: pb::FormalCheckOutcome::Ineligible as i32,
            reasons: vec![pb::IneligibilityReason {
                rule: pb::EligibilityRule::Incomplete as i32,
                detail: "缺少资质证明".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(ineligible.state, pb::ApplicationState::Ineligible as i32);
    assert_eq!(
        ineligible.formal_check.unwrap().reasons[0].detail,
        "缺少资质证明"
    );

    let heard = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_stream::StreamExt::next(&mut events),
    )
    .await
    .expect("the team hears of the check")
    .unwrap()
    .unwrap()
    .event
    .unwrap();
    assert_eq!(heard.resource, weak_app.name);

    let by_publisher = app
        .applications(Some(&cast.publisher))
        .await
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: good_app.name,
            outcome: pb::FormalCheckOutcome::Eligible as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_publisher), Code::PermissionDenied);
}

async fn a_burst_racing_the_deadline_loses_nothing_and_accepts_nothing_late(app: &TestApp) {
    const TEAMS: usize = 200;
    let cast = app.cast().await;
    let challenge = app.published(&cast, "截止前的并发提交", 2 * DAY).await;
    let close = app.clock.now().plus(2 * DAY);
    let mut teams = Vec::new();
    for i in 0..TEAMS {
        let team = app
            .team(
                &format!("burst{i}"),
                pb::OrganizationType::Enterprise,
                "330100",
            )
            .await;
        let draft = app.draft_application(&team, &challenge.name).await;
        teams.push((team, draft.name));
    }
    // Everyone submits at once, a minute before the close; halfway through, the clock crosses it.
    app.clock.advance(2 * DAY - Duration::from_secs(60));
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut calls = Vec::new();
    for (team, name) in &teams {
        let mut client = app.applications(Some(&team.lead)).await;
        let request = crate::samples::submission(team, name, app.clock.now());
        let answered = answered.clone();
        calls.push(tokio::spawn(async move {
            let result = client.submit_application(request).await;
            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            result
        }));
    }
    // The clock crosses the close instant once half of the calls have been answered, while
    // the rest are in flight.
    let clock = app.clock.clone();
    let crossing = tokio::spawn(async move {
        while answered.load(std::sync::atomic::Ordering::SeqCst) < TEAMS / 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        clock.advance(Duration::from_secs(120));
    });
    let (mut accepted, mut late) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(response) => {
                accepted += 1;
                let submitted = response.into_inner().application.unwrap();
                let at =
                    jiebang_grpc::convert::from_proto_time(&submitted.submit_time.unwrap(), "t")
                        .unwrap();
                assert!(at < close, "accepted at or after the close instant");
            }
            Err(status) => {
                assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
                assert_eq!(reason_of(&status), "DEADLINE_PASSED");
                late += 1;
            }
        }
    }
    crossing.await.unwrap();
    assert_eq!(accepted + late, TEAMS, "every call answered");
    assert!(
        accepted >= TEAMS / 2 && late > 0,
        "the deadline passed mid-burst: {accepted} accepted, {late} late"
    );
    // What the database holds matches what the callers were told, one by one.
    let mut db = app.db.connect().await;
    use sqlx::Row;
    let stored: i64 = sqlx::query(
        "SELECT COUNT(*) FROM applications WHERE state = 'SUBMITTED' AND submitted_at < $1",
    )
    .bind(close.micros())
    .fetch_one(&mut db)
    .await
    .unwrap()
    .get(0);
    let drafts: i64 = sqlx::query("SELECT COUNT(*) FROM applications WHERE state = 'DRAFT'")
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored,
        i64::try_from(accepted).unwrap(),
        "every accepted submission is stored"
    );
    assert_eq!(
        drafts,
        i64::try_from(late).unwrap(),
        "every refused one is left untouched"
    );
    eprintln!(
        "deadline burst: {TEAMS} submissions, {accepted} accepted before the close, {late} refused as late"
    );
}

on_both_backends!(
    a_team_drafts_and_submits_with_the_pledge_and_only_the_team_sees_it,
    only_team_members_apply_and_only_the_lead_person_submits,
    a_draft_is_validated_field_by_field,
    each_eligibility_rule_refuses_by_name,
    region_consortium_and_past_winner_rules_follow_the_challenge,
    an_organisation_takes_part_in_at_most_three_applications_per_round,
    the_deadline_is_exact_for_submission_and_withdrawal,
    the_bureau_records_the_formal_check_after_the_deadline_and_the_team_hears_of_it,
    a_burst_racing_the_deadline_loses_nothing_and_accepts_nothing_late,
);
