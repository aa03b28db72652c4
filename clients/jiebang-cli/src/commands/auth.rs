//! Logging in and out, and passwords.

use super::{Context, request_id};
use crate::client::Credentials;
use crate::views::{OrganizationView, UserView};
use anyhow::{Context as _, Result};
use jiebang_proto::v1 as pb;
use jiebang_proto::v1::identity_service_client::IdentityServiceClient;
use std::io::BufRead;

#[derive(clap::Args)]
pub struct LoginArgs {
    /// Your username.
    username: String,
    /// Read the password from the first line of standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(clap::Args)]
pub struct PasswdArgs {
    /// Read the current and the new password from the first two lines of standard input.
    #[arg(long)]
    password_stdin: bool,
}

fn read_secret(prompt: &str, from_stdin: bool) -> Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        rpassword::prompt_password(prompt).context("cannot read the password from the terminal")
    }
}

pub async fn login(ctx: &Context, args: LoginArgs) -> Result<()> {
    let password = read_secret("password: ", args.password_stdin)?;
    let conn = ctx.connect().await?;
    let response = IdentityServiceClient::new(conn.channel.clone())
        .login(pb::LoginRequest {
            username: args.username,
            password,
        })
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let mut credentials = Credentials::load()?;
    credentials
        .tokens
        .insert(ctx.server.clone(), response.access_token);
    let path = credentials.save()?;
    let user = response.user.unwrap_or_default();
    eprintln!(
        "logged in to {} as {} ({}); token kept in {}",
        ctx.server,
        user.username,
        UserView::from(&user).role,
        path.display()
    );
    Ok(())
}

pub fn logout(ctx: &Context) -> Result<()> {
    let mut credentials = Credentials::load()?;
    if credentials.tokens.remove(&ctx.server).is_some() {
        credentials.save()?;
        eprintln!("logged out of {}", ctx.server);
    } else {
        eprintln!("no token was kept for {}", ctx.server);
    }
    Ok(())
}

pub async fn whoami(ctx: &Context) -> Result<()> {
    let conn = ctx.connect().await?;
    let me = IdentityServiceClient::new(conn.authed())
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    #[derive(serde::Serialize)]
    struct Me {
        user: UserView,
        organization: Option<OrganizationView>,
    }
    let view = Me {
        user: UserView::from(&me.user.unwrap_or_default()),
        organization: me.organization.as_ref().map(OrganizationView::from),
    };
    ctx.print(&view, || {
        format!(
            "{} ({}), {} of {}",
            view.user.display_name,
            view.user.username,
            view.user.role,
            view.organization
                .as_ref()
                .map_or("?", |o| o.display_name.as_str())
        )
    })
}

pub async fn passwd(ctx: &Context, args: PasswdArgs) -> Result<()> {
    let current = read_secret("current password: ", args.password_stdin)?;
    let new = read_secret("new password: ", args.password_stdin)?;
    let conn = ctx.connect().await?;
    IdentityServiceClient::new(conn.authed())
        .change_password(pb::ChangePasswordRequest {
            current_password: current,
            new_password: new,
            request_id: request_id(),
        })
        .await
        .map_err(|s| ctx.fail(s))?;
    eprintln!("password changed");
    Ok(())
}
