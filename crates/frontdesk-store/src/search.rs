//! Patient search as a receptionist types: names in any order and with typos, MRN, id, phone in
//! any format, date of birth in three formats; best match first, then the most recent visit.
//!
//! How a name query runs: each typed word gets candidate name tokens from three indexes kept in
//! the encrypted database — a prefix range over distinct tokens, FTS5 trigrams over them
//! (substrings), and a SymSpell deletion table (typos: "jonh" shares no trigram with "john",
//! but both lose a letter to "jon"). The word with the fewest patients behind its tokens drives:
//! its postings are read most-recent-visit first, and every other word is checked against the
//! name carried in each posting, so the patients table is touched only for the final page.
//! One- and two-character words read a prefix index directly. A search runs on its own rusqlite
//! connection in the caller's thread (see `search_readers`): a one-word search that names a
//! whole first or last name is two index reads, which cost less than one hand-off to sqlx's
//! connection thread would.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use practice_studio::model::{PatientId, PatientStatus};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::CacheError;
use crate::patients::parse_status;
use crate::search_readers::read;
use crate::text::{self, NameToken};
use crate::Store;
use practice_studio::search::{best_match, match_term, plan, Plan, Term, TermMatch};

/// The most results one search returns.
pub const MAX_RESULTS: usize = 200;
/// Postings read for the driving word when other words must also match: past this many, the
/// remaining (least recently seen) patients are not considered. Bounds the worst case.
const MULTI_WORD_BUDGET: usize = 4_000;
/// Distinct tokens considered for one typed word.
const TOKENS_PER_WORD: usize = 64;

/// Which field of a result a highlighted span is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SearchField {
    Id,
    Mrn,
    FirstName,
    LastName,
    DateOfBirth,
    Phone,
}

/// A part of a result's field that matched the query, in `char`s of the field as returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchSpan {
    pub field: SearchField,
    pub start: usize,
    pub end: usize,
}

/// One patient found by [`Store::search_patients`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatientHit {
    pub id: PatientId,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: NaiveDate,
    pub mrn: String,
    pub phone: Option<String>,
    pub status: PatientStatus,
    pub last_visit: Option<DateTime<Utc>>,
    /// 2 for an exact id or MRN; otherwise 0..=1, how well the words matched.
    pub score: f64,
    pub spans: Vec<MatchSpan>,
}

/// A patient found before ranking.
#[derive(Debug, Clone)]
struct Found {
    pk: i64,
    score: f64,
    recency: i64,
    /// The result card when the index carried it (see `name_postings`).
    card: Option<String>,
}

/// A name token that may be what a typed word meant.
#[derive(Debug, Clone, Copy)]
struct CandidateToken {
    id: i64,
    score: f64,
    /// How many patients carry it.
    patients: i64,
}

/// A posting read from the index: a patient and the name it carries.
struct Posting {
    pk: i64,
    recency: i64,
    name_key: String,
    card: Option<String>,
}

type Conn = Connection;

impl Store {
    /// Finds patients as a receptionist types: see the module documentation. At most `limit`
    /// results (capped at [`MAX_RESULTS`]): exact id/MRN first, then the best match, then the
    /// most recent visit.
    pub async fn search_patients(
        &self,
        typed: &str,
        limit: usize,
    ) -> Result<Vec<PatientHit>, CacheError> {
        let limit = limit.clamp(1, MAX_RESULTS);
        let q = typed.trim();
        if q.is_empty() {
            return Ok(Vec::new());
        }
        self.search_readers.run(|conn| search(conn, q, limit)).await
    }
}

