//! The first start of an empty database: the bureau's organisation and the `admin` account.

use crate::convert::user_to_proto;
use crate::passwords;
use jiebang_domain::audience::Audience;
use jiebang_domain::caller::SYSTEM_ACTOR;
use jiebang_domain::identity::{Organization, OrganizationType, Role, User, complete_credit_code};
use jiebang_domain::ids::{Collection, new_id};
use jiebang_grpc::ApiError;
use jiebang_grpc::idempotency::Idempotency;
use jiebang_grpc::platform::{ChangeBuilder, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::identity as rows;
use rand::distr::{Alphanumeric, SampleString};

/// What the bootstrap did.
#[derive(Debug)]
pub enum Bootstrap {
    /// Users already existed; nothing was created.
    AlreadyDone,
    /// `admin` was created with the configured password.
    Created,
    /// `admin` was created with this generated password, to be shown once.
    CreatedWithGeneratedPassword(String),
}

/// Creates the bureau organisation and the `admin` user if the database has no users.
/// Replicas starting together may race: the loser sees the unique username taken and reports
/// `AlreadyDone`.
pub async fn ensure_admin(
    platform: &Platform,
    configured_password: Option<&str>,
) -> Result<Bootstrap, ApiError> {
    if rows::count_users(&platform.store).await? > 0 {
        return Ok(Bootstrap::AlreadyDone);
    }
    let generated = configured_password
        .is_none()
        .then(|| Alphanumeric.sample_string(&mut rand::rng(), 20));
    let password = configured_password
        .map(str::to_owned)
        .or_else(|| generated.clone())
        .unwrap_or_default();
    let hash = passwords::hash(password).await;
    let now = platform.now();
    let org = Organization {
        id: new_id(),
        display_name: "科技局 Science and Technology Bureau".into(),
        org_type: OrganizationType::Government,
        region: "000000".into(),
        // A well-formed placeholder code for a government organ; admins may not change codes,
        // so deployments that need the real one create their own organisation for staff.
        unified_social_credit_code: complete_credit_code("11000000000000000").unwrap_or_default(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let admin = User {
        id: new_id(),
        username: "admin".into(),
        display_name: "Administrator".into(),
        role: Role::Admin,
        organization_id: org.id.clone(),
        email: String::new(),
        phone: String::new(),
        created_at: now,
    };
    let system = jiebang_domain::Caller {
        user_id: SYSTEM_ACTOR.into(),
        username: SYSTEM_ACTOR.into(),
        role: Role::Admin,
        organization_id: org.id.clone(),
    };
    let idem = Idempotency::new(&system, "", "bootstrap", String::new())?;
    let mut tx = platform.store.begin().await?;
    // Either insert may be where a racing replica's bootstrap shows: the bureau's placeholder
    // credit code, or the username.
    let inserted = match rows::insert_organization(&mut tx, &org).await {
        Ok(()) => rows::insert_user(&mut tx, &admin, &hash).await,
        Err(e) => Err(e),
    };
    if let Err(e) = inserted {
        return if e.is_unique_on("username") || e.is_unique_on("credit_code") {
            Ok(Bootstrap::AlreadyDone)
        } else {
            Err(e.into())
        };
    }
    let change = ChangeBuilder {
        at: now,
        actor: SYSTEM_ACTOR.into(),
        action: "user.bootstrapped",
        event_type: pb::EventType::UserCreated,
        resource: Collection::Users.name(&admin.id),
        chain: None,
        state: String::new(),
        summary: "admin".into(),
        audience: &[Audience::User(admin.id.clone())],
        idempotency: &idem,
    }
    .build(&pb::CreateUserResponse {
        user: Some(user_to_proto(&admin)),
    });
    match platform.commit(tx, &change).await {
        Ok(()) => Ok(match generated {
            Some(password) => Bootstrap::CreatedWithGeneratedPassword(password),
            None => Bootstrap::Created,
        }),
        Err(ApiError::Store(e)) if e.is_unique_on("username") || e.is_unique_on("credit_code") => {
            Ok(Bootstrap::AlreadyDone)
        }
        Err(e) => Err(e),
    }
}
