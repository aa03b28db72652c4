//! `jiebang`: the command-line client of the jiebang (揭榜挂帅) platform.
//!
//! Every command is one or a few gRPC calls; results print as tables for people or, with
//! `--output json`, as JSON for scripts. Failures print what went wrong and how to fix it, and
//! exit with status 1.

mod application_file;
mod challenge_file;
mod client;
mod commands;
mod demo;
mod errors;
mod sheet_file;
mod views;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use views::Output;

#[derive(Parser)]
#[command(
    name = "jiebang",
    version,
    about = "Command-line client of the jiebang (揭榜挂帅) platform"
)]
pub struct Cli {
    /// The server to talk to.
    #[arg(
        long,
        global = true,
        env = "JIEBANG_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// How to print results.
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play a complete round of 揭榜挂帅 against a demo server (JIEBANG_DEMO_CLOCK=true).
    Demo(demo::DemoArgs),
    /// Log in and keep the access token for this server.
    Login(commands::auth::LoginArgs),
    /// Forget the access token for this server.
    Logout,
    /// Show who the stored token belongs to.
    Whoami,
    /// Change your own password.
    Passwd(commands::auth::PasswdArgs),
    /// Organisations (admins create them).
    #[command(subcommand, name = "org")]
    Organization(commands::identity::OrgCommand),
    /// Users (admins create them).
    #[command(subcommand)]
    User(commands::identity::UserCommand),
    /// Challenges (榜单): draft, submit, approve, publish, cancel, list, show.
    #[command(subcommand)]
    Challenge(commands::challenge::ChallengeCommand),
    /// Applications (揭榜): create, edit, submit with the pledge, withdraw, formal check.
    #[command(subcommand)]
    Application(commands::application::ApplicationCommand),
    /// Documents: upload and download with progress, checked by SHA-256.
    #[command(subcommand)]
    Document(commands::document::DocumentCommand),
    /// The expert pool (admins).
    #[command(subcommand)]
    Expert(commands::review::ExpertCommand),
    /// Expert review: assignment, scoring, ranking, public notice, objections, appointment.
    #[command(subcommand)]
    Review(commands::review::ReviewCommand),
    /// Projects after appointment: plan, ledger, releases, the extension, failures.
    #[command(subcommand)]
    Project(commands::project::ProjectCommand),
    /// Milestones: reports, acceptance panels, votes and decisions (验收).
    #[command(subcommand)]
    Milestone(commands::project::MilestoneCommand),
    /// The horse race (赛马制): mid-term ranking and who continues.
    #[command(subcommand)]
    Race(commands::project::RaceCommand),
    /// The audit trail (admins).
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// The server's clock; a demo server's clock can be moved forward.
    #[command(subcommand)]
    Clock(commands::clock::ClockCommand),
    /// Follow events as they happen.
    #[command(subcommand)]
    Events(commands::events::EventsCommand),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = commands::Context {
        server: cli.server.clone(),
        output: cli.output,
    };
    match cli.command {
        Command::Demo(args) => demo::run(&ctx.server, args).await,
        Command::Login(args) => commands::auth::login(&ctx, args).await,
        Command::Logout => commands::auth::logout(&ctx),
        Command::Whoami => commands::auth::whoami(&ctx).await,
        Command::Passwd(args) => commands::auth::passwd(&ctx, args).await,
        Command::Organization(cmd) => commands::identity::org(&ctx, cmd).await,
        Command::User(cmd) => commands::identity::user(&ctx, cmd).await,
        Command::Challenge(cmd) => commands::challenge::run(&ctx, cmd).await,
        Command::Application(cmd) => commands::application::run(&ctx, cmd).await,
        Command::Document(cmd) => commands::document::run(&ctx, cmd).await,
        Command::Expert(cmd) => commands::review::expert(&ctx, cmd).await,
        Command::Review(cmd) => commands::review::run(&ctx, cmd).await,
        Command::Project(cmd) => commands::project::project(&ctx, cmd).await,
        Command::Milestone(cmd) => commands::project::milestone(&ctx, cmd).await,
        Command::Race(cmd) => commands::project::race(&ctx, cmd).await,
        Command::Audit(cmd) => commands::audit::run(&ctx, cmd).await,
        Command::Events(cmd) => commands::events::run(&ctx, cmd).await,
        Command::Clock(cmd) => commands::clock::run(&ctx, cmd).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Catches conflicting argument names and other definition mistakes of the command tree.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
