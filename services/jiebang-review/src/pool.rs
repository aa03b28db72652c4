//! The expert pool: admins add experts; experts keep their fields, keywords and availability.

use crate::convert::{availability_from_proto, expert_to_proto};
use crate::service::ReviewApi;
use jiebang_domain::audience::Audience;
use jiebang_domain::identity::Role;
use jiebang_domain::ids::{Collection, new_id};
use jiebang_domain::review::pool::{Availability, DEFAULT_MAX_LOAD, DeclaredConflict, Expert};
use jiebang_domain::{Caller, DomainError, Violations};
use jiebang_grpc::convert::optional_time;
use jiebang_grpc::idempotency::{Idempotency, digest};
use jiebang_grpc::paging::{decode_token, page_size};
use jiebang_grpc::platform::ChangeBuilder;
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::{StoreError, identity, review as rows};

pub(crate) fn parse_expert_name(name: &str, field: &str) -> Result<String, DomainError> {
    name.strip_prefix("experts/")
        .filter(|id| {
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        .map(str::to_owned)
        .ok_or_else(|| DomainError::invalid(field, "must be an expert name like experts/{id}"))
}

fn declared_from_proto(
    conflicts: &[pb::ExpertConflict],
    now: jiebang_domain::Timestamp,
) -> Result<Vec<DeclaredConflict>, DomainError> {
    let mut v = Violations::new();
    let mut out = Vec::new();
    for (i, c) in conflicts.iter().enumerate() {
        let kind = pb::ConflictType::try_from(c.r#type)
            .ok()
            .filter(|t| *t != pb::ConflictType::Unspecified)
            .map(|t| {
                t.as_str_name()
                    .trim_start_matches("CONFLICT_TYPE_")
                    .to_owned()
            });
        v.require(
            kind.is_some(),
            format!("expert.declared_conflicts[{i}].type"),
            "must be set",
        );
        v.require(
            kind.as_deref() != Some("OTHER") || !c.note.trim().is_empty(),
            format!("expert.declared_conflicts[{i}].note"),
            "is required for OTHER",
        );
        let counterpart = match &c.counterpart {
            Some(pb::expert_conflict::Counterpart::Organization(o)) => Collection::Organizations
                .parse(o, "organization")
                .ok()
                .map(|id| format!("organization:{id}")),
            Some(pb::expert_conflict::Counterpart::User(u)) => Collection::Users
                .parse(u, "user")
                .ok()
                .map(|id| format!("user:{id}")),
            Some(pb::expert_conflict::Counterpart::PersonName(n)) if !n.trim().is_empty() => {
                Some(format!("person:{}", n.trim()))
            }
            _ => None,
        };
        v.require(
            counterpart.is_some(),
            format!("expert.declared_conflicts[{i}].counterpart"),
            "must name an organisation, a user or a person",
        );
        if let (Some(kind), Some(counterpart)) = (kind, counterpart) {
            out.push(DeclaredConflict {
                counterpart,
                kind,
                note: c.note.trim().to_owned(),
                declared_at: now,
            });
        }
    }
    v.into_result()?;
    Ok(out)
}

impl ReviewApi {
    pub(crate) async fn current_load(&self, expert_id: &str) -> Result<i64, ApiError> {
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        Ok(rows::open_loads(&mut conn)
            .await?
            .into_iter()
            .find(|(id, _)| id == expert_id)
            .map_or(0, |(_, n)| n))
    }

    pub(crate) async fn create_expert(
        &self,
        caller: Caller,
        req: pb::CreateExpertRequest,
    ) -> Result<pb::Expert, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "add experts to the pool")?;
        let input = req
            .expert
            .clone()
            .ok_or_else(|| DomainError::invalid("expert", "must be set"))?;
        let user_id = Collection::Users
            .parse(&input.user, "expert.user")?
            .to_owned();
        let affiliation = Collection::Organizations
            .parse(&input.affiliation, "expert.affiliation")?
            .to_owned();
        let store = &self.platform().store;
        let user = identity::get_user(store, &user_id)
            .await?
            .ok_or_else(|| DomainError::not_found(&input.user))?;
        if user.role != Role::Expert {
            return Err(DomainError::precondition(
                "NOT_AN_EXPERT",
                format!("{} does not have the expert role", input.user),
            )
            .into());
        }
        if identity::get_organization(store, &affiliation)
            .await?
            .is_none()
        {
            return Err(DomainError::not_found(&input.affiliation).into());
        }
        let now = self.platform().now();
        let expert = Expert {
            id: new_id(),
            user_id,
            display_name: user.display_name.clone(),
            fields: input.fields_of_expertise.clone(),
            keywords: input.keywords.clone(),
            affiliation_id: affiliation,
            declared: declared_from_proto(&input.declared_conflicts, now)?,
            max_load: if input.max_load == 0 {
                DEFAULT_MAX_LOAD
            } else {
                input.max_load
            },
            availability: match input.availability {
                0 => Availability::Available,
                a => availability_from_proto(a)
                    .ok_or_else(|| DomainError::invalid("expert.availability", "is not known"))?,
            },
            unavailable_until: optional_time(
                input.unavailable_until.as_ref(),
                "expert.unavailable_until",
            )?,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        expert.validate().map_err(|e| e.within("expert"))?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/CreateExpert",
            digest(&pb::CreateExpertRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let (platform, caller, idem, expert) = (self.platform(), &caller, &idem, &expert);
        platform
            .mutate(idem, move || async move {
                let response = expert_to_proto(expert, 0);
                let mut tx = platform.store.begin().await?;
                rows::insert_expert(&mut tx, expert)
                    .await
                    .map_err(|e| match e {
                        e if e.is_unique_on("user") => ApiError::from(DomainError::AlreadyExists {
                            reason: "EXPERT_EXISTS",
                            message: format!(
                                "users/{} already has an expert profile",
                                expert.user_id
                            ),
                        }),
                        e => e.into(),
                    })?;
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    expert,
                    "expert.created",
                    pb::EventType::ExpertCreated,
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }

    pub(crate) async fn get_expert(
        &self,
        caller: Caller,
        req: pb::GetExpertRequest,
    ) -> Result<pb::Expert, ApiError> {
        let id = parse_expert_name(&req.name, "name")?;
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let expert = rows::get_expert(&mut conn, &id)
            .await?
            .filter(|e| caller.is_admin() || e.user_id == caller.user_id)
            .ok_or_else(|| DomainError::not_found(&req.name))?;
        drop(conn);
        Ok(expert_to_proto(
            &expert,
            self.current_load(&expert.id).await?,
        ))
    }

    pub(crate) async fn list_experts(
        &self,
        caller: Caller,
        req: pb::ListExpertsRequest,
    ) -> Result<pb::ListExpertsResponse, ApiError> {
        jiebang_domain::challenge::access::ensure_admin(&caller, "list the expert pool")?;
        let size = page_size(req.page_size, 20, 100)?;
        let affiliation = if req.affiliation.is_empty() {
            None
        } else {
            Some(
                Collection::Organizations
                    .parse(&req.affiliation, "affiliation")?
                    .to_owned(),
            )
        };
        let filters = format!(
            "field={};kw={};av={};aff={}",
            req.field_of_expertise, req.keyword, req.availability, req.affiliation
        );
        let cursor = decode_token(&req.page_token, &filters)?;
        let mut fetched = rows::list_experts(
            &self.platform().store,
            affiliation.as_deref(),
            cursor.as_deref(),
            size + 1,
        )
        .await?;
        // The token follows the last row examined, so filtering here never skips a row; a page
        // may come back shorter than asked (AIP-158 allows it).
        let more = fetched.len() as i64 > size;
        fetched.truncate(usize::try_from(size).unwrap_or(0));
        let next_page_token = if more {
            fetched
                .last()
                .map(|e| jiebang_grpc::paging::encode_token(&e.id, &filters))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut conn = self
            .platform()
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let loads = rows::open_loads(&mut conn).await?;
        drop(conn);
        let experts = fetched
            .iter()
            .filter(|e| {
                req.field_of_expertise.is_empty() || e.fields.contains(&req.field_of_expertise)
            })
            .filter(|e| req.keyword.is_empty() || e.keywords.iter().any(|k| k == &req.keyword))
            .filter(|e| {
                req.availability == 0
                    || availability_from_proto(req.availability) == Some(e.availability)
            })
            .map(|e| {
                expert_to_proto(
                    e,
                    loads
                        .iter()
                        .find(|(id, _)| id == &e.id)
                        .map_or(0, |(_, n)| *n),
                )
            })
            .collect();
        Ok(pb::ListExpertsResponse {
            experts,
            next_page_token,
        })
    }

    pub(crate) async fn update_expert(
        &self,
        caller: Caller,
        req: pb::UpdateExpertRequest,
    ) -> Result<pb::Expert, ApiError> {
        let input = req
            .expert
            .clone()
            .ok_or_else(|| DomainError::invalid("expert", "must be set"))?;
        let id = parse_expert_name(&input.name, "expert.name")?;
        if input.etag.is_empty() {
            return Err(DomainError::invalid("expert.etag", "is required for updates").into());
        }
        let paths = req.update_mask.clone().map(|m| m.paths).unwrap_or_default();
        let mut v = Violations::new();
        v.require(
            !paths.is_empty(),
            "update_mask",
            "must name the fields to update",
        );
        for (i, p) in paths.iter().enumerate() {
            let admin_only = matches!(p.as_str(), "affiliation" | "max_load");
            let known = admin_only
                || matches!(
                    p.as_str(),
                    "fields_of_expertise" | "keywords" | "availability" | "unavailable_until"
                );
            v.require(
                known,
                format!("update_mask.paths[{i}]"),
                format!("`{p}` is not an updatable field of an expert"),
            );
            if admin_only && !caller.is_admin() {
                return Err(DomainError::denied(
                    "ADMIN_ROLE_REQUIRED",
                    format!("only the bureau changes `{p}`"),
                )
                .into());
            }
        }
        v.into_result()?;
        let idem = Idempotency::new(
            &caller,
            &req.request_id,
            "/jiebang.v1.ReviewService/UpdateExpert",
            digest(&pb::UpdateExpertRequest {
                request_id: String::new(),
                ..req.clone()
            }),
        )?;
        let (platform, caller, idem, input, paths, id) =
            (self.platform(), &caller, &idem, &input, &paths, &id);
        platform
            .mutate(idem, move || async move {
                let mut conn = platform
                    .store
                    .pool()
                    .acquire()
                    .await
                    .map_err(StoreError::from)?;
                let current = rows::get_expert(&mut conn, id)
                    .await?
                    .filter(|e| caller.is_admin() || e.user_id == caller.user_id)
                    .ok_or_else(|| DomainError::not_found(&input.name))?;
                drop(conn);
                if current.version.to_string() != input.etag {
                    return Err(DomainError::stale_etag(&input.name).into());
                }
                let mut next = current.clone();
                for p in paths {
                    match p.as_str() {
                        "fields_of_expertise" => next.fields = input.fields_of_expertise.clone(),
                        "keywords" => next.keywords = input.keywords.clone(),
                        "availability" => {
                            next.availability = availability_from_proto(input.availability)
                                .ok_or_else(|| {
                                    DomainError::invalid("expert.availability", "must be set")
                                })?;
                        }
                        "unavailable_until" => {
                            next.unavailable_until = optional_time(
                                input.unavailable_until.as_ref(),
                                "expert.unavailable_until",
                            )?
                        }
                        "affiliation" => {
                            next.affiliation_id = Collection::Organizations
                                .parse(&input.affiliation, "expert.affiliation")?
                                .to_owned()
                        }
                        "max_load" => next.max_load = input.max_load,
                        _ => {}
                    }
                }
                next.validate().map_err(|e| e.within("expert"))?;
                next.updated_at = platform.now();
                next.version += 1;
                let response = expert_to_proto(&next, 0);
                let mut tx = platform.store.begin().await?;
                rows::update_expert(&mut tx, &next, current.version).await?;
                commit(
                    platform,
                    tx,
                    caller,
                    idem,
                    &next,
                    "expert.updated",
                    pb::EventType::ExpertUpdated,
                    &response,
                )
                .await?;
                Ok(response)
            })
            .await
    }
}

#[allow(clippy::too_many_arguments)]
async fn commit(
    platform: &Platform,
    tx: jiebang_storage::Tx,
    caller: &Caller,
    idem: &Idempotency,
    expert: &Expert,
    action: &'static str,
    event_type: pb::EventType,
    response: &pb::Expert,
) -> Result<(), ApiError> {
    let change = ChangeBuilder {
        at: expert.updated_at,
        actor: caller.actor(),
        action,
        event_type,
        resource: expert.name(),
        chain: None,
        state: String::new(),
        summary: expert.display_name.clone(),
        audience: &[Audience::User(expert.user_id.clone())],
        idempotency: idem,
    }
    .build(response);
    platform.commit(tx, &change).await
}
