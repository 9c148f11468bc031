//! `make bench`: `slot_search_ms`, the desk's "next free slot" (`Desk::find_slots`, limit 1)
//! across every provider of the demo clinic at every location, over 60 days, computed locally
//! from the cached hours, breaks, time off and book (the server is not asked).
//!
//! The demo server on loopback fills a real encrypted cache through a first sync (the book's
//! window: 30 days back, 120 ahead). Then 400 searches, each from a different day, mixing
//! lengths (15 minutes to 8 hours: the longest fit nowhere, so those scan all 60 days of every
//! provider, the slowest case) and times of day. Prints `slot_search_p50_ms` and `slot_search_ms`
//! (p99) as JSON lines; the number of providers searched goes to stderr.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use frontdesk_core::appointment_book::{BookViewArgs, SlotSearchArgs, TimeOfDay};
use frontdesk_core::keychain::MemoryKeychain;
use frontdesk_core::session::Device;
use frontdesk_core::{Config, ConfigKey, ConfigLayers, Desk, DeskOptions, PinnedDayClock, Surface};
use frontdesk_store::DataDir;
use practice_studio_server::{Server, Today};

const TODAY: &str = "2026-11-23";
const SEARCHES: usize = 400;

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn figure(name: &str, value: f64, unit: &str) {
    println!(
        "{}",
        serde_json::json!({ "name": name, "value": (value * 1000.0).round() / 1000.0, "unit": unit })
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn desk(url: &str, home: &tempfile::TempDir, today: NaiveDate) -> Result<Desk, Failure> {
    let mut flags = BTreeMap::new();
    flags.insert(ConfigKey::ApiUrl, ("--api-url".to_owned(), url.to_owned()));
    let layers = ConfigLayers {
        managed_file: None,
        user_file: Some(home.path().join("user.toml")),
        env: BTreeMap::new(),
        flags,
    };
    let desk = Desk::new(DeskOptions {
        config: Config::load(&layers)?,
        clock: Arc::new(PinnedDayClock::new(today)),
        surface: Surface::Browser,
    })?;
    desk.attach_device(Device {
        data_dir: Arc::new(DataDir::open(home.path().join("desk"))?),
        keychain: Arc::new(MemoryKeychain::default()),
    });
    Ok(desk)
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let today: NaiveDate = TODAY.parse()?;
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .demo(true)
        .demo_patients(500)
        .today(Today::Fixed(today))
        .start()
        .await?;
    let home = tempfile::tempdir()?;
    let desk = desk(&server.url(), &home, today)?;
    desk.sign_in("reception@demo.clinic", "demo-password")
        .await?;
    let started = Instant::now();
    loop {
        if matches!(desk.sync_status().await, Ok(Some(v)) if v.status.first_sync_done) {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("the first sync did not finish in 10 minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = desk
        .book_view(&BookViewArgs {
            date: today,
            days: None,
            location_id: None,
            specialty: None,
            provider_ids: None,
        })
        .await?;
    eprintln!(
        "bench: slot search across {} providers (every location each works at), 60 days",
        view.providers.len()
    );

    let lengths = [15, 30, 45, 60, 90, 120, 240, 480];
    let times = [TimeOfDay::Any, TimeOfDay::Morning, TimeOfDay::Afternoon];
    let mut took = Vec::with_capacity(SEARCHES);
    let mut found = 0usize;
    for i in 0..SEARCHES {
        let args = SlotSearchArgs {
            provider_id: None,
            specialty: None,
            location_id: None,
            from: today + chrono::Duration::days((i % 60) as i64),
            days: Some(60),
            minutes: lengths[i % lengths.len()],
            time_of_day: Some(times[i % times.len()]),
            limit: Some(1),
        };
        let start = Instant::now();
        let slots = desk.find_slots(&args).await?;
        took.push(start.elapsed().as_secs_f64() * 1000.0);
        found += slots.len();
    }
    took.sort_by(|a, b| a.total_cmp(b));
    eprintln!("bench: {SEARCHES} searches, {found} found a slot");
    figure("slot_search_p50_ms", percentile(&took, 0.5), "ms");
    figure("slot_search_ms", percentile(&took, 0.99), "ms");
    Ok(())
}
