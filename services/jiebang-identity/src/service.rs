//! The `IdentityService` handlers.

use crate::convert::{org_type_from_proto, organization_to_proto, role_from_proto, user_to_proto};
use crate::passwords;
use jiebang_domain::audience::Audience;
use jiebang_domain::identity::{
    self, Organization, User, check_display_name, check_email, check_password, check_phone,
    check_region, check_username,
};
use jiebang_domain::ids::{Collection, new_id};
use jiebang_domain::{Caller, DomainError, Violations};
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{self, decode_token, finish_page, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform, caller};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::identity_service_server::IdentityService;
use jiebang_storage::identity as rows;
use tonic::{Request, Response, Status};

pub struct IdentityApi {
    platform: Platform,
}

impl IdentityApi {
    pub fn new(platform: Platform) -> Self {
        Self { platform }
    }
}

fn require_admin(caller: &Caller, action: &str) -> Result<(), DomainError> {
    jiebang_domain::challenge::access::ensure_admin(caller, action)
}

fn username_taken(err: ApiError, username: &str) -> ApiError {
    match err {
        ApiError::Store(e) if e.is_unique_on("username") => DomainError::AlreadyExists {
            reason: "USERNAME_TAKEN",
            message: format!("the username {username} is already taken"),
        }
        .into(),
        other => other,
    }
}

fn credit_code_taken(err: ApiError, code: &str) -> ApiError {
    match err {
        ApiError::Store(e) if e.is_unique_on("credit_code") => DomainError::AlreadyExists {
            reason: "CREDIT_CODE_TAKEN",
            message: format!("an organisation with credit code {code} already exists"),
        }
        .into(),
        other => other,
    }
}

impl IdentityApi {
    async fn login(&self, req: pb::LoginRequest) -> Result<pb::LoginResponse, ApiError> {
        let denied = || DomainError::Unauthenticated("the username or password is wrong".into());
        let found = rows::get_credentials(&self.platform.store, &req.username).await?;
        let Some((user, hash)) = found else {
            // Same work as a real check, so timing does not reveal which usernames exist.
            passwords::verify(req.password, passwords::DUMMY_HASH.into()).await;
            return Err(denied().into());
        };
        if !passwords::verify(req.password, hash).await {
            tracing::info!(username = %user.username, "login refused");
            return Err(denied().into());
        }
        let (access_token, expires) = self.platform.tokens.issue(&user, self.platform.now())?;
        tracing::info!(user = %user.id, "login");
        Ok(pb::LoginResponse {
            access_token,
            expire_time: Some(jiebang_grpc::convert::to_proto_time(expires)),
            user: Some(user_to_proto(&user)),
        })
    }

    async fn who_am_i(&self, caller: Caller) -> Result<pb::WhoAmIResponse, ApiError> {
        let store = &self.platform.store;
        let user = rows::get_user(store, &caller.user_id)
            .await?
            .ok_or_else(|| DomainError::Unauthenticated("this account no longer exists".into()))?;
        let org = rows::get_organization(store, &user.organization_id).await?;
        Ok(pb::WhoAmIResponse {
            user: Some(user_to_proto(&user)),
            organization: org.as_ref().map(organization_to_proto),
        })
    }

