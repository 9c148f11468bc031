//! Search and outbox figures for `make bench`, one JSON object per line on stdout:
//!
//! - `search_p50_ms`, `search_p99_ms_100k`: 1,000 mixed queries (names in both orders, typos,
//!   1–2 letter prefixes, phones in several formats, dates in three formats, MRNs and ids) over
//!   100,000 generated patients; `search_p99_ms_1m` (and `search_p50_ms_1m`) the same over
//!   1,000,000. Set `FRONTDESK_BENCH_SKIP_1M=1` to stop at 100,000.
//! - `search_vs_like_ratio`: mean time of `LIKE '%word%'` on first and last name (ranked the
//!   same way, most recent visit first) over mean search time, same words, same 100,000 rows.
//! - `outbox_enqueue_p99_ms`: 1,000 enqueues, each a durable (synchronous=FULL) commit.
//!
//! Progress goes to stderr. Data is generated from a fixed seed, so runs compare.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use frontdesk_store::{DataDir, EntityKind, NewOutboxEntry, Store, StoreOptions};
use practice_studio::model::{
    Address, ContactInfo, Gender, Patient, PatientId, PatientLinks, PatientStatus,
};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const KEY: [u8; 32] = [0x5a; 32];
const QUERIES: usize = 1_000;
const BATCH: usize = 10_000;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Edward",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Timothy",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Shirley",
    "Eric",
    "Angela",
    "Jonathan",
    "Helen",
    "Stephen",
    "Anna",
    "Larry",
    "Brenda",
    "Justin",
    "Pamela",
    "Scott",
    "Nicole",
    "Brandon",
    "Emma",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Frank",
    "Debra",
    "Alexander",
    "Rachel",
    "Raymond",
    "Catherine",
    "Patrick",
    "Carolyn",
    "Jack",
    "Janet",
    "Dennis",
    "Ruth",
    "Jerry",
    "Maria",
    "Tyler",
    "Heather",
    "Aaron",
    "Diane",
    "Jose",
    "Virginia",
    "Adam",
    "Julie",
    "Henry",
    "Joyce",
    "Nathan",
    "Victoria",
    "Douglas",
    "Olivia",
    "Zachary",
    "Kelly",
    "Peter",
    "Christina",
    "Kyle",
    "Lauren",
    "Walter",
    "Joan",
    "Ethan",
    "Evelyn",
    "Jeremy",
    "Judith",
    "Harold",
    "Megan",
    "Keith",
    "Cheryl",
    "Christian",
    "Andrea",
    "Roger",
    "Hannah",
    "Noah",
    "Martha",
    "Gerald",
    "Jacqueline",
    "Carl",
    "Frances",
    "Terry",
    "Gloria",
    "Sean",
    "Ann",
    "Austin",
    "Teresa",
    "Arthur",
    "Kathryn",
    "Lawrence",
    "Sara",
    "Jesse",
    "Janice",
    "Dylan",
    "Jean",
    "Bryan",
    "Alice",
    "Joe",
    "Madison",
    "Jordan",
    "Doris",
    "Billy",
    "Abigail",
    "Bruce",
    "Julia",
    "Albert",
    "Judy",
    "Willie",
    "Grace",
    "Gabriel",
    "Denise",
    "Logan",
    "Amber",
    "Alan",
    "Marilyn",
    "Juan",
    "Beverly",
    "Wayne",
    "Danielle",
    "Roy",
    "Theresa",
    "Ralph",
    "Sophia",
    "Randy",
    "Marie",
    "Eugene",
    "Diana",
    "Vincent",
    "Brittany",
    "Russell",
    "Natalie",
    "Elijah",
    "Isabella",
    "Louis",
    "Charlotte",
    "Bobby",
    "Rose",
    "Philip",
    "Alexis",
    "Johnny",
    "Kayla",
    "Li",
    "Wei",
    "Ana",
    "Jo",
    "Al",
    "Ed",
    "Mo",
    "Yu",
];
const LAST_START: &[&str] = &[
    "Smith", "John", "Will", "Brown", "Jon", "Gar", "Mill", "Dav", "Rod", "Mart", "Hern", "Lop",
    "Gonz", "Wil", "And", "Thom", "Tay", "Moor", "Jack", "Lee", "Per", "Whit", "Harr", "Sanch",
    "Clark", "Ram", "Lew", "Rob", "Walk", "Young", "All", "King", "Wright", "Scott", "Torr",
    "Nguy", "Hill", "Flor", "Green", "Adam", "Nel", "Bak", "Hall", "Riv", "Camp", "Mitch",
    "Carter", "Rob", "Gomez", "Phill", "Ev", "Turn", "Diaz", "Park", "Cruz", "Edw", "Coll", "Rey",
    "Stew", "Morr", "Mor", "Murph", "Cook", "Rog", "Gut", "Ortiz", "Morg", "Coop", "Pet", "Bail",
    "Reed", "Kel", "Howe", "Ram", "Kim", "Cox", "Ward", "Rich", "Wat", "Brook", "Chav", "Wood",
    "Jam", "Benn", "Gray", "Mend", "Ruiz", "Hugh", "Price", "Alv", "Cast", "Sand", "Pat", "Myer",
    "Long", "Ross", "Fost", "Quack", "Lind", "Berg", "Kowal", "Novak", "Schm", "Wein", "Fisch",
    "Hoff", "Krau", "Zimm", "Brauer",
];
const LAST_END: &[&str] = &[
    "", "son", "s", "er", "ez", "ton", "man", "berg", "ley", "ford", "field", "well", "ski", "ov",
    "ova", "ich", "ins", "ams", "ard", "ell", "en", "ers", "ing", "ett", "quist", "stein", "wood",
    "worth", "bury", "ridge", "enbush", "ian", "idis", "oulos", "elli", "etti", "ero",
];

