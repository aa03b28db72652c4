//! Identity: organisations with valid credit codes, users, login, tokens, passwords.

use crate::on_both_backends;
use crate::support::{ADMIN_PASSWORD, TestApp, code_of, reason_of, violated_fields};
use jiebang_proto::v1 as pb;
use std::time::Duration;
use tonic::Code;

async fn the_first_start_creates_admin_who_can_log_in(app: &TestApp) {
    let me = app
        .identity(Some(&app.admin_token))
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    let user = me.user.unwrap();
    assert_eq!(user.username, "admin");
    assert_eq!(user.role, pb::Role::Admin as i32);
    assert_eq!(
        me.organization.unwrap().r#type,
        pb::OrganizationType::Government as i32
    );
}

async fn a_wrong_password_or_unknown_user_is_unauthenticated(app: &TestApp) {
    let mut client = app.identity(None).await;
    for (username, password) in [("admin", "not-the-password"), ("nobody", ADMIN_PASSWORD)] {
        let status = client
            .login(pb::LoginRequest {
                username: username.into(),
                password: password.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "the username or password is wrong");
    }
}

async fn calls_without_a_valid_token_are_unauthenticated(app: &TestApp) {
    let no_token = app
        .identity(None)
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await;
    assert_eq!(code_of(no_token), Code::Unauthenticated);
    let forged = app
        .identity(Some("eyJhbGciOiJIUzI1NiJ9.e30.forged"))
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await;
    assert_eq!(code_of(forged), Code::Unauthenticated);
}

async fn a_token_expires_by_the_clock(app: &TestApp) {
    let token = app.login("admin", ADMIN_PASSWORD).await;
    // Test servers issue tokens for 400 days.
    app.clock.advance(Duration::from_secs(401 * 86_400));
    let status = app
        .identity(Some(&token))
        .await
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("expired"), "{}", status.message());
}

async fn organisations_need_a_valid_unified_social_credit_code(app: &TestApp) {
    let mut admin = app.identity(Some(&app.admin_token)).await;
    let status = admin
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "校验位错误的公司".into(),
                r#type: pb::OrganizationType::Enterprise as i32,
                region: "330100".into(),
                unified_social_credit_code: "91350100M000100Y44".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        vec!["organization.unified_social_credit_code"]
    );

    let code = "91350100M000100Y43";
    let create = |name: &str| pb::CreateOrganizationRequest {
        organization: Some(pb::Organization {
            display_name: name.into(),
            r#type: pb::OrganizationType::Enterprise as i32,
            region: "350100".into(),
            unified_social_credit_code: code.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    admin
        .create_organization(create("第一家公司"))
        .await
        .unwrap();
    let duplicate = admin
        .create_organization(create("第二家公司"))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason_of(&duplicate), "CREDIT_CODE_TAKEN");
}

async fn only_the_bureau_creates_organisations_and_users(app: &TestApp) {
    let cast = app.cast().await;
    let mut publisher = app.identity(Some(&cast.publisher)).await;
    let org = publisher
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "冒名公司".into(),
                r#type: pb::OrganizationType::Enterprise as i32,
                region: "330100".into(),
                unified_social_credit_code: crate::support::credit_code("冒名公司"),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(org), Code::PermissionDenied);
    let user = publisher
        .create_user(pb::CreateUserRequest {
            user: Some(pb::User {
                username: "sneaky".into(),
                display_name: "sneaky".into(),
                role: pb::Role::Admin as i32,
                organization: cast.publisher_org.clone(),
                ..Default::default()
            }),
            initial_password: "sneaky-password".into(),
            request_id: String::new(),
        })
        .await;
    assert_eq!(code_of(user), Code::PermissionDenied);
}

async fn usernames_are_unique_and_well_formed(app: &TestApp) {
    let cast = app.cast().await;
    let mut admin = app.identity(Some(&cast.admin)).await;
    let user = |username: &str| pb::CreateUserRequest {
        user: Some(pb::User {
            username: username.into(),
            display_name: "张三".into(),
            role: pb::Role::TeamMember as i32,
            organization: cast.publisher_org.clone(),
            ..Default::default()
        }),
        initial_password: "long-enough-password".into(),
        request_id: String::new(),
    };
    let taken = admin.create_user(user("porcelain.pub")).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(reason_of(&taken), "USERNAME_TAKEN");
    let malformed = admin.create_user(user("Zhang San")).await.unwrap_err();
    assert_eq!(violated_fields(&malformed), vec!["user.username"]);
    let mut orphan = user("orphan");
    orphan.user.as_mut().unwrap().organization =
        "organizations/0000000000000000000000000000beef".into();
    assert_eq!(code_of(admin.create_user(orphan).await), Code::NotFound);
}

async fn a_user_changes_their_own_password(app: &TestApp) {
    let cast = app.cast().await;
    let mut client = app.identity(Some(&cast.team_member)).await;
    let wrong = client
        .change_password(pb::ChangePasswordRequest {
            current_password: "not-my-password".into(),
            new_password: "a-brand-new-password".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::PermissionDenied);
    let short = client
        .change_password(pb::ChangePasswordRequest {
            current_password: "zjut.team-password".into(),
            new_password: "short".into(),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&short), vec!["new_password"]);
    client
        .change_password(pb::ChangePasswordRequest {
            current_password: "zjut.team-password".into(),
            new_password: "a-brand-new-password".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    app.login("zjut.team", "a-brand-new-password").await;
    let old = app
        .identity(None)
        .await
        .login(pb::LoginRequest {
            username: "zjut.team".into(),
            password: "zjut.team-password".into(),
        })
        .await;
    assert_eq!(code_of(old), Code::Unauthenticated);
}

async fn users_see_their_own_organisation_and_the_bureau_sees_all(app: &TestApp) {
    let cast = app.cast().await;
    let mine = app
        .identity(Some(&cast.publisher))
        .await
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].username, "porcelain.pub");
    let others = app
        .identity(Some(&cast.publisher))
        .await
        .list_users(pb::ListUsersRequest {
            organization: "organizations/0000000000000000000000000000beef".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(code_of(others), Code::PermissionDenied);
    let all = app
        .identity(Some(&cast.admin))
        .await
        .list_users(pb::ListUsersRequest {
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(all.len(), 5, "admin plus the four of the cast");
}

on_both_backends!(
    the_first_start_creates_admin_who_can_log_in,
    a_wrong_password_or_unknown_user_is_unauthenticated,
    calls_without_a_valid_token_are_unauthenticated,
    a_token_expires_by_the_clock,
    organisations_need_a_valid_unified_social_credit_code,
    only_the_bureau_creates_organisations_and_users,
    usernames_are_unique_and_well_formed,
    a_user_changes_their_own_password,
    users_see_their_own_organisation_and_the_bureau_sees_all,
);