/// [`Store::search_patients`] on one connection, `q` trimmed and not empty.
fn search(conn: &Conn, q: &str, limit: usize) -> Result<Vec<PatientHit>, CacheError> {
    let mut found: HashMap<i64, Found> = HashMap::new();
    let mut keep = |f: Found| match found.entry(f.pk) {
        Entry::Occupied(mut e) => {
            if f.score > e.get().score {
                e.insert(f);
            }
        }
        Entry::Vacant(e) => {
            e.insert(f);
        }
    };

    let exact = exact_ids(conn, q)?;
    for f in &exact {
        keep(f.clone());
    }
    let plan = plan(q);
    match &plan {
        Plan::DateOfBirth(date) => {
            for p in by_date_of_birth(conn, *date, limit)? {
                keep(Found {
                    pk: p.pk,
                    score: 1.0,
                    recency: p.recency,
                    card: None,
                });
            }
        }
        Plan::Phone(digits) => {
            for f in by_phone(conn, digits)? {
                keep(f);
            }
        }
        Plan::Names {
            terms,
            date_of_birth,
        } => {
            for f in by_names(conn, terms, *date_of_birth, limit)? {
                keep(f);
            }
        }
    }

    let mut ranked: Vec<Found> = found.into_values().collect();
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.recency.cmp(&a.recency))
            .then(a.pk.cmp(&b.pk))
    });
    ranked.truncate(limit);
    let hits = load_hits(conn, &ranked)?;
    Ok(hits
        .into_iter()
        .map(|mut hit| {
            hit.spans = spans(&hit, q, &plan, exact.iter().any(|e| e.score > 1.0));
            hit
        })
        .collect())
}

/// A whole typed text equal to a patient's id or MRN.
fn exact_ids(conn: &Conn, q: &str) -> Result<Vec<Found>, CacheError> {
    if q.contains(char::is_whitespace) || !q.chars().any(|c| c.is_ascii_digit()) {
        return Ok(Vec::new());
    }
    let upper = q.to_uppercase();
    let mrn = text::mrn_key(q);
    let mut statement = conn
        .prepare_cached("SELECT pk, recency FROM patients WHERE id = ?1 OR id = ?2 OR mrn_key = ?3")
        .map_err(read("search patients by id"))?;
    let found = statement
        .query_map(params![q, upper, mrn], |r| {
            Ok(Found {
                pk: r.get(0)?,
                score: 2.0,
                recency: r.get(1)?,
                card: None,
            })
        })
        .and_then(Iterator::collect)
        .map_err(read("search patients by id"))?;
    Ok(found)
}

fn by_date_of_birth(
    conn: &Conn,
    date: NaiveDate,
    limit: usize,
) -> Result<Vec<Posting>, CacheError> {
    let date = date.format("%Y-%m-%d").to_string();
    let mut statement = conn
        .prepare_cached(
            "SELECT pk, recency, name_key FROM patients
             WHERE date_of_birth = ?1 ORDER BY recency DESC LIMIT ?2",
        )
        .map_err(read("search patients by date of birth"))?;
    let found = statement
        .query_map(params![date, limit as i64], |r| {
            Ok(Posting {
                pk: r.get(0)?,
                recency: r.get(1)?,
                name_key: r.get(2)?,
                card: None,
            })
        })
        .and_then(Iterator::collect)
        .map_err(read("search patients by date of birth"))?;
    Ok(found)
}

fn by_phone(conn: &Conn, digits: &str) -> Result<Vec<Found>, CacheError> {
    let low: String = digits.chars().rev().collect();
    // ':' sorts right after '9': every reversed number starting with these digits.
    let high = format!("{low}:");
    let mut statement = conn
        .prepare_cached(
            "SELECT pk, recency, phone_rev FROM patients
             WHERE phone_rev >= ?1 AND phone_rev < ?2 ORDER BY recency DESC LIMIT ?3",
        )
        .map_err(read("search patients by phone"))?;
    let found = statement
        .query_map(params![low, high, MULTI_WORD_BUDGET as i64], |r| {
            let phone_rev: String = r.get(2)?;
            Ok(Found {
                pk: r.get(0)?,
                score: if phone_rev == low { 1.0 } else { 0.8 },
                recency: r.get(1)?,
                card: None,
            })
        })
        .and_then(Iterator::collect)
        .map_err(read("search patients by phone"))?;
    Ok(found)
}

/// The candidate tokens of one typed word (3 characters or more), from the three indexes in
/// one statement: the prefix range, the deletion table (typos) and FTS5 trigrams (substrings).
/// Every value is bound: `?1`/`?2` the range, `?3` the deletion variants as a JSON array, `?4`
/// the word as an FTS5 phrase.
pub(crate) const CANDIDATE_TOKENS: &str = "SELECT token_id, token, patients
    FROM (SELECT token_id, token, patients FROM name_tokens
          WHERE token >= ?1 AND token < ?2 LIMIT 512)
    UNION
    SELECT t.token_id, t.token, t.patients
    FROM name_token_deletes d JOIN name_tokens t ON t.token_id = d.token_id
    WHERE d.variant IN (SELECT value FROM json_each(?3))
    UNION
    SELECT t.token_id, t.token, t.patients
    FROM (SELECT rowid FROM name_tokens_fts WHERE name_tokens_fts MATCH ?4 LIMIT 512) f
    JOIN name_tokens t ON t.token_id = f.rowid";

