//! The blind view (DOMAIN.md, "Applying": experts see it without team identity where the
//! challenge is blind): the application with every organisation, person, contact, pledge
//! signer and document file name taken out.

use crate::convert::application_to_proto;
use crate::service::ApplicationApi;
use jiebang_domain::application::{Application, TeamRole};
use jiebang_domain::{Caller, DomainError};
use jiebang_grpc::{ApiError, Platform};
use jiebang_proto::v1 as pb;
use jiebang_storage::StoreError;
use jiebang_storage::documents;
use sqlx::Row;

fn role(role: TeamRole) -> i32 {
    match role {
        TeamRole::Lead => pb::TeamRole::Lead as i32,
        TeamRole::CoreMember => pb::TeamRole::CoreMember as i32,
        TeamRole::Member => pb::TeamRole::Member as i32,
    }
}

/// A neutral label, stable within the challenge: the application's position among the
/// challenge's applications in creation order, read on `conn`.
pub async fn label_in(
    conn: &mut sqlx::AnyConnection,
    application: &Application,
) -> Result<String, ApiError> {
    let row = sqlx::query("SELECT COUNT(*) FROM applications WHERE challenge_id = $1 AND id <= $2")
        .bind(&application.challenge_id)
        .bind(&application.id)
        .fetch_one(conn)
        .await
        .map_err(StoreError::from)?;
    let position: i64 = row.try_get(0).map_err(StoreError::from)?;
    Ok(label_at(position))
}

/// The label of the application at 1-based `position` among its challenge's applications in
/// id order (what [`label_in`] counts).
pub fn label_at(position: i64) -> String {
    format!("申报书 {position:02}")
}

/// The application without team identity. No access check: callers decide who may see it.
pub async fn blind_of(
    platform: &Platform,
    application: &Application,
) -> Result<pb::BlindApplication, ApiError> {
    let full = application_to_proto(application);
    let mut conn = platform
        .store
        .pool()
        .acquire()
        .await
        .map_err(StoreError::from)?;
    let mut blind_documents = Vec::new();
    for sha in &application.content.documents {
        let Some(doc) = documents::get(&mut conn, sha).await? else {
            continue;
        };
        let purpose = documents::uploads(&mut conn, sha)
            .await?
            .first()
            .map(|u| u.purpose.clone())
            .unwrap_or_default();
        blind_documents.push(pb::BlindDocument {
            document: format!("documents/{sha}"),
            purpose: pb::DocumentPurpose::from_str_name(&purpose)
                .map_or(pb::DocumentPurpose::Other as i32, |p| p as i32),
            media_type: doc.media_type,
            size_bytes: doc.size_bytes,
        });
    }
    let label = label_in(&mut conn, application).await?;
    drop(conn);
    Ok(pb::BlindApplication {
        application: full.name,
        challenge: full.challenge,
        label,
        title: full.title,
        technical_plan: full.technical_plan,
        requested_budget_fen: full.requested_budget_fen,
        signing_share_basis_points: full.signing_share_basis_points,
        proposed_milestones: full.proposed_milestones,
        partner_count: i32::try_from(application.content.partner_organization_ids.len())
            .unwrap_or(0),
        members: application
            .content
            .members
            .iter()
            .map(|m| pb::BlindTeamMember {
                role: role(m.role),
                duty: m.duty.clone(),
            })
            .collect(),
        documents: blind_documents,
    })
}

impl ApplicationApi {
    /// The blind view of an application the caller may see in full (the team, the bureau);
    /// experts reach the same view through their assignments.
    pub(crate) async fn blind_view(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<pb::BlindApplication, ApiError> {
        let (application, challenge) = self.load(caller, name).await?;
        if !challenge.spec.blind_review {
            return Err(DomainError::precondition(
                "CHALLENGE_NOT_BLIND",
                format!(
                    "{} is not reviewed blind; experts see the full application",
                    challenge.name()
                ),
            )
            .into());
        }
        blind_of(self.platform(), &application).await
    }
}