/// A small deterministic generator (SplitMix64): the same data every run, no dependency.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed towards the start of a list, as real name frequencies are.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as usize % n
    }
}

fn generate(n: usize, rng: &mut Seeded) -> Patient {
    let first = FIRST[rng.skewed(FIRST.len())].to_owned();
    let last = format!(
        "{}{}",
        LAST_START[rng.skewed(LAST_START.len())],
        LAST_END[rng.below(LAST_END.len())]
    );
    let id = PatientId(format!("PAT-{n:07}"));
    let phone = format!(
        "({}{:02}) {:03}-{:04}",
        2 + rng.below(8),
        rng.below(100),
        rng.below(1000),
        rng.below(10_000)
    );
    let date_of_birth = NaiveDate::from_ymd_opt(
        1930 + rng.below(90) as i32,
        1 + rng.below(12) as u32,
        1 + rng.below(28) as u32,
    )
    .unwrap_or_default();
    let stamp = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    Patient {
        links: PatientLinks::for_patient(&id),
        id,
        mrn: format!("MRN{n:08}"),
        first_name: first.clone(),
        last_name: last,
        date_of_birth,
        gender: Gender::U,
        status: PatientStatus::Active,
        contact_info: ContactInfo {
            email: Some(format!("{}.{n}@example.org", first.to_lowercase())),
            phone: Some(phone),
            address: Some(Address {
                line1: format!("{} Oak Street", 1 + rng.below(9999)),
                line2: None,
                city: "Springfield".to_owned(),
                state: "IL".to_owned(),
                postal_code: format!("{:05}", rng.below(100_000)),
                country: None,
            }),
        },
        insurance: None,
        emergency_contact: None,
        preferred_language: None,
        preferred_pharmacy: None,
        allergies: None,
        version: 1,
        created: stamp,
        updated: stamp,
    }
}