/// The values bound to [`CANDIDATE_TOKENS`]'s `?1` to `?4` for a word.
fn candidate_binds(term: &Term) -> Result<[String; 4], CacheError> {
    let variants: Vec<String> = if term.typos > 0 {
        text::deletions(&term.text, term.typos, text::DELETION_MIN_CHARS)
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let variants = serde_json::to_string(&variants).map_err(|source| CacheError::Encode {
        what: "search",
        id: String::new(),
        source,
    })?;
    Ok([
        term.text.clone(),
        format!("{}\u{10FFFF}", term.text),
        variants,
        format!("\"{}\"", term.text.replace('"', "")),
    ])
}

/// The tokens a typed word (3 characters or more) may have meant, scored, best first.
fn tokens_for(conn: &Conn, term: &Term) -> Result<Vec<CandidateToken>, CacheError> {
    let binds = candidate_binds(term)?;
    let mut statement = conn
        .prepare_cached(CANDIDATE_TOKENS)
        .map_err(read("search name tokens"))?;
    let mut rows = statement
        .query(params_from_iter(binds.iter()))
        .map_err(read("search name tokens"))?;
    let mut tokens: HashMap<i64, (f64, i64)> = HashMap::new();
    while let Some(row) = rows.next().map_err(read("search name tokens"))? {
        let token: String = row.get(1).map_err(read("search name tokens"))?;
        if let Some((_, score)) = match_term(term, &token) {
            let id = row.get(0).map_err(read("search name tokens"))?;
            let patients = row.get(2).map_err(read("search name tokens"))?;
            tokens.insert(id, (score, patients));
        }
    }
    Ok(ranked(tokens))
}

/// Candidate tokens best first, the most common first among equals, at most
/// [`TOKENS_PER_WORD`].
fn ranked(tokens: HashMap<i64, (f64, i64)>) -> Vec<CandidateToken> {
    let mut tokens: Vec<CandidateToken> = tokens
        .into_iter()
        .map(|(id, (score, patients))| CandidateToken {
            id,
            score,
            patients,
        })
        .collect();
    tokens.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.patients.cmp(&a.patients))
    });
    tokens.truncate(TOKENS_PER_WORD);
    tokens
}

/// How many patients carry a name token starting with this 1–2 character prefix.
fn prefix_weight(conn: &Conn, term: &Term) -> Result<i64, CacheError> {
    let high = format!("{}\u{10FFFF}", term.text);
    conn.prepare_cached(
        "SELECT coalesce(sum(patients), 0) FROM name_tokens WHERE token >= ?1 AND token < ?2",
    )
    .and_then(|mut statement| statement.query_row(params![term.text, high], |r| r.get(0)))
    .map_err(read("search name prefixes"))
}