    async fn change_password(
        &self,
        caller: Caller,
        req: pb::ChangePasswordRequest,
    ) -> Result<pb::ChangePasswordResponse, ApiError> {
        let mut v = Violations::new();
        check_password(&mut v, "new_password", &req.new_password);
        v.require(
            req.new_password != req.current_password,
            "new_password",
            "must differ from the current password",
        );
        v.into_result()?;
        // Passwords never enter digests: an unsalted hash of a password is a leak.
        let redacted = pb::ChangePasswordRequest {
            request_id: String::new(),
            ..Default::default()
        };
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.IdentityService/ChangePassword",
            digest(&redacted),
        )?;
        let (platform, req, caller, idem_ref) = (&self.platform, &req, &caller, &idem);
        self.platform
            .mutate(idem_ref, move || async move {
                let stored = rows::get_password_hash(&platform.store, &caller.user_id)
                    .await?
                    .ok_or_else(|| {
                        DomainError::Unauthenticated("this account no longer exists".into())
                    })?;
                if !passwords::verify(req.current_password.clone(), stored.clone()).await {
                    return Err(DomainError::denied(
                        "WRONG_CURRENT_PASSWORD",
                        "the current password is wrong",
                    )
                    .into());
                }
                let new_hash = passwords::hash(req.new_password.clone()).await;
                let now = platform.now();
                let response = pb::ChangePasswordResponse {};
                let mut tx = platform.store.begin().await?;
                rows::set_password_hash(&mut tx, &caller.user_id, &stored, &new_hash, now).await?;
                let change = ChangeBuilder {
                    at: now,
                    actor: caller.actor(),
                    action: "user.password_changed",
                    event_type: pb::EventType::PasswordChanged,
                    resource: caller.actor(),
                    chain: None,
                    state: String::new(),
                    summary: caller.username.clone(),
                    audience: &[Audience::User(caller.user_id.clone())],
                    idempotency: idem_ref,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }

    async fn create_organization(
        &self,
        caller: Caller,
        req: pb::CreateOrganizationRequest,
    ) -> Result<pb::CreateOrganizationResponse, ApiError> {
        require_admin(&caller, "create organisations")?;
        let input = req.organization.clone().unwrap_or_default();
        let org_type = org_type_from_proto(input.r#type);
        identity::validate_new_organization(
            &input.display_name,
            org_type,
            &input.region,
            &input.unified_social_credit_code,
        )
        .map_err(|e| e.within("organization"))?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.IdentityService/CreateOrganization",
            digest(&pb::CreateOrganizationRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let (platform, caller_ref, idem_ref, input_ref) = (&self.platform, &caller, &idem, &input);
        self.platform
            .mutate(idem_ref, move || async move {
                let now = platform.now();
                let org = Organization {
                    id: new_id(),
                    display_name: input_ref.display_name.clone(),
                    // Validated above.
                    org_type: org_type.unwrap_or(identity::OrganizationType::Enterprise),
                    region: input_ref.region.clone(),
                    unified_social_credit_code: input_ref.unified_social_credit_code.clone(),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                let response = pb::CreateOrganizationResponse {
                    organization: Some(organization_to_proto(&org)),
                };
                let mut tx = platform.store.begin().await?;
                rows::insert_organization(&mut tx, &org).await?;
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "organization.created",
                    event_type: pb::EventType::OrganizationCreated,
                    resource: Collection::Organizations.name(&org.id),
                    chain: None,
                    state: String::new(),
                    summary: org.display_name.clone(),
                    audience: &[Audience::Organization(org.id.clone())],
                    idempotency: idem_ref,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
            .map_err(|e| credit_code_taken(e, &input.unified_social_credit_code))
    }

    async fn get_organization(
        &self,
        req: pb::GetOrganizationRequest,
    ) -> Result<pb::GetOrganizationResponse, ApiError> {
        let id = Collection::Organizations.parse(&req.name, "name")?;
        let org = rows::get_organization(&self.platform.store, id)
            .await?
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        Ok(pb::GetOrganizationResponse {
            organization: Some(organization_to_proto(&org)),
        })
    }

    async fn list_organizations(
        &self,
        req: pb::ListOrganizationsRequest,
    ) -> Result<pb::ListOrganizationsResponse, ApiError> {
        let size = page_size(
            req.page_size,
            paging::DEFAULT_PAGE_SIZE,
            paging::MAX_PAGE_SIZE,
        )?;
        let org_type =
            match req.r#type {
                0 => None,
                t => Some(org_type_from_proto(t).ok_or_else(|| {
                    DomainError::invalid("type", "is not a known organisation type")
                })?),
            };
        let filters = format!("type={}", req.r#type);
        let cursor = decode_token(&req.page_token, &filters)?;
        let orgs =
            rows::list_organizations(&self.platform.store, org_type, cursor.as_deref(), size + 1)
                .await?;
        let (orgs, next_page_token) = finish_page(orgs, size, &filters, |o| o.id.clone());
        Ok(pb::ListOrganizationsResponse {
            organizations: orgs.iter().map(organization_to_proto).collect(),
            next_page_token,
        })
    }

    async fn update_organization(
        &self,
        caller: Caller,
        req: pb::UpdateOrganizationRequest,
    ) -> Result<pb::UpdateOrganizationResponse, ApiError> {
        require_admin(&caller, "update organisations")?;
        let input = req.organization.clone().unwrap_or_default();
        let id = Collection::Organizations
            .parse(&input.name, "organization.name")?
            .to_owned();
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        let mut v = Violations::new();
        v.require(
            !paths.is_empty(),
            "update_mask",
            "must name the fields to update",
        );
        v.require(
            !input.etag.is_empty(),
            "organization.etag",
            "is required for updates",
        );
        for (i, path) in paths.iter().enumerate() {
            match path.as_str() {
                "display_name" => {
                    check_display_name(&mut v, "organization.display_name", &input.display_name)
                }
                "region" => check_region(&mut v, "organization.region", &input.region),
                other => v.add(
                    format!("update_mask.paths[{i}]"),
                    format!("{other} cannot be updated; updatable: display_name, region"),
                ),
            }
        }
        v.into_result()?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.IdentityService/UpdateOrganization",
            digest(&pb::UpdateOrganizationRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let (platform, caller_ref, idem_ref, input_ref, paths_ref, id_ref) =
            (&self.platform, &caller, &idem, &input, &paths, &id);
        self.platform
            .mutate(idem_ref, move || async move {
                let current = rows::get_organization(&platform.store, id_ref)
                    .await?
                    .ok_or_else(|| DomainError::not_found(&input_ref.name))?;
                if current.version.to_string() != input_ref.etag {
                    return Err(DomainError::stale_etag(&input_ref.name).into());
                }
                let now = platform.now();
                let mut next = current.clone();
                for path in paths_ref {
                    match path.as_str() {
                        "display_name" => next.display_name = input_ref.display_name.clone(),
                        "region" => next.region = input_ref.region.clone(),
                        _ => {}
                    }
                }
                next.updated_at = now;
                next.version += 1;
                let response = pb::UpdateOrganizationResponse {
                    organization: Some(organization_to_proto(&next)),
                };
                let mut tx = platform.store.begin().await?;
                rows::update_organization(&mut tx, &next, current.version).await?;
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "organization.updated",
                    event_type: pb::EventType::OrganizationUpdated,
                    resource: input_ref.name.clone(),
                    chain: None,
                    state: String::new(),
                    summary: next.display_name.clone(),
                    audience: &[Audience::Organization(next.id.clone())],
                    idempotency: idem_ref,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
    }

    async fn create_user(
        &self,
        caller: Caller,
        req: pb::CreateUserRequest,
    ) -> Result<pb::CreateUserResponse, ApiError> {
        require_admin(&caller, "create users")?;
        let input = req.user.clone().unwrap_or_default();
        let role = role_from_proto(input.role);
        let mut v = Violations::new();
        check_username(&mut v, "user.username", &input.username);
        check_display_name(&mut v, "user.display_name", &input.display_name);
        v.require(role.is_some(), "user.role", "must be set");
        check_email(&mut v, "user.email", &input.email);
        check_phone(&mut v, "user.phone", &input.phone);
        check_password(&mut v, "initial_password", &req.initial_password);
        let org_id = match Collection::Organizations.parse(&input.organization, "user.organization")
        {
            Ok(id) => Some(id.to_owned()),
            Err(e) => {
                v.absorb(Err(e))?;
                None
            }
        };
        v.into_result()?;
        let org_id = org_id.unwrap_or_default();
        if rows::get_organization(&self.platform.store, &org_id)
            .await?
            .is_none()
        {
            return Err(DomainError::not_found(&input.organization).into());
        }
        let redacted = pb::CreateUserRequest {
            initial_password: String::new(),
            request_id: String::new(),
            ..req.clone()
        };
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.IdentityService/CreateUser",
            digest(&redacted),
        )?;
        let password_hash = passwords::hash(req.initial_password.clone()).await;
        let (platform, caller_ref, idem_ref, input_ref, org_ref, hash_ref) = (
            &self.platform,
            &caller,
            &idem,
            &input,
            &org_id,
            &password_hash,
        );
        self.platform
            .mutate(idem_ref, move || async move {
                let now = platform.now();
                let user = User {
                    id: new_id(),
                    username: input_ref.username.clone(),
                    display_name: input_ref.display_name.clone(),
                    role: role.unwrap_or(identity::Role::TeamMember),
                    organization_id: org_ref.clone(),
                    email: input_ref.email.clone(),
                    phone: input_ref.phone.clone(),
                    created_at: now,
                };
                let response = pb::CreateUserResponse {
                    user: Some(user_to_proto(&user)),
                };
                let mut tx = platform.store.begin().await?;
                rows::insert_user(&mut tx, &user, hash_ref).await?;
                let change = ChangeBuilder {
                    at: now,
                    actor: caller_ref.actor(),
                    action: "user.created",
                    event_type: pb::EventType::UserCreated,
                    resource: Collection::Users.name(&user.id),
                    chain: None,
                    state: String::new(),
                    summary: user.username.clone(),
                    audience: &[
                        Audience::User(user.id.clone()),
                        Audience::Organization(user.organization_id.clone()),
                    ],
                    idempotency: idem_ref,
                }
                .build(&response);
                platform.commit(tx, &change).await?;
                Ok(response)
            })
            .await
            .map_err(|e| username_taken(e, &input.username))
    }

    async fn get_user(
        &self,
        caller: Caller,
        req: pb::GetUserRequest,
    ) -> Result<pb::GetUserResponse, ApiError> {
        let id = Collection::Users.parse(&req.name, "name")?;
        let user = rows::get_user(&self.platform.store, id)
            .await?
            // Users of other organisations are invisible to non-admins.
            .filter(|u| caller.is_admin() || u.organization_id == caller.organization_id)
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        Ok(pb::GetUserResponse {
            user: Some(user_to_proto(&user)),
        })
    }

    async fn list_users(
        &self,
        caller: Caller,
        req: pb::ListUsersRequest,
    ) -> Result<pb::ListUsersResponse, ApiError> {
        let size = page_size(
            req.page_size,
            paging::DEFAULT_PAGE_SIZE,
            paging::MAX_PAGE_SIZE,
        )?;
        let org_filter = match req.organization.as_str() {
            "" if caller.is_admin() => None,
            "" => Some(caller.organization_id.clone()),
            name => {
                let id = Collection::Organizations
                    .parse(name, "organization")?
                    .to_owned();
                if !caller.is_admin() && id != caller.organization_id {
                    return Err(DomainError::denied(
                        "OTHER_ORGANIZATION",
                        "only the bureau lists the users of other organisations",
                    )
                    .into());
                }
                Some(id)
            }
        };
        let role = match req.role {
            0 => None,
            r => Some(
                role_from_proto(r)
                    .ok_or_else(|| DomainError::invalid("role", "is not a known role"))?,
            ),
        };
        let filters = format!(
            "org={};role={}",
            org_filter.as_deref().unwrap_or(""),
            req.role
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let users = rows::list_users(
            &self.platform.store,
            org_filter.as_deref(),
            role,
            cursor.as_deref(),
            size + 1,
        )
        .await?;
        let (users, next_page_token) = finish_page(users, size, &filters, |u| u.id.clone());
        Ok(pb::ListUsersResponse {
            users: users.iter().map(user_to_proto).collect(),
            next_page_token,
        })
    }
}

/// Runs a handler that needs only that the caller is signed in.
macro_rules! signed_in {
    ($self:ident, $request:ident, $method:ident) => {{
        caller(&$request).map_err(ApiError::from)?;
        $self
            .$method($request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }};
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    #[tracing::instrument(skip_all, fields(rpc = "Login"))]
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        IdentityApi::login(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    #[tracing::instrument(skip_all, fields(rpc = "WhoAmI"))]
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = caller(&request).map_err(ApiError::from)?;
        IdentityApi::who_am_i(self, caller)
            .await
            .map(Response::new)
            .map_err(Status::from)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ChangePassword"))]
    async fn change_password(
        &self,
        request: Request<pb::ChangePasswordRequest>,
    ) -> Result<Response<pb::ChangePasswordResponse>, Status> {
        jiebang_grpc::authed!(self, request, change_password)
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreateOrganization"))]
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        jiebang_grpc::authed!(self, request, create_organization)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetOrganization"))]
    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::GetOrganizationResponse>, Status> {
        signed_in!(self, request, get_organization)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListOrganizations"))]
    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        signed_in!(self, request, list_organizations)
    }

    #[tracing::instrument(skip_all, fields(rpc = "UpdateOrganization"))]
    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::UpdateOrganizationResponse>, Status> {
        jiebang_grpc::authed!(self, request, update_organization)
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreateUser"))]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        jiebang_grpc::authed!(self, request, create_user)
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetUser"))]
    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        jiebang_grpc::authed!(self, request, get_user)
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListUsers"))]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        jiebang_grpc::authed!(self, request, list_users)
    }
}