async fn fill(store: &Store, from: usize, to: usize, rng: &mut Seeded) -> Vec<Patient> {
    let started = Instant::now();
    let mut sample = Vec::new();
    let mut n = from;
    while n < to {
        let end = (n + BATCH).min(to);
        let batch: Vec<Patient> = (n..end).map(|i| generate(i, rng)).collect();
        let seen: Vec<_> = batch
            .iter()
            .map(|p| {
                // Four in five were seen in the last two years; the rest never.
                let visit = (rng.below(5) > 0).then(|| {
                    Utc.timestamp_opt(1_700_000_000 + rng.below(63_000_000) as i64, 0)
                        .single()
                        .unwrap_or_default()
                });
                (p, visit)
            })
            .collect();
        if let Err(e) = store.upsert_patients_seen(&seen).await {
            eprintln!("bench: storing patients failed: {e}");
            std::process::exit(1);
        }
        for p in batch.iter().step_by(97) {
            sample.push(p.clone());
        }
        n = end;
        if n.is_multiple_of(100_000) {
            eprintln!(
                "bench: {n} patients stored ({:.0}/s)",
                (n - from) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    sample
}

fn swap_two(word: &str, rng: &mut Seeded) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() >= 4 {
        let i = 1 + rng.below(chars.len() - 2);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// The mix a desk types: names, typos, prefixes, phones, dates, MRNs and ids.
fn queries(sample: &[Patient], rng: &mut Seeded, count: usize) -> Vec<String> {
    (0..count)
        .map(|_| {
            let p = &sample[rng.below(sample.len())];
            let phone = p.contact_info.phone.clone().unwrap_or_default();
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            let dob = p.date_of_birth;
            match rng.below(20) {
                0..=3 => format!("{} {}", p.first_name, p.last_name),
                4..=5 => format!("{} {}", p.last_name, p.first_name),
                6..=8 => format!(
                    "{} {}",
                    swap_two(&p.first_name, rng),
                    swap_two(&p.last_name, rng)
                ),
                9..=10 => {
                    let two: String = p.first_name.chars().take(2).collect();
                    format!("{} {two}", p.last_name)
                }
                11 => p.last_name.chars().take(1 + rng.below(2)).collect(),
                12 => p.last_name.chars().take(3).collect(),
                13 => digits.clone(),
                14 => format!("+1 {phone}"),
                15 => digits[digits.len().saturating_sub(7)..].to_owned(),
                16 => dob.format("%Y-%m-%d").to_string(),
                17 => dob.format("%m/%d/%Y").to_string(),
                18 => dob.format("%d.%m.%Y").to_string(),
                _ if rng.below(2) == 0 => p.mrn.clone(),
                _ => p.id.to_string(),
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn figure(name: &str, value: f64, unit: &str) {
    println!(r#"{{"name":"{name}","value":{value:.3},"unit":"{unit}"}}"#);
}

async fn time_searches(store: &Store, queries: &[String]) -> Vec<Duration> {
    let mut times = Vec::with_capacity(queries.len());
    let mut empty = 0;
    for q in queries {
        let started = Instant::now();
        match store.search_patients(q, 20).await {
            Ok(hits) => {
                times.push(started.elapsed());
                if hits.is_empty() {
                    empty += 1;
                }
            }
            Err(e) => {
                eprintln!("bench: search failed: {e}");
                std::process::exit(1);
            }
        }
    }
    eprintln!("bench: {empty} of {} queries found nobody", queries.len());
    times.sort();
    times
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bench: no temporary directory: {e}");
            std::process::exit(1);
        }
    };
    let data = match DataDir::open(tmp.path().join("desk")) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    };
    let store = match Store::open_with(&data, KEY, StoreOptions::default()).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(1);
        }
    };
    let mut rng = Seeded(42);

    // 100k.
    let sample = fill(&store, 0, 100_000, &mut rng).await;
    let warm = queries(&sample, &mut rng, 200);
    time_searches(&store, &warm).await;
    let mix = queries(&sample, &mut rng, QUERIES);
    let times = time_searches(&store, &mix).await;
    figure("search_p50_ms", percentile(&times, 0.5), "ms");
    figure("search_p99_ms_100k", percentile(&times, 0.99), "ms");

    // The same words, LIKE '%word%' against search, over the same rows.
    let words: Vec<String> = (0..50)
        .map(|i| {
            let p = &sample[(i * 37) % sample.len()];
            if i % 2 == 0 {
                p.last_name.clone()
            } else {
                p.first_name.clone()
            }
        })
        .collect();
    let like = match SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(store.path())
                .pragma(
                    "key",
                    format!(
                        "\"x'{}'\"",
                        KEY.iter().map(|b| format!("{b:02x}")).collect::<String>()
                    ),
                )
                .read_only(true)
                .pragma("cache_size", "-65536"),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench: cannot open the cache for LIKE: {e}");
            std::process::exit(1);
        }
    };
    let mut like_total = Duration::ZERO;
    let mut search_total = Duration::ZERO;
    for word in &words {
        let pattern = format!("%{word}%");
        let started = Instant::now();
        let rows = sqlx::query(
            "SELECT pk FROM patients WHERE first_name LIKE ?1 OR last_name LIKE ?1
             ORDER BY recency DESC LIMIT 20",
        )
        .bind(&pattern)
        .fetch_all(&like)
        .await;
        like_total += started.elapsed();
        if let Err(e) = rows {
            eprintln!("bench: LIKE failed: {e}");
            std::process::exit(1);
        }
        let started = Instant::now();
        if let Err(e) = store.search_patients(word, 20).await {
            eprintln!("bench: search failed: {e}");
            std::process::exit(1);
        }
        search_total += started.elapsed();
    }
    like.close().await;
    eprintln!(
        "bench: mean over {} words: LIKE {:.2} ms, search {:.3} ms",
        words.len(),
        like_total.as_secs_f64() * 1000.0 / words.len() as f64,
        search_total.as_secs_f64() * 1000.0 / words.len() as f64
    );
    figure(
        "search_vs_like_ratio",
        like_total.as_secs_f64() / search_total.as_secs_f64().max(1e-9),
        "x",
    );

    // Durable enqueues.
    let mut enqueue = Vec::with_capacity(1_000);
    for i in 0..1_000 {
        let entry = NewOutboxEntry {
            idempotency_key: format!("bench-{i}"),
            request_id: format!("req-{i}"),
            author: "u-bench".to_owned(),
            entity_kind: EntityKind::Appointment,
            entity_id: format!("APPT-{i}"),
            operation: "book".to_owned(),
            payload: serde_json::json!({ "patientId": "PAT-0000001", "slot": i }),
            base_version: None,
            refs: vec!["patient:PAT-0000001".to_owned()],
        };
        let started = Instant::now();
        if let Err(e) = store.enqueue(&entry).await {
            eprintln!("bench: enqueue failed: {e}");
            std::process::exit(1);
        }
        enqueue.push(started.elapsed());
    }
    enqueue.sort();
    figure("outbox_enqueue_p99_ms", percentile(&enqueue, 0.99), "ms");

    if std::env::var("FRONTDESK_BENCH_SKIP_1M").is_ok_and(|v| v == "1") {
        eprintln!("bench: 1M figure skipped (FRONTDESK_BENCH_SKIP_1M=1)");
        return;
    }
    let mut sample = sample;
    sample.extend(fill(&store, 100_000, 1_000_000, &mut rng).await);
    let warm = queries(&sample, &mut rng, 200);
    time_searches(&store, &warm).await;
    let mix = queries(&sample, &mut rng, QUERIES);
    let times = time_searches(&store, &mix).await;
    figure("search_p50_ms_1m", percentile(&times, 0.5), "ms");
    figure("search_p99_ms_1m", percentile(&times, 0.99), "ms");
}