fn by_names(
    conn: &Conn,
    terms: &[Term],
    date_of_birth: Option<NaiveDate>,
    limit: usize,
) -> Result<Vec<Found>, CacheError> {
    if terms.is_empty() {
        return match date_of_birth {
            Some(date) => Ok(by_date_of_birth(conn, date, limit)?
                .into_iter()
                .map(|p| Found {
                    pk: p.pk,
                    score: 1.0,
                    recency: p.recency,
                    card: None,
                })
                .collect()),
            None => Ok(Vec::new()),
        };
    }
    let single = terms.len() == 1 && date_of_birth.is_none();
    let postings = match terms {
        [term] if single && term.chars >= 3 => match one_word(conn, term, limit)? {
            OneWord::Page(page) => page,
            OneWord::Tokens(tokens) => {
                token_postings(conn, &enough_for_a_page(tokens, limit), limit)?
            }
        },
        _ => {
            if let ([term], true) = (terms, single) {
                // One short word: its prefix index is the answer.
                prefix_postings(conn, term, limit)?
            } else if let Some(date) = date_of_birth {
                // A date of birth narrows to a few dozen patients: check the names on those.
                by_date_of_birth(conn, date, MULTI_WORD_BUDGET)?
            } else {
                // The word with the fewest patients behind it drives.
                let mut driver: Option<(usize, i64, Vec<CandidateToken>)> = None;
                for (i, term) in terms.iter().enumerate() {
                    let (weight, tokens) = if term.chars < 3 {
                        (prefix_weight(conn, term)?, Vec::new())
                    } else {
                        let tokens = tokens_for(conn, term)?;
                        (tokens.iter().map(|t| t.patients).sum(), tokens)
                    };
                    if weight == 0 {
                        // Nobody carries this word: nothing can match all words.
                        return Ok(Vec::new());
                    }
                    if driver.as_ref().is_none_or(|(_, w, _)| weight < *w) {
                        driver = Some((i, weight, tokens));
                    }
                }
                let Some((index, _, tokens)) = driver else {
                    return Ok(Vec::new());
                };
                let term = &terms[index];
                if term.chars < 3 {
                    prefix_postings(conn, term, MULTI_WORD_BUDGET)?
                } else {
                    token_postings(conn, &tokens, MULTI_WORD_BUDGET)?
                }
            }
        }
    };
    let mut found = Vec::new();
    'posting: for p in postings {
        let mut total = 0.0;
        for term in terms {
            match best_match(term, &p.name_key) {
                Some(score) => total += score,
                None => continue 'posting,
            }
        }
        found.push(Found {
            pk: p.pk,
            score: total / terms.len() as f64,
            recency: p.recency,
            card: p.card,
        });
    }
    Ok(found)
}

/// What the first round trip of a one-word search found.
enum OneWord {
    /// The most recently seen patients carrying exactly that word fill a page. Nothing else
    /// scores as high (only this token matches exactly), so that page is the answer: a full
    /// last or first name, the commonest search, costs one statement.
    Page(Vec<Posting>),
    /// Otherwise the word's candidate tokens, whose postings make the page.
    Tokens(Vec<CandidateToken>),
}

