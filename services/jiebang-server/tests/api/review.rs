//! Expert review, first part: the pool, conflicts of interest, and the exact assignment of
//! experts to applications.

use crate::on_both_backends;
use crate::support::{Cast, Team, TestApp, code_of, reason_of, violated_fields};
use jiebang_proto::v1 as pb;
use std::collections::BTreeSet;
use std::time::Duration;
use tonic::Code;

const DAY: Duration = Duration::from_secs(86_400);

/// A challenge past its deadline with `teams` eligible applications, formally checked.
async fn closed_with_applications(
    app: &TestApp,
    cast: &Cast,
    teams: &[&Team],
) -> (pb::Challenge, Vec<String>) {
    closed_with_applications_of(
        app,
        cast,
        crate::samples::porcelain_challenge("评审分配测试榜单"),
        teams,
    )
    .await
}

/// The given challenge published, applied to by `teams`, closed and formally checked.
async fn closed_with_applications_of(
    app: &TestApp,
    cast: &Cast,
    content: pb::Challenge,
    teams: &[&Team],
) -> (pb::Challenge, Vec<String>) {
    let challenge = app.published_of(cast, content, 2 * DAY).await;
    let mut names = Vec::new();
    for team in teams {
        let draft = app.draft_application(team, &challenge.name).await;
        app.submit_application(team, &draft.name).await.unwrap();
        names.push(draft.name);
    }
    app.clock.advance(3 * DAY);
    for name in &names {
        app.applications(Some(&cast.admin))
            .await
            .record_formal_check(pb::RecordFormalCheckRequest {
                name: name.clone(),
                outcome: pb::FormalCheckOutcome::Eligible as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    (challenge, names)
}

async fn the_bureau_keeps_the_pool_and_experts_keep_their_own_profile(app: &TestApp) {
    let cast = app.cast().await;
    let institute = app
        .organization("材料研究所", pb::OrganizationType::Institute)
        .await;
    let (expert, token) = app
        .expert(
            "zhou.expert",
            &institute,
            &["electric_porcelain"],
            &["烧成"],
        )
        .await;

    let mut mine = app.review(Some(&token)).await;
    let profile = mine
        .get_expert(pb::GetExpertRequest {
            name: expert.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .expert
        .unwrap();
    assert_eq!(profile.max_load, 10);
    assert_eq!(
        profile.availability,
        pb::ExpertAvailability::Available as i32
    );
    let updated = mine
        .update_expert(pb::UpdateExpertRequest {
            expert: Some(pb::Expert {
                name: expert.clone(),
                etag: profile.etag.clone(),
                keywords: vec!["烧成".into(), "釉料".into()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["keywords".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .expert
        .unwrap();
    assert_eq!(updated.keywords, vec!["烧成", "釉料"]);
    let own_load = mine
        .update_expert(pb::UpdateExpertRequest {
            expert: Some(pb::Expert {
                name: expert.clone(),
                etag: updated.etag.clone(),
                max_load: 200,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["max_load".into()],
            }),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(own_load), Code::PermissionDenied);

    for outsider in [&cast.publisher, &cast.team_member, &cast.expert] {
        let seen = app
            .review(Some(outsider))
            .await
            .get_expert(pb::GetExpertRequest {
                name: expert.clone(),
            })
            .await;
        assert_eq!(code_of(seen), Code::NotFound);
        let listed = app
            .review(Some(outsider))
            .await
            .list_experts(pb::ListExpertsRequest::default())
            .await;
        assert_eq!(code_of(listed), Code::PermissionDenied);
    }

    // Only users with the expert role enter the pool, once.
    let publisher_user = app
        .identity(Some(&cast.publisher))
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .name;
    let mut admin = app.review(Some(&cast.admin)).await;
    let not_expert = admin
        .create_expert(pb::CreateExpertRequest {
            expert: Some(pb::Expert {
                user: publisher_user,
                fields_of_expertise: vec!["electric_porcelain".into()],
                affiliation: institute.clone(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&not_expert), "NOT_AN_EXPERT");
    let twice = admin
        .create_expert(pb::CreateExpertRequest {
            expert: Some(pb::Expert {
                user: profile.user.clone(),
                fields_of_expertise: vec!["electric_porcelain".into()],
                affiliation: institute.clone(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    let no_fields = admin
        .create_expert(pb::CreateExpertRequest {
            expert: Some(pb::Expert {
                user: profile.user,
                affiliation: institute,
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&no_fields),
        vec!["expert.fields_of_expertise"]
    );
}

async fn experts_are_assigned_optimally_and_never_across_a_conflict(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("ta", pb::OrganizationType::University, "330100")
        .await;
    let b = app
        .team("tb", pb::OrganizationType::University, "330100")
        .await;
    let c = app
        .team("tc", pb::OrganizationType::Enterprise, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&a, &b, &c]).await;

    let institute = app
        .organization("评审专家所在研究所", pb::OrganizationType::Institute)
        .await;
    let mut pool = Vec::new();
    for i in 0..4 {
        pool.push(
            app.expert(
                &format!("free{i}"),
                &institute,
                &["electric_porcelain"],
                &["烧成", "晶相"],
            )
            .await,
        );
    }
    // Conflicted experts: one works for team A, one for the publisher; neither may review A.
    let (same_org, _) = app
        .expert("same.org", &a.org, &["electric_porcelain"], &["烧成"])
        .await;
    let (publisher_side, _) = app
        .expert(
            "publisher.side",
            &cast.publisher_org,
            &["electric_porcelain"],
            &["烧成"],
        )
        .await;
    // An expert of another field is not drawn unless asked.
    let (other_field, _) = app
        .expert("compressors", &institute, &["air_compressors"], &[])
        .await;

    let mut admin = app.review(Some(&cast.admin)).await;
    let even = admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 4,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&even), vec!["experts_per_application"]);

    let solved = admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(solved.feasible, "{:?}", solved.infeasibility_reasons);
    assert_eq!(solved.assignments.len(), 9);
    assert_eq!(
        solved.candidate_expert_count, 6,
        "the other field's expert is not drawn"
    );
    for application in &applications {
        let experts: BTreeSet<&str> = solved
            .assignments
            .iter()
            .filter(|x| &x.application == application)
            .map(|x| x.expert.as_str())
            .collect();
        assert_eq!(experts.len(), 3, "three distinct experts for {application}");
        assert!(!experts.contains(other_field.as_str()));
        assert!(
            !experts.contains(publisher_side.as_str()),
            "the publisher's expert reviews nobody"
        );
        if application == &applications[0] {
            assert!(
                !experts.contains(same_org.as_str()),
                "team A's colleague does not review A"
            );
        }
    }
    assert_eq!(
        solved.total_affinity,
        solved.assignments.iter().map(|x| x.affinity).sum::<i64>()
    );

    // The challenge and its applications are now under review; conflicts are on record.
    let now = app
        .challenges(Some(&cast.admin))
        .await
        .get_challenge(pb::GetChallengeRequest {
            name: challenge.name.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(now.state, pb::ChallengeState::UnderReview as i32);
    let a_now = app
        .applications(Some(&a.lead))
        .await
        .get_application(pb::GetApplicationRequest {
            name: applications[0].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(a_now.state, pb::ApplicationState::UnderReview as i32);
    let conflicts = admin
        .list_conflicts(pb::ListConflictsRequest {
            parent: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conflicts;
    let kinds: BTreeSet<(String, i32)> = conflicts
        .iter()
        .map(|c| (c.expert.clone(), c.r#type))
        .collect();
    assert!(kinds.contains(&(same_org.clone(), pb::ConflictType::SameOrganization as i32)));
    assert!(kinds.contains(&(publisher_side.clone(), pb::ConflictType::Publisher as i32)));

    // Each expert sees only their own assignments.
    let (first, first_token) = &pool[0];
    let own = app
        .review(Some(first_token))
        .await
        .list_assignments(pb::ListAssignmentsRequest {
            parent: "challenges/-/applications/-".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert!(own.iter().all(|x| &x.expert == first));
    assert_eq!(
        own.len(),
        solved
            .assignments
            .iter()
            .filter(|x| &x.expert == first)
            .count()
    );

    // Solving again changes nothing: every seat is filled.
    let again = admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(again.feasible);
    assert!(again.assignments.is_empty());
    assert_eq!(again.total_affinity, solved.total_affinity);

    let panel = admin
        .get_review_panel(pb::GetReviewPanelRequest {
            name: format!("{}/reviewPanel", challenge.name),
        })
        .await
        .unwrap()
        .into_inner()
        .review_panel
        .unwrap();
    assert_eq!(panel.experts_per_application, 3);
    assert_eq!(panel.assignment_count, 9);
    let chaired = admin
        .set_panel_chair(pb::SetPanelChairRequest {
            name: panel.name.clone(),
            chair: first.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .review_panel
        .unwrap();
    assert_eq!(&chaired.chair, first);
    let outsider = admin
        .set_panel_chair(pb::SetPanelChairRequest {
            name: panel.name,
            chair: other_field,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&outsider), "CHAIR_NOT_ON_PANEL");
}

async fn every_kind_of_conflict_keeps_an_expert_off_the_application(app: &TestApp) {
    let cast = app.cast().await;
    let lead = app
        .team("conflicted", pb::OrganizationType::University, "330100")
        .await;
    let partner = app
        .team("cpartner", pb::OrganizationType::Enterprise, "330100")
        .await;
    let challenge = app.published(&cast, "回避类型测试榜单", 2 * DAY).await;
    let mut consortium = crate::samples::application_for(&lead);
    consortium.team.as_mut().unwrap().partner_organizations = vec![partner.org.clone()];
    let application = app
        .applications(Some(&lead.lead))
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
        .unwrap()
        .name;
    app.submit_application(&lead, &application).await.unwrap();
    app.clock.advance(3 * DAY);
    app.applications(Some(&cast.admin))
        .await
        .record_formal_check(pb::RecordFormalCheckRequest {
            name: application.clone(),
            outcome: pb::FormalCheckOutcome::Eligible as i32,
            ..Default::default()
        })
        .await
        .unwrap();

    let institute = app
        .organization("回避研究所", pb::OrganizationType::Institute)
        .await;
    let mut conflicted = Vec::new();
    conflicted.push((
        app.expert("same.lead", &lead.org, &["electric_porcelain"], &[])
            .await
            .0,
        pb::ConflictType::SameOrganization,
    ));
    conflicted.push((
        app.expert("at.partner", &partner.org, &["electric_porcelain"], &[])
            .await
            .0,
        pb::ConflictType::Partner,
    ));
    conflicted.push((
        app.expert(
            "at.publisher",
            &cast.publisher_org,
            &["electric_porcelain"],
            &[],
        )
        .await
        .0,
        pb::ConflictType::Publisher,
    ));
    let declared: [(&str, pb::ConflictType, pb::expert_conflict::Counterpart); 4] = [
        (
            "family",
            pb::ConflictType::Family,
            pb::expert_conflict::Counterpart::User(lead.lead_name.clone()),
        ),
        (
            "former",
            pb::ConflictType::FormerEmployer,
            pb::expert_conflict::Counterpart::Organization(lead.org.clone()),
        ),
        (
            "collab",
            pb::ConflictType::Collaborator,
            pb::expert_conflict::Counterpart::Organization(partner.org.clone()),
        ),
        (
            "history",
            pb::ConflictType::PastCollaboration,
            pb::expert_conflict::Counterpart::Organization(partner.org.clone()),
        ),
    ];
    for (name, kind, counterpart) in declared {
        let (expert, token) = app
            .expert(name, &institute, &["electric_porcelain"], &[])
            .await;
        app.review(Some(&token))
            .await
            .declare_conflict(pb::DeclareConflictRequest {
                expert: expert.clone(),
                assignment: String::new(),
                conflict: Some(pb::ExpertConflict {
                    r#type: kind as i32,
                    counterpart: Some(counterpart),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap();
        conflicted.push((expert, kind));
    }
    for i in 0..3 {
        app.expert(
            &format!("clean{i}"),
            &institute,
            &["electric_porcelain"],
            &[],
        )
        .await;
    }
    let solved = app
        .review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(solved.feasible, "{:?}", solved.infeasibility_reasons);
    for (expert, _) in &conflicted {
        assert!(
            !solved.assignments.iter().any(|x| &x.expert == expert),
            "{expert} must not review it"
        );
    }
    let records = app
        .review(Some(&cast.admin))
        .await
        .list_conflicts(pb::ListConflictsRequest {
            parent: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .conflicts;
    for (expert, kind) in &conflicted {
        assert!(
            records
                .iter()
                .any(|r| &r.expert == expert && r.r#type == *kind as i32),
            "{expert}'s {kind:?} conflict is on record"
        );
    }
}

async fn an_infeasible_instance_says_what_is_missing_and_stores_nothing(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("short", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&a]).await;
    let institute = app
        .organization("小型研究所", pb::OrganizationType::Institute)
        .await;
    for i in 0..4 {
        app.expert(&format!("few{i}"), &institute, &["electric_porcelain"], &[])
            .await;
    }
    let response = app
        .review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!response.feasible);
    assert!(response.assignments.is_empty());
    let reason = &response.infeasibility_reasons[0];
    assert_eq!(
        reason.kind,
        pb::InfeasibilityKind::ApplicationLacksExperts as i32
    );
    assert_eq!(reason.applications, applications);
    assert_eq!((reason.required, reason.available), (7, 4));
    assert!(
        reason.explanation.contains("short by 3"),
        "{}",
        reason.explanation
    );
    let still = app
        .challenges(Some(&cast.admin))
        .await
        .get_challenge(pb::GetChallengeRequest {
            name: challenge.name,
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(
        still.state,
        pb::ChallengeState::ApplicationsClosed as i32,
        "nothing was stored"
    );
}

async fn pins_and_forbids_bind_the_solver_and_a_conflicted_pin_is_refused(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("pinned", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&a]).await;
    let institute = app
        .organization("约束测试研究所", pb::OrganizationType::Institute)
        .await;
    let mut experts = Vec::new();
    for i in 0..5 {
        experts.push(
            app.expert(
                &format!("pin{i}"),
                &institute,
                &["electric_porcelain"],
                if i == 4 { &[] } else { &["烧成"] },
            )
            .await
            .0,
        );
    }
    let (colleague, _) = app
        .expert("colleague", &a.org, &["electric_porcelain"], &["烧成"])
        .await;
    let mut admin = app.review(Some(&cast.admin)).await;
    let constraint =
        |expert: &str, kind: pb::AssignmentConstraintKind| pb::SetAssignmentConstraintRequest {
            assignment_constraint: Some(pb::AssignmentConstraint {
                application: applications[0].clone(),
                expert: expert.into(),
                kind: kind as i32,
                reason: "评审委员会决定".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
    let refused = admin
        .set_assignment_constraint(constraint(&colleague, pb::AssignmentConstraintKind::Pin))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&refused), "PIN_CONFLICTED");
    // Pin the least suited expert (no keywords) and forbid one of the best.
    admin
        .set_assignment_constraint(constraint(&experts[4], pb::AssignmentConstraintKind::Pin))
        .await
        .unwrap();
    admin
        .set_assignment_constraint(constraint(
            &experts[0],
            pb::AssignmentConstraintKind::Forbid,
        ))
        .await
        .unwrap();
    let solved = admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let chosen: BTreeSet<&str> = solved
        .assignments
        .iter()
        .map(|x| x.expert.as_str())
        .collect();
    assert!(chosen.contains(experts[4].as_str()), "the pin is kept");
    assert!(!chosen.contains(experts[0].as_str()), "the forbid is kept");
    let pinned = solved
        .assignments
        .iter()
        .find(|x| x.expert == experts[4])
        .unwrap();
    assert_eq!(pinned.origin, pb::AssignmentOrigin::Pinned as i32);
}

async fn assignment_waits_for_the_formal_check(app: &TestApp) {
    let cast = app.cast().await;
    let challenge = app.published(&cast, "形式审查未完成", 2 * DAY).await;
    let team = app
        .team("pending", pb::OrganizationType::University, "330100")
        .await;
    let draft = app.draft_application(&team, &challenge.name).await;
    app.submit_application(&team, &draft.name).await.unwrap();
    let early = app
        .review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&early), "CHALLENGE_WRONG_STATE");
    app.clock.advance(3 * DAY);
    let pending = app
        .review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&pending), "FORMAL_CHECK_PENDING");
    let by_publisher = app
        .review(Some(&cast.publisher))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest::default())
        .await;
    assert_eq!(code_of(by_publisher), Code::PermissionDenied);
}

/// A complete sheet scoring every criterion of the sample challenge at `fraction` of its weight.
/// `count` experts in electric porcelain (keyword 烧成), users `{prefix}0…`, at a new
/// institute called `institute`: (expert name, token) each.
async fn porcelain_experts(
    app: &TestApp,
    institute: &str,
    prefix: &str,
    count: usize,
) -> Vec<(String, String)> {
    let institute = app
        .organization(institute, pb::OrganizationType::Institute)
        .await;
    let mut experts = Vec::new();
    for i in 0..count {
        experts.push(
            app.expert(
                &format!("{prefix}{i}"),
                &institute,
                &["electric_porcelain"],
                &["烧成"],
            )
            .await,
        );
    }
    experts
}

pub(crate) fn sheet(fraction: &str) -> pb::ScoreSheet {
    let f: f64 = fraction.parse().unwrap();
    let line = |name: &str, weight: f64| pb::CriterionScore {
        criterion: name.into(),
        score: format!("{:.2}", weight * f),
        comment: format!("{name}：论证充分，依据明确，与考核指标对应。"),
    };
    pb::ScoreSheet {
        criterion_scores: vec![
            line("技术路线与可行性", 40.0),
            line("团队能力", 25.0),
            line("预算合理性", 15.0),
            line("产业化与用户价值", 20.0),
        ],
        overall_comment: "总体评价：技术路线可行，团队具备相应能力，预算编制基本合理，产业化前景明确，建议在中期重点核查关键工艺的一致性与第三方检测数据。".into(),
        recommendation: pb::Recommendation::Recommend as i32,
        ..Default::default()
    }
}

/// The caller's own assignment for `application`.
pub(crate) async fn assignment_of(app: &TestApp, token: &str, application: &str) -> String {
    app.review(Some(token))
        .await
        .list_assignments(pb::ListAssignmentsRequest {
            parent: application.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments
        .into_iter()
        .next()
        .expect("an assignment")
        .name
}

pub(crate) async fn score(
    app: &TestApp,
    token: &str,
    application: &str,
    fraction: &str,
) -> pb::ScoreSheet {
    let assignment = assignment_of(app, token, application).await;
    let mut client = app.review(Some(token)).await;
    let draft = client
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment,
            score_sheet: Some(sheet(fraction)),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .score_sheet
        .unwrap();
    client
        .submit_score_sheet(pb::SubmitScoreSheetRequest {
            name: draft.name,
            etag: draft.etag,
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .score_sheet
        .unwrap()
}

async fn sheets_are_sealed_and_nobody_sees_scores_before_sealing_their_own(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("sa", pb::OrganizationType::University, "330100")
        .await;
    let b = app
        .team("sb", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&a, &b]).await;
    let experts = porcelain_experts(app, "评分测试研究所", "scorer", 3).await;
    let mut admin = app.review(Some(&cast.admin)).await;
    admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let (chair, chair_token) = &experts[0];
    admin
        .set_panel_chair(pb::SetPanelChairRequest {
            name: format!("{}/reviewPanel", challenge.name),
            chair: chair.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap();

    // Opening shows the blind view (the sample challenge is blind) and the criteria.
    let assignment = assignment_of(app, &experts[1].1, &applications[0]).await;
    let opened = app
        .review(Some(&experts[1].1))
        .await
        .open_assignment(pb::OpenAssignmentRequest {
            name: assignment.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        opened.application_view,
        Some(pb::open_assignment_response::ApplicationView::BlindApplication(_))
    ));
    assert_eq!(opened.criteria.len(), 4);
    assert!(opened.assignment.unwrap().open_time.is_some());
    // Another expert's assignment does not exist for you.
    let theirs = app
        .review(Some(&experts[2].1))
        .await
        .open_assignment(pb::OpenAssignmentRequest {
            name: assignment.clone(),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(theirs), Code::NotFound);

    // A draft may be partial; sealing needs everything.
    let mut partial = sheet("0.8");
    partial.criterion_scores.pop();
    let mut client = app.review(Some(&experts[1].1)).await;
    let draft = client
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment: assignment.clone(),
            score_sheet: Some(partial),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .score_sheet
        .unwrap();
    let refused = client
        .submit_score_sheet(pb::SubmitScoreSheetRequest {
            name: draft.name.clone(),
            etag: String::new(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&refused),
        vec!["score_sheet.criterion_scores"]
    );
    let mut out_of_range = sheet("0.8");
    out_of_range.criterion_scores[0].score = "41".into();
    let status = client
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment: assignment.clone(),
            score_sheet: Some(out_of_range),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        vec!["score_sheet.criterion_scores[0].score"]
    );

    // Application A: 90, 80, 85 → 85.00. Application B: 95, 60, 70 → 75.00, spread 35 > 20.
    let sealed = score(app, &experts[1].1, &applications[0], "0.8").await;
    assert_eq!(sealed.state, pb::ScoreSheetState::Submitted as i32);
    assert_eq!(sealed.total, "80");
    assert_eq!(sealed.seal_sha256.len(), 64);
    let change = client
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment: assignment.clone(),
            score_sheet: Some(sheet("1")),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&change), "SHEET_SEALED");

    // The chair sees nothing before sealing their own sheets; other experts never.
    let early = app
        .review(Some(chair_token))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&early), "OWN_SHEETS_PENDING");
    let member = app
        .review(Some(&experts[2].1))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(member), Code::PermissionDenied);

    score(app, chair_token, &applications[0], "0.9").await;
    score(app, &experts[2].1, &applications[0], "0.85").await;
    score(app, chair_token, &applications[1], "0.95").await;
    score(app, &experts[1].1, &applications[1], "0.6").await;
    let partial_ranking = app
        .review(Some(chair_token))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!partial_ranking.complete, "one sheet is still missing");
    score(app, &experts[2].1, &applications[1], "0.7").await;

    let ranking = app
        .review(Some(chair_token))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ranking.complete);
    assert_eq!(ranking.open_dispersion_count, 1);
    let first = &ranking.ranking_entries[0];
    assert_eq!(
        (
            first.rank,
            first.application.as_str(),
            first.final_score.as_str()
        ),
        (1, applications[0].as_str(), "85.00")
    );
    assert!(
        first.lead_organization.is_empty(),
        "the chair of a blind challenge sees no team identity"
    );
    let second = &ranking.ranking_entries[1];
    assert_eq!((second.rank, second.final_score.as_str()), (2, "75.00"));
    assert!(second.dispersion_flagged && second.eligible_for_award);
    assert_eq!(
        second
            .sheet_totals
            .iter()
            .map(|t| t.total.as_str())
            .collect::<Vec<_>>(),
        vec!["60", "70", "95"]
    );

    // The chair records why the scores stand; the bureau cannot do it for them.
    let by_admin = admin
        .record_dispersion_resolution(pb::RecordDispersionResolutionRequest {
            application: applications[1].clone(),
            reason: "专家组会议讨论后维持原评分".into(),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(by_admin), Code::PermissionDenied);
    let resolved = app
        .review(Some(chair_token))
        .await
        .record_dispersion_resolution(pb::RecordDispersionResolutionRequest {
            application: applications[1].clone(),
            reason: "专家组会议讨论后维持原评分".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .ranking_entry
        .unwrap();
    assert!(resolved.dispersion_resolution.is_some());
    let bureau_view = admin
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bureau_view.open_dispersion_count, 0);
    assert_eq!(
        bureau_view.ranking_entries[0].lead_organization, a.org,
        "the bureau sees the teams"
    );
}

/// Three applications scored 85, 80 and 75 by a panel of three, chaired by the first expert.
pub(crate) async fn scored_round(
    app: &TestApp,
    cast: &Cast,
) -> (pb::Challenge, Vec<String>, Vec<Team>, String) {
    scored_round_of(
        app,
        cast,
        crate::samples::porcelain_challenge("评审分配测试榜单"),
    )
    .await
}

/// As `scored_round`, for the given challenge content.
pub(crate) async fn scored_round_of(
    app: &TestApp,
    cast: &Cast,
    content: pb::Challenge,
) -> (pb::Challenge, Vec<String>, Vec<Team>, String) {
    let teams = vec![
        app.team("na", pb::OrganizationType::University, "330100")
            .await,
        app.team("nb", pb::OrganizationType::University, "330100")
            .await,
        app.team("nc", pb::OrganizationType::Enterprise, "330100")
            .await,
    ];
    let (challenge, applications) =
        closed_with_applications_of(app, cast, content, &teams.iter().collect::<Vec<_>>()).await;
    let experts = porcelain_experts(app, "公示测试研究所", "notice", 3).await;
    let mut admin = app.review(Some(&cast.admin)).await;
    admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .set_panel_chair(pb::SetPanelChairRequest {
            name: format!("{}/reviewPanel", challenge.name),
            chair: experts[0].0.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    for (_, token) in &experts {
        for (application, fraction) in applications.iter().zip(["0.85", "0.8", "0.75"]) {
            score(app, token, application, fraction).await;
        }
    }
    (challenge, applications, teams, experts[0].1.clone())
}

fn objection(application: &str, person: &str) -> pb::Objection {
    pb::Objection {
        contact: Some(pb::Contact {
            person: person.into(),
            phone: "13900000000".into(),
            email: String::new(),
        }),
        application: application.into(),
        grounds: "该团队申报的关键指标检测数据与其公开发表的数据不一致。".into(),
        ..Default::default()
    }
}

async fn winners_go_through_the_public_notice_and_objections_before_appointment(app: &TestApp) {
    let cast = app.cast().await;
    let (challenge, applications, teams, chair) = scored_round(app, &cast).await;
    let notice = app
        .review(Some(&chair))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .public_notice
        .unwrap();
    assert_eq!(notice.round, 1);
    assert_eq!(notice.state, pb::PublicNoticeState::Open as i32);
    assert_eq!(notice.proposed_winners.len(), 1);
    assert_eq!(notice.proposed_winners[0].application, applications[0]);
    assert_eq!(notice.proposed_winners[0].final_score, "85.00");
    let start =
        jiebang_grpc::convert::from_proto_time(notice.start_time.as_ref().unwrap(), "t").unwrap();
    let end =
        jiebang_grpc::convert::from_proto_time(notice.end_time.as_ref().unwrap(), "t").unwrap();
    assert!(
        end.since(start) >= 7 * DAY - Duration::from_secs(86_400),
        "five working days span at least a week"
    );
    let runner_up = app
        .applications(Some(&teams[1].lead))
        .await
        .get_application(pb::GetApplicationRequest {
            name: applications[1].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(runner_up.state, pb::ApplicationState::Shortlisted as i32);

    // Objections are real-name.
    let mut objector = app.review(Some(&teams[2].lead)).await;
    let mut anonymous = objection(&applications[0], "");
    anonymous.contact = None;
    let status = objector
        .file_objection(pb::FileObjectionRequest {
            parent: challenge.name.clone(),
            objection: Some(anonymous),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert!(violated_fields(&status).contains(&"objection.contact.person".to_owned()));
    let filed = objector
        .file_objection(pb::FileObjectionRequest {
            parent: challenge.name.clone(),
            objection: Some(objection(&applications[0], "赵六")),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    assert_eq!(filed.state, pb::ObjectionState::Pending as i32);

    let mut admin = app.review(Some(&cast.admin)).await;
    let early = admin
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&early), "NOTICE_NOT_ENDED");
    app.clock.advance(10 * DAY);
    let frozen = admin
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        reason_of(&frozen),
        "OBJECTION_PENDING",
        "a pending objection freezes the appointment"
    );

    // Upheld: the objected winner is out, the next eligible one is proposed, the notice restarts.
    let ruled = admin
        .rule_on_objection(pb::RuleOnObjectionRequest {
            name: filed.name.clone(),
            outcome: pb::ObjectionState::Upheld as i32,
            remedy: pb::ObjectionRemedy::ReplaceWinner as i32,
            reason: "经核查，检测数据确有不一致之处。".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let restarted = ruled.public_notice.unwrap();
    assert_eq!(restarted.round, 2);
    assert_eq!(restarted.state, pb::PublicNoticeState::Open as i32);
    assert_eq!(restarted.proposed_winners[0].application, applications[1]);
    let dropped = app
        .applications(Some(&teams[0].lead))
        .await
        .get_application(pb::GetApplicationRequest {
            name: applications[0].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .application
        .unwrap();
    assert_eq!(dropped.state, pb::ApplicationState::NotSelected as i32);

    // A second objection is dismissed; after the restarted notice the winner is appointed.
    let second = objector
        .file_objection(pb::FileObjectionRequest {
            parent: challenge.name.clone(),
            objection: Some(objection(&applications[1], "赵六")),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    admin
        .rule_on_objection(pb::RuleOnObjectionRequest {
            name: second.name,
            outcome: pb::ObjectionState::Dismissed as i32,
            reason: "所述情况与事实不符，不予支持。".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let still_open = admin
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        reason_of(&still_open),
        "NOTICE_NOT_ENDED",
        "the restarted notice runs its full length"
    );
    app.clock.advance(10 * DAY);
    let awarded = admin
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        awarded.challenge.unwrap().state,
        pb::ChallengeState::Awarded as i32
    );
    assert_eq!(awarded.applications.len(), 1);
    assert_eq!(
        awarded.applications[0].state,
        pb::ApplicationState::Appointed as i32
    );
    assert!(awarded.applications[0].project.starts_with("projects/"));

    let mine = app
        .review(Some(&teams[2].lead))
        .await
        .list_objections(pb::ListObjectionsRequest {
            parent: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .objections;
    assert_eq!(
        mine.len(),
        2,
        "the objector sees their own objections and the rulings"
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

async fn nothing_is_proposed_before_the_ranking_is_complete(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("incomplete", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, _) = closed_with_applications(app, &cast, &[&a]).await;
    let institute = app
        .organization("未完成评分研究所", pb::OrganizationType::Institute)
        .await;
    for i in 0..3 {
        app.expert(
            &format!("late{i}"),
            &institute,
            &["electric_porcelain"],
            &[],
        )
        .await;
    }
    let mut admin = app.review(Some(&cast.admin)).await;
    admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let status = admin
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&status), "RANKING_INCOMPLETE");
    let by_team = app
        .review(Some(&a.lead))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name,
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_team), Code::PermissionDenied);
}

async fn an_expert_who_discovers_a_conflict_is_replaced(app: &TestApp) {
    let cast = app.cast().await;
    let a = app
        .team("da", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&a]).await;
    let experts = porcelain_experts(app, "回避测试研究所", "recuse", 4).await;
    app.review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    // Whoever was assigned discovers, on opening, that the lead person is a former student.
    let (assigned, token) = {
        let live = app
            .review(Some(&cast.admin))
            .await
            .list_assignments(pb::ListAssignmentsRequest {
                parent: applications[0].clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments;
        let first = live[0].expert.clone();
        experts.iter().find(|(e, _)| *e == first).cloned().unwrap()
    };
    let assignment = assignment_of(app, &token, &applications[0]).await;
    let declared = app
        .review(Some(&token))
        .await
        .declare_conflict(pb::DeclareConflictRequest {
            expert: assigned.clone(),
            assignment: assignment.clone(),
            conflict: Some(pb::ExpertConflict {
                r#type: pb::ConflictType::Collaborator as i32,
                counterpart: Some(pb::expert_conflict::Counterpart::User(a.lead_name.clone())),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(declared.withdrawn_assignments.len(), 1);
    assert_eq!(
        declared.withdrawn_assignments[0].state,
        pb::AssignmentState::Withdrawn as i32
    );
    assert_eq!(declared.replacement_count, 1);
    let live: Vec<pb::Assignment> = app
        .review(Some(&cast.admin))
        .await
        .list_assignments(pb::ListAssignmentsRequest {
            parent: applications[0].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    let active: Vec<&pb::Assignment> = live
        .iter()
        .filter(|x| x.state == pb::AssignmentState::Assigned as i32)
        .collect();
    assert_eq!(active.len(), 3, "the seat is filled again");
    assert!(
        active.iter().all(|x| x.expert != assigned),
        "the conflicted expert no longer reviews it"
    );
    let replacement = active
        .iter()
        .find(|x| x.origin == pb::AssignmentOrigin::Replacement as i32)
        .unwrap();
    assert_eq!(replacement.replaces, assignment);
    let withdrawn = app
        .review(Some(&token))
        .await
        .open_assignment(pb::OpenAssignmentRequest {
            name: assignment.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&withdrawn), "ASSIGNMENT_WITHDRAWN");
    // Nor is it scored: the same reason, not that of a sealed sheet.
    let unscored = app
        .review(Some(&token))
        .await
        .save_score_sheet(pb::SaveScoreSheetRequest {
            assignment,
            score_sheet: Some(sheet("0.8")),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(unscored.code(), Code::FailedPrecondition);
    assert_eq!(reason_of(&unscored), "ASSIGNMENT_WITHDRAWN");
    assert!(unscored.message().contains("withdrawn"), "{unscored:?}");
}

async fn the_chair_reopens_sealed_sheets_and_the_old_ones_stay_on_record(app: &TestApp) {
    let cast = app.cast().await;
    let (challenge, applications, teams, chair) = scored_round(app, &cast).await;
    let ranking = app
        .review(Some(&chair))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let entry = ranking
        .ranking_entries
        .iter()
        .find(|e| e.application == applications[2])
        .unwrap();
    let lowest = entry.sheet_totals[0].score_sheet.clone();
    let by_admin = app
        .review(Some(&cast.admin))
        .await
        .request_rescoring(pb::RequestRescoringRequest {
            application: applications[2].clone(),
            reason: "请复核预算合理性评分依据".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(by_admin), Code::PermissionDenied);
    let reopened = app
        .review(Some(&chair))
        .await
        .request_rescoring(pb::RequestRescoringRequest {
            application: applications[2].clone(),
            score_sheets: vec![lowest],
            reason: "请复核预算合理性评分依据".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].state, pb::AssignmentState::Assigned as i32);
    // The old sealed sheet is kept, superseded; the new draft carries its values and the reason.
    let mut db = app.db.connect().await;
    use sqlx::Row;
    let superseded: i64 =
        sqlx::query("SELECT COUNT(*) FROM score_sheets WHERE state = 'SUPERSEDED'")
            .fetch_one(&mut db)
            .await
            .unwrap()
            .get(0);
    assert_eq!(superseded, 1);
    let complete = app
        .review(Some(&cast.admin))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !complete.complete,
        "the reopened sheet must be sealed again"
    );
    let result = app
        .review(Some(&teams[0].lead))
        .await
        .get_application_result(pb::GetApplicationResultRequest {
            application: applications[0].clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason_of(&result), "RESULT_NOT_PUBLISHED");
}

async fn a_team_reads_its_result_without_knowing_who_scored_it(app: &TestApp) {
    let cast = app.cast().await;
    let (challenge, applications, teams, chair) = scored_round(app, &cast).await;
    app.review(Some(&chair))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let result = app
        .review(Some(&teams[1].lead))
        .await
        .get_application_result(pb::GetApplicationResultRequest {
            application: applications[1].clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .application_result
        .unwrap();
    assert_eq!(result.final_score, "80.00");
    assert_eq!(result.rank, 2);
    assert_eq!(result.ranked_count, 3);
    assert!(result.eligible_for_award);
    assert_eq!(result.criterion_results.len(), 4);
    assert_eq!(
        result.comments.len(),
        3 * 5,
        "four criterion comments and one overall per sheet"
    );
    let encoded = String::from_utf8_lossy(&prost::Message::encode_to_vec(&result)).into_owned();
    assert!(
        !encoded.contains("experts/") && !encoded.contains("users/"),
        "no reviewer identity in the result"
    );
    let other_team = app
        .review(Some(&teams[0].lead))
        .await
        .get_application_result(pb::GetApplicationResultRequest {
            application: applications[1].clone(),
        })
        .await;
    assert_eq!(code_of(other_team), Code::NotFound);
}

/// The whole review of a realistic round: 20 applications, 30 experts, panels of 5, sealed
/// sheets, trimmed means, a winner noticed and appointed.
async fn a_round_of_twenty_applications_and_thirty_experts_is_reviewed_end_to_end(app: &TestApp) {
    let cast = app.cast().await;
    let mut teams = Vec::new();
    for i in 0..20 {
        teams.push(
            app.team(
                &format!("r{i:02}"),
                pb::OrganizationType::Enterprise,
                "330100",
            )
            .await,
        );
    }
    let (challenge, applications) =
        closed_with_applications(app, &cast, &teams.iter().collect::<Vec<_>>()).await;
    let institutes = [
        app.organization("第一研究院", pb::OrganizationType::Institute)
            .await,
        app.organization("第二研究院", pb::OrganizationType::Institute)
            .await,
    ];
    let mut experts = Vec::new();
    for i in 0..30 {
        // Two experts work for teams, so they must never review those teams.
        let org = match i {
            0 => teams[0].org.clone(),
            1 => teams[1].org.clone(),
            _ => institutes[i % 2].clone(),
        };
        experts.push(
            app.expert(
                &format!("pool{i:02}"),
                &org,
                &["electric_porcelain"],
                &["烧成", "釉料", "晶相"][..(i % 3) + 1],
            )
            .await,
        );
    }
    let mut admin = app.review(Some(&cast.admin)).await;
    let solved = admin
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(solved.feasible, "{:?}", solved.infeasibility_reasons);
    assert_eq!(solved.assignments.len(), 100);
    let mut per_expert: std::collections::BTreeMap<&str, usize> = Default::default();
    for x in &solved.assignments {
        *per_expert.entry(x.expert.as_str()).or_default() += 1;
    }
    assert!(per_expert.values().all(|n| *n <= 10), "loads respected");
    for (i, conflicted) in [(0usize, &experts[0].0), (1, &experts[1].0)] {
        assert!(
            !solved
                .assignments
                .iter()
                .any(|x| x.application == applications[i] && &x.expert == conflicted)
        );
    }
    let chair = solved.assignments[0].expert.clone();
    admin
        .set_panel_chair(pb::SetPanelChairRequest {
            name: format!("{}/reviewPanel", challenge.name),
            chair: chair.clone(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    // Each expert scores their applications: application i at 70 + i, ± the expert's taste.
    for (expert, token) in &experts {
        let mine = app
            .review(Some(token))
            .await
            .list_assignments(pb::ListAssignmentsRequest {
                parent: challenge.name.clone() + "/applications/-",
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments;
        for x in mine {
            let i = applications
                .iter()
                .position(|a| *a == x.application)
                .unwrap();
            let taste = (expert.len() % 3) as f64 - 1.0;
            let fraction = format!("{:.4}", (70.0 + i as f64 + taste) / 100.0);
            score(app, token, &x.application, &fraction).await;
        }
    }
    let chair_token = &experts.iter().find(|(e, _)| *e == chair).unwrap().1;
    let ranking = app
        .review(Some(chair_token))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ranking.complete);
    assert_eq!(ranking.ranking_entries.len(), 20);
    assert_eq!(
        ranking.ranking_entries[0].application, applications[19],
        "the best-scored application ranks first"
    );
    assert!(
        ranking.ranking_entries[0]
            .sheet_totals
            .iter()
            .filter(|t| t.trimmed)
            .count()
            == 2,
        "five sheets: one highest and one lowest dropped"
    );
    // Paged: 7 + 7 + 6 entries, in the same order as the whole ranking, the positions
    // continuing across pages; a token is bound to its challenge.
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = ranking_page(app, chair_token, &challenge.name, 7, page_token)
            .await
            .unwrap();
        assert!(page.complete);
        pages.push(page.ranking_entries);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![7, 7, 6]
    );
    assert_eq!(pages.concat(), ranking.ranking_entries);
    let first = ranking_page(app, chair_token, &challenge.name, 7, String::new())
        .await
        .unwrap();
    let elsewhere = ranking_page(
        app,
        chair_token,
        "challenges/another",
        7,
        first.next_page_token,
    )
    .await
    .unwrap_err();
    assert_eq!(elsewhere.code(), tonic::Code::InvalidArgument);
    // Rows saved before migrations 0010 and 0011 (no `scores`, no title or budget columns)
    // rank the same, read from their content.
    let mut db = app.db.connect().await;
    for sql in [
        "UPDATE applications SET title = NULL, requested_budget_fen = NULL",
        "UPDATE score_sheets SET scores = NULL",
    ] {
        sqlx::query(sql).execute(&mut db).await.unwrap();
    }
    let from_content = ranking_page(app, chair_token, &challenge.name, 0, String::new())
        .await
        .unwrap();
    assert_eq!(from_content.ranking_entries, ranking.ranking_entries);
    let notice = app
        .review(Some(chair_token))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .public_notice
        .unwrap();
    assert_eq!(notice.proposed_winners[0].application, applications[19]);
    app.clock.advance(10 * DAY);
    let awarded = admin
        .appoint_winners(pb::AppointWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        awarded.challenge.unwrap().state,
        pb::ChallengeState::Awarded as i32
    );
}

/// Ruling REPLACE_WINNER ranks the applications inside its write transaction, on that
/// transaction's connection: a server whose pool holds one connection still rules, where a
/// second connection would wait for the first until the pool times out.
async fn a_ruling_that_replaces_the_winner_needs_no_second_connection(app: &TestApp) {
    let cast = app.cast().await;
    let (challenge, applications, teams, chair) = scored_round(app, &cast).await;
    app.review(Some(&chair))
        .await
        .propose_winners(pb::ProposeWinnersRequest {
            challenge: challenge.name.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let filed = app
        .review(Some(&teams[2].lead))
        .await
        .file_objection(pb::FileObjectionRequest {
            parent: challenge.name.clone(),
            objection: Some(objection(&applications[0], "赵六")),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    let mut config = crate::support::test_config(&app.db);
    config.db_max_connections = 1;
    let small = TestApp::spawn_with(app.db.clone(), app.clock.clone(), config).await;
    let ruled = small
        .review(Some(&cast.admin))
        .await
        .rule_on_objection(pb::RuleOnObjectionRequest {
            name: filed.name,
            outcome: pb::ObjectionState::Upheld as i32,
            remedy: pb::ObjectionRemedy::ReplaceWinner as i32,
            reason: "经核查，检测数据确有不一致之处。".into(),
            ..Default::default()
        })
        .await
        .expect("ruled with one connection")
        .into_inner();
    let restarted = ruled.public_notice.unwrap();
    assert_eq!(restarted.round, 2);
    assert_eq!(restarted.proposed_winners[0].application, applications[1]);
    small.take_server().shutdown().await;
}

/// A panel scores one application in its meeting: its experts seal their sheets of it at the
/// same moment. Each expert's work on an application is on the chain of its own assignment,
/// so the experts never race for one chain head (on PostgreSQL the losers would wait for the
/// winner's commit and then start again); the application's own chain keeps only what
/// happened to the application.
async fn a_panel_sealing_one_application_together_never_shares_a_chain(app: &TestApp) {
    let cast = app.cast().await;
    let team = app
        .team("pa", pb::OrganizationType::University, "330100")
        .await;
    let (challenge, applications) = closed_with_applications(app, &cast, &[&team]).await;
    let experts = porcelain_experts(app, "会评测试研究所", "meeting", 3).await;
    app.review(Some(&cast.admin))
        .await
        .solve_assignments(pb::SolveAssignmentsRequest {
            challenge: challenge.name.clone(),
            experts_per_application: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let application = &applications[0];
    let sealed = futures::future::join_all(
        experts
            .iter()
            .map(|(_, token)| score(app, token, application, "0.8")),
    )
    .await;
    assert!(
        sealed
            .iter()
            .all(|s| s.state == pb::ScoreSheetState::Submitted as i32)
    );

    for (_, token) in &experts {
        let assignment = assignment_of(app, token, application).await;
        let actions: Vec<String> = app
            .audit_records(&cast.admin, &assignment)
            .await
            .into_iter()
            .map(|r| r.action)
            .collect();
        assert_eq!(
            actions,
            [
                "assignment.created",
                "score_sheet.saved",
                "score_sheet.submitted"
            ]
        );
    }
    let on_the_application = app.audit_records(&cast.admin, application).await;
    assert!(
        on_the_application
            .iter()
            .all(|r| !r.action.starts_with("score_sheet.")),
        "{:?}",
        on_the_application
            .iter()
            .map(|r| &r.action)
            .collect::<Vec<_>>()
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

on_both_backends!(
    a_panel_sealing_one_application_together_never_shares_a_chain,
    every_kind_of_conflict_keeps_an_expert_off_the_application,
    an_expert_who_discovers_a_conflict_is_replaced,
    the_chair_reopens_sealed_sheets_and_the_old_ones_stay_on_record,
    a_team_reads_its_result_without_knowing_who_scored_it,
    a_round_of_twenty_applications_and_thirty_experts_is_reviewed_end_to_end,
    winners_go_through_the_public_notice_and_objections_before_appointment,
    a_ruling_that_replaces_the_winner_needs_no_second_connection,
    nothing_is_proposed_before_the_ranking_is_complete,
    sheets_are_sealed_and_nobody_sees_scores_before_sealing_their_own,
    the_bureau_keeps_the_pool_and_experts_keep_their_own_profile,
    experts_are_assigned_optimally_and_never_across_a_conflict,
    an_infeasible_instance_says_what_is_missing_and_stores_nothing,
    pins_and_forbids_bind_the_solver_and_a_conflicted_pin_is_refused,
    assignment_waits_for_the_formal_check,
);

/// One page of a challenge's ranking as `token`'s holder sees it.
async fn ranking_page(
    app: &TestApp,
    token: &str,
    challenge: &str,
    page_size: i32,
    page_token: String,
) -> Result<pb::ListRankingResponse, tonic::Status> {
    app.review(Some(token))
        .await
        .list_ranking(pb::ListRankingRequest {
            challenge: challenge.into(),
            page_size,
            page_token,
        })
        .await
        .map(tonic::Response::into_inner)
}
