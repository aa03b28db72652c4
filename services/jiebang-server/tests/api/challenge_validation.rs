//! Bad input is refused with INVALID_ARGUMENT and one field violation per bad field, and
//! nothing is stored.

use crate::on_both_backends;
use crate::samples::porcelain_challenge;
use crate::support::{TestApp, reason_of, violated_fields};
use jiebang_proto::v1 as pb;
use tonic::Code;

async fn every_bad_field_of_a_new_challenge_is_named_and_nothing_is_stored(app: &TestApp) {
    let cast = app.cast().await;
    let mut bad = porcelain_challenge("瓷");
    bad.criteria[0].weight = 30; // weights now sum to 90
    bad.tranches[0].share_basis_points = 4_000; // shares now sum to 9,000
    bad.winners_count = 5;
    bad.indicators[1].target_value = "五".into();
    bad.indicators[0].comparison = 0;
    bad.government_funding_fen = -100;
    bad.contact = Some(pb::Contact {
        person: "王工".into(),
        phone: String::new(),
        email: "not-an-email".into(),
    });
    let mut publisher = app.challenges(Some(&cast.publisher)).await;
    let status = publisher
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(bad),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(reason_of(&status), "INVALID_FIELDS");
    let mut fields = violated_fields(&status);
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "challenge.contact.email",
            "challenge.criteria",
            "challenge.government_funding_fen",
            "challenge.indicators[0].comparison",
            "challenge.indicators[1].target_value",
            "challenge.title",
            "challenge.tranches",
            "challenge.winners_count",
        ]
    );
    let listed = publisher
        .list_challenges(pb::ListChallengesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .challenges;
    assert!(listed.is_empty(), "a refused challenge must not be stored");
}

async fn money_is_integer_fen_and_the_funding_must_be_positive(app: &TestApp) {
    let cast = app.cast().await;
    let mut zero = porcelain_challenge("零经费的榜单测试");
    zero.government_funding_fen = 0;
    zero.co_funding_fen = 0;
    let status = app
        .challenges(Some(&cast.publisher))
        .await
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(zero),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        vec!["challenge.government_funding_fen"]
    );
}

async fn a_consortium_is_a_lead_and_at_most_four_partners(app: &TestApp) {
    let cast = app.cast().await;
    let mut wide = porcelain_challenge("联合体规模测试榜单");
    wide.eligibility.as_mut().unwrap().max_partners = Some(5);
    let status = app
        .challenges(Some(&cast.publisher))
        .await
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(wide),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        vec!["challenge.eligibility.max_partners"]
    );

    let mut solo = porcelain_challenge("单独申报测试榜单");
    solo.eligibility.as_mut().unwrap().max_partners = Some(0);
    let created = app
        .challenges(Some(&cast.publisher))
        .await
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(solo),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .challenge
        .unwrap();
    assert_eq!(
        created.eligibility.unwrap().max_partners,
        Some(0),
        "zero partners is a real choice"
    );
}

async fn unset_review_settings_take_the_defaults_of_the_rules(app: &TestApp) {
    let cast = app.cast().await;
    let created = app.draft(&cast, "默认评审设置测试").await;
    let settings = created.review_settings.unwrap();
    assert_eq!(settings.experts_per_application, 7);
    assert_eq!(settings.dispersion_gap, 20);
    assert_eq!(settings.total_threshold, 70);
    assert_eq!(settings.criterion_threshold_percent, 60);
    assert_eq!(settings.shortlist_size, 5);
    assert_eq!(
        settings.aggregation_method,
        pb::AggregationMethod::TrimmedMean as i32
    );
}

async fn malformed_names_and_page_tokens_are_field_violations(app: &TestApp) {
    let cast = app.cast().await;
    let mut client = app.challenges(Some(&cast.publisher)).await;
    let status = client
        .get_challenge(pb::GetChallengeRequest {
            name: "projects/1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violated_fields(&status), vec!["name"]);
    let status = client
        .list_challenges(pb::ListChallengesRequest {
            page_token: "garbage!".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["page_token"]);
    let missing = client
        .get_challenge(pb::GetChallengeRequest {
            name: "challenges/0000000000000000000000000000dead".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

on_both_backends!(
    every_bad_field_of_a_new_challenge_is_named_and_nothing_is_stored,
    money_is_integer_fen_and_the_funding_must_be_positive,
    a_consortium_is_a_lead_and_at_most_four_partners,
    unset_review_settings_take_the_defaults_of_the_rules,
    malformed_names_and_page_tokens_are_field_violations,
);