/// For a one-word search (3 characters or more): the page of the word's exact token when that
/// token alone fills one, otherwise the word's candidate tokens.
fn one_word(conn: &Conn, term: &Term, limit: usize) -> Result<OneWord, CacheError> {
    let exact: Option<(i64, i64)> = conn
        .prepare_cached("SELECT token_id, patients FROM name_tokens WHERE token = ?1")
        .and_then(|mut statement| {
            statement
                .query_row([&term.text], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(read("search name tokens"))?;
    match exact {
        Some((id, patients)) if patients >= limit as i64 => {
            let token = CandidateToken {
                id,
                score: 1.0,
                patients,
            };
            Ok(OneWord::Page(token_postings(conn, &[token], limit)?))
        }
        _ => Ok(OneWord::Tokens(tokens_for(conn, term)?)),
    }
}

/// For a one-word search: the best tokens (already sorted best first) down to the first score
/// at which they carry a page of patients, and any others with that same score (they tie, and
/// the visit decides). Lower-scoring tokens could not make the page.
fn enough_for_a_page(tokens: Vec<CandidateToken>, limit: usize) -> Vec<CandidateToken> {
    let mut carried = 0;
    let mut cutoff = None;
    for token in &tokens {
        carried += token.patients;
        if carried >= limit as i64 {
            cutoff = Some(token.score);
            break;
        }
    }
    match cutoff {
        Some(cutoff) => tokens.into_iter().filter(|t| t.score >= cutoff).collect(),
        None => tokens,
    }
}

/// Patients carrying any of these tokens, each token's most recent `per_token`, at most
/// [`MULTI_WORD_BUDGET`] rows in all.
fn token_postings(
    conn: &Conn,
    tokens: &[CandidateToken],
    per_token: usize,
) -> Result<Vec<Posting>, CacheError> {
    // One statement for all tokens: a UNION ALL of per-token ranges, each read backwards by
    // recency and cut at its limit. Built at run time (the number of tokens varies); every
    // value is bound.
    let mut sql = String::new();
    let mut budget = MULTI_WORD_BUDGET;
    let mut binds: Vec<i64> = Vec::new();
    for token in tokens {
        if budget == 0 {
            break;
        }
        let take = per_token
            .min(budget)
            .min(usize::try_from(token.patients).unwrap_or(0));
        if take == 0 {
            continue;
        }
        budget -= take;
        if !sql.is_empty() {
            sql.push_str(" UNION ALL ");
        }
        let n = binds.len();
        let _ = write!(
            sql,
            "SELECT * FROM (SELECT patient_pk, recency, name_key, card FROM name_postings \
             WHERE token_id = ?{} ORDER BY recency DESC LIMIT ?{})",
            n + 1,
            n + 2
        );
        binds.push(token.id);
        binds.push(take as i64);
    }
    if binds.is_empty() {
        return Ok(Vec::new());
    }
    let mut statement = conn
        .prepare_cached(&sql)
        .map_err(read("read name postings"))?;
    let found = statement
        .query_map(params_from_iter(binds), posting)
        .and_then(Iterator::collect)
        .map_err(read("read name postings"))?;
    Ok(found)
}

/// A row of `pk, recency, name_key, card`.
fn posting(r: &rusqlite::Row<'_>) -> rusqlite::Result<Posting> {
    Ok(Posting {
        pk: r.get(0)?,
        recency: r.get(1)?,
        name_key: r.get(2)?,
        card: r.get(3)?,
    })
}

/// Patients with a name token starting with a 1–2 character word, most recent first, plus
/// those whose token is exactly that word (so "Li" is not lost among the "Lin"s).
fn prefix_postings(conn: &Conn, term: &Term, take: usize) -> Result<Vec<Posting>, CacheError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT * FROM (
                 SELECT patient_pk AS pk, recency, name_key, card FROM name_postings
                 WHERE token_id = (SELECT token_id FROM name_tokens WHERE token = ?1)
                 ORDER BY recency DESC LIMIT ?2)
             UNION ALL
             SELECT * FROM (
                 SELECT patient_pk AS pk, recency, name_key, NULL AS card FROM name_prefixes
                 WHERE prefix = ?1 ORDER BY recency DESC LIMIT ?2)",
        )
        .map_err(read("read name prefixes"))?;
    let found = statement
        .query_map(params![term.text, take as i64], posting)
        .and_then(Iterator::collect)
        .map_err(read("read name prefixes"))?;
    Ok(found)
}

/// A result as stored: what the index's card carries, or the same columns from `patients`.
struct CardFields {
    id: String,
    first_name: String,
    last_name: String,
    date_of_birth: String,
    mrn: String,
    phone: Option<String>,
    status: String,
    last_visit: Option<String>,
}

type Card = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn load_hits(conn: &Conn, ranked: &[Found]) -> Result<Vec<PatientHit>, CacheError> {
    let missing: Vec<i64> = ranked
        .iter()
        .filter(|f| f.card.is_none())
        .map(|f| f.pk)
        .collect();
    let mut by_pk: HashMap<i64, CardFields> = HashMap::new();
    if !missing.is_empty() {
        let pks_json = serde_json::to_string(&missing).map_err(|source| CacheError::Encode {
            what: "search",
            id: String::new(),
            source,
        })?;
        let mut statement = conn
            .prepare_cached(
                "SELECT pk, id, mrn, first_name, last_name, date_of_birth, phone, status,
                        last_visit
                 FROM patients WHERE pk IN (SELECT value FROM json_each(?1))",
            )
            .map_err(read("load search results"))?;
        let rows = statement
            .query_map([pks_json], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    CardFields {
                        id: r.get(1)?,
                        mrn: r.get(2)?,
                        first_name: r.get(3)?,
                        last_name: r.get(4)?,
                        date_of_birth: r.get(5)?,
                        phone: r.get(6)?,
                        status: r.get(7)?,
                        last_visit: r.get(8)?,
                    },
                ))
            })
            .map_err(read("load search results"))?;
        for row in rows {
            let (pk, fields) = row.map_err(read("load search results"))?;
            by_pk.insert(pk, fields);
        }
    }
    let mut hits = Vec::with_capacity(ranked.len());
    for f in ranked {
        let fields = match &f.card {
            Some(card) => {
                let c: Card = serde_json::from_str(card).map_err(|source| CacheError::Corrupt {
                    what: "search card of patient",
                    id: f.pk.to_string(),
                    source,
                })?;
                CardFields {
                    id: c.0,
                    first_name: c.1,
                    last_name: c.2,
                    date_of_birth: c.3,
                    mrn: c.4,
                    phone: c.5,
                    status: c.6,
                    last_visit: c.7,
                }
            }
            None => match by_pk.remove(&f.pk) {
                Some(fields) => fields,
                None => continue,
            },
        };
        hits.push(hit(fields, f.score)?);
    }
    Ok(hits)
}

