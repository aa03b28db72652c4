//! `jiebang demo`: one complete round of 揭榜挂帅 played against a real server, stage by
//! stage, by the people who live it — the bureau, two publishers, six teams, ten experts.
//!
//! The round needs months to pass (an application window, a public notice, milestones a year
//! apart), so the server must run on its demo clock (`JIEBANG_DEMO_CLOCK=true`), which the
//! bureau moves forward through `ClockService`. People and organisations are found again on a
//! second run; each run publishes new challenges in a round of its own.

mod award;
mod data;
mod projects;
mod round;
mod session;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use jiebang_proto::v1 as pb;
use session::{Person, Session, Step};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// The bureau's `admin` password (the server's JIEBANG_BOOTSTRAP_ADMIN_PASSWORD).
    #[arg(long, env = "JIEBANG_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: String,
}

/// The stages, in the order the round lives them.
const STAGES: &[&str] = &[
    "The city's organisations, publishers, teams and expert pool",
    "Challenges (榜单): drafted, approved by the bureau, published",
    "Teams apply (揭榜) with a plan, a budget and the pledge (军令状)",
    "The deadline passes; the bureau's formal check (形式审查)",
    "Expert review: conflict-free assignment, blind scoring, ranking",
    "Public notice (公示), an objection, appointment (挂帅)",
    "Mid-term milestones: acceptance (验收) and the horse race's cut",
    "Final milestones: one rework, then acceptance and the last tranches",
    "The audit chain is verified end to end",
];

pub async fn run(server: &str, args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let session = Session::connect(server).await?;
    let admin = Person {
        username: "admin".into(),
        password: args.admin_password,
        display_name: "科技局".into(),
        user: String::new(),
        org: String::new(),
        org_name: "科技局".into(),
    };
    let clock = session
        .as_(&admin)
        .await?
        .clock
        .get_clock(pb::GetClockRequest {})
        .await
        .step(&session, "read the server's clock")?;
    if !clock.adjustable {
        bail!(
            "the server at {server} runs on the wall clock, so the demo cannot live through \
             an application window, a public notice and two years of milestones. Start a \
             demo server with JIEBANG_DEMO_CLOCK=true (never in production), e.g.\n  \
             JIEBANG_DEMO_CLOCK=true JIEBANG_DATA_DIR=/tmp/jiebang-demo \
             JIEBANG_BOOTSTRAP_ADMIN_PASSWORD=… cargo run -p jiebang-server"
        );
    }
    let round = round_label(clock.now.as_ref());
    println!("jiebang demo — a round of 揭榜挂帅 on {server}, round {round}");
    let bar = progress_bar();
    let mut demo = round::Demo::new(session, admin, round, bar.clone());
    for (index, title) in STAGES.iter().enumerate() {
        bar.set_position(index as u64 + 1);
        bar.set_message(*title);
        bar.suspend(|| println!("\n[{}/{}] {title}", index + 1, STAGES.len()));
        let outcome = match index {
            0 => demo.people().await,
            1 => demo.challenges().await,
            2 => demo.applications().await,
            3 => demo.deadline().await,
            4 => demo.review().await,
            5 => demo.notice_and_appointment().await,
            6 => demo.mid_term().await,
            7 => demo.final_acceptance().await,
            _ => demo.audit().await,
        };
        if let Err(e) = outcome {
            bar.abandon();
            return Err(e.context(format!("the demo stopped at stage {}: {title}", index + 1)));
        }
    }
    bar.finish_and_clear();
    println!("\n{}", demo.summary());
    println!(
        "Finished in {:.1} s of real time; the demo clock moved {} days.",
        started.elapsed().as_secs_f64(),
        demo.days_moved()
    );
    Ok(())
}

/// A round of its own for every run: `demo-YYYYMMDD-xxxx`.
fn round_label(now: Option<&prost_types::Timestamp>) -> String {
    let date = crate::views::time(now)
        .get(..10)
        .unwrap_or("0000-00-00")
        .replace('-', "");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    format!("demo-{date}-{suffix}")
}

fn progress_bar() -> ProgressBar {
    let bar =
        ProgressBar::with_draw_target(Some(STAGES.len() as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} stage {pos}/{len} {wide_msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
