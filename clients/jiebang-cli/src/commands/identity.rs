//! `jiebang org …` and `jiebang user …`.

use super::{Context, request_id, resource_name};
use crate::challenge_file::organization_type;
use crate::views::{OrganizationView, UserView, organizations_table, users_table};
use anyhow::Result;
use clap::Subcommand;
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (admin).
    Create {
        /// Display name, e.g. 华联电瓷股份有限公司.
        #[arg(long)]
        name: String,
        /// enterprise | university | institute | government | industry_body
        #[arg(long = "type")]
        org_type: String,
        /// 6-digit administrative division code, e.g. 330100.
        #[arg(long)]
        region: String,
        /// The 18-character unified social credit code.
        #[arg(long)]
        credit_code: String,
    },
    /// List organisations.
    List {
        #[arg(long = "type")]
        org_type: Option<String>,
    },
    /// Show one organisation.
    Show { name: String },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user (admin). The initial password is read from standard input's first line
    /// with --password-stdin, or prompted.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// admin | publisher | team_member | expert
        #[arg(long)]
        role: String,
        /// The organisation, e.g. organizations/0193….
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        phone: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (admins see all; others their own organisation).
    List {
        #[arg(long)]
        org: Option<String>,
    },
}

async fn client(ctx: &Context) -> Result<IdentityServiceClient<crate::client::Authed>> {
    Ok(IdentityServiceClient::new(ctx.connect().await?.authed()))
}

pub async fn org(ctx: &Context, command: OrgCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        OrgCommand::Create {
            name,
            org_type,
            region,
            credit_code,
        } => {
            let org = client
                .create_organization(pb::CreateOrganizationRequest {
                    organization: Some(pb::Organization {
                        display_name: name,
                        r#type: organization_type(&org_type)? as i32,
                        region,
                        unified_social_credit_code: credit_code,
                        ..Default::default()
                    }),
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .organization
                .unwrap_or_default();
            ctx.print(&OrganizationView::from(&org), || {
                organizations_table(std::slice::from_ref(&org))
            })
        }
        OrgCommand::List { org_type } => {
            let r#type = org_type
                .as_deref()
                .map(organization_type)
                .transpose()?
                .map_or(0, |t| t as i32);
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_organizations(pb::ListOrganizationsRequest {
                        page_size: 100,
                        page_token,
                        r#type,
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                all.extend(page.organizations);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let views: Vec<_> = all.iter().map(OrganizationView::from).collect();
            ctx.print(&views, || organizations_table(&all))
        }
        OrgCommand::Show { name } => {
            let org = client
                .get_organization(pb::GetOrganizationRequest {
                    name: resource_name("organizations", &name),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .organization
                .unwrap_or_default();
            ctx.print(&OrganizationView::from(&org), || {
                organizations_table(std::slice::from_ref(&org))
            })
        }
    }
}

fn role(text: &str) -> Result<pb::Role> {
    Ok(match text {
        "admin" => pb::Role::Admin,
        "publisher" => pb::Role::Publisher,
        "team_member" | "team" => pb::Role::TeamMember,
        "expert" => pb::Role::Expert,
        other => {
            anyhow::bail!("`{other}` is not a role; use admin, publisher, team_member or expert")
        }
    })
}

pub async fn user(ctx: &Context, command: UserCommand) -> Result<()> {
    let mut client = client(ctx).await?;
    match command {
        UserCommand::Create {
            username,
            display_name,
            role: role_text,
            org,
            email,
            phone,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                rpassword::prompt_password("initial password: ")?
            };
            let user = client
                .create_user(pb::CreateUserRequest {
                    user: Some(pb::User {
                        username,
                        display_name,
                        role: role(&role_text)? as i32,
                        organization: resource_name("organizations", &org),
                        email,
                        phone,
                        ..Default::default()
                    }),
                    initial_password: password,
                    request_id: request_id(),
                })
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner()
                .user
                .unwrap_or_default();
            ctx.print(&UserView::from(&user), || {
                users_table(std::slice::from_ref(&user))
            })
        }
        UserCommand::List { org } => {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = client
                    .list_users(pb::ListUsersRequest {
                        page_size: 100,
                        page_token,
                        organization: org
                            .as_deref()
                            .map(|o| resource_name("organizations", o))
                            .unwrap_or_default(),
                        role: 0,
                    })
                    .await
                    .map_err(|s| ctx.fail(s))?
                    .into_inner();
                all.extend(page.users);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let views: Vec<_> = all.iter().map(UserView::from).collect();
            ctx.print(&views, || users_table(&all))
        }
    }
}