fn hit(r: CardFields, score: f64) -> Result<PatientHit, CacheError> {
    let date_of_birth = NaiveDate::parse_from_str(&r.date_of_birth, "%Y-%m-%d").map_err(|_| {
        CacheError::CorruptField {
            what: "patient",
            id: r.id.clone(),
            field: "date_of_birth",
            value: r.date_of_birth.clone(),
        }
    })?;
    let last_visit = r
        .last_visit
        .as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| CacheError::CorruptField {
                    what: "patient",
                    id: r.id.clone(),
                    field: "last_visit",
                    value: t.to_owned(),
                })
        })
        .transpose()?;
    Ok(PatientHit {
        status: parse_status(&r.id, &r.status)?,
        id: PatientId(r.id),
        first_name: r.first_name,
        last_name: r.last_name,
        date_of_birth,
        mrn: r.mrn,
        phone: r.phone,
        last_visit,
        score,
        spans: Vec::new(),
    })
}

/// Where the typed text shows in a result, for highlighting.
fn spans(hit: &PatientHit, q: &str, plan: &Plan, any_exact: bool) -> Vec<MatchSpan> {
    let mut spans = Vec::new();
    if any_exact {
        if hit.id.as_str().eq_ignore_ascii_case(q) {
            spans.push(whole(SearchField::Id, hit.id.as_str()));
        }
        if !hit.mrn.is_empty() && text::mrn_key(&hit.mrn) == text::mrn_key(q) {
            spans.push(whole(SearchField::Mrn, &hit.mrn));
        }
    }
    match plan {
        Plan::DateOfBirth(_) => spans.push(MatchSpan {
            field: SearchField::DateOfBirth,
            start: 0,
            end: 10,
        }),
        Plan::Phone(digits) => {
            if let Some(phone) = &hit.phone {
                let positions: Vec<usize> = phone
                    .chars()
                    .enumerate()
                    .filter(|(_, c)| c.is_ascii_digit())
                    .map(|(i, _)| i)
                    .collect();
                let n = digits.len().min(positions.len());
                if let (Some(first), Some(last)) =
                    (positions.get(positions.len() - n), positions.last())
                {
                    spans.push(MatchSpan {
                        field: SearchField::Phone,
                        start: *first,
                        end: last + 1,
                    });
                }
            }
        }
        Plan::Names {
            terms,
            date_of_birth,
        } => {
            if date_of_birth.is_some() {
                spans.push(MatchSpan {
                    field: SearchField::DateOfBirth,
                    start: 0,
                    end: 10,
                });
            }
            let first = text::name_tokens(&hit.first_name);
            let last = text::name_tokens(&hit.last_name);
            for term in terms {
                let best = first
                    .iter()
                    .map(|t| (SearchField::FirstName, t))
                    .chain(last.iter().map(|t| (SearchField::LastName, t)))
                    .filter_map(|(field, token)| {
                        match_term(term, &token.text)
                            .map(|(kind, score)| (field, token, kind, score))
                    })
                    .max_by(|a, b| a.3.total_cmp(&b.3));
                if let Some((field, token, kind, _)) = best {
                    if let Some((start, end)) = token_span(term, token, kind) {
                        spans.push(MatchSpan { field, start, end });
                    }
                }
            }
        }
    }
    spans.sort_by_key(|s| (s.field as u8, s.start));
    spans.dedup();
    spans
}

fn token_span(term: &Term, token: &NameToken, kind: TermMatch) -> Option<(usize, usize)> {
    match kind {
        TermMatch::Exact | TermMatch::Typo => token.whole_span(),
        TermMatch::Prefix => token.span_of_first(term.chars),
        TermMatch::Infix => {
            let byte = token.text.find(&term.text)?;
            let start = token.text[..byte].chars().count();
            token.span_of(start, start + term.chars)
        }
    }
}

fn whole(field: SearchField, value: &str) -> MatchSpan {
    MatchSpan {
        field,
        start: 0,
        end: value.chars().count(),
    }
}
