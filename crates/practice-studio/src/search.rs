//! Patient search's pure parts, shared by the desk's local search and the server's
//! `GET /api/v2/patients?q=`: how names, phones, MRNs and dates of birth are normalised, how a
//! typed word matches a name token (exact, prefix, typo, substring) and scores, and what a typed
//! text asks for. Each side keeps its own index over its own patients and calls these to match
//! and rank, so a typo finds the same patient at the desk and on the server. No I/O here.

use std::collections::HashSet;

use chrono::NaiveDate;

/// One search token of a name, with where each of its characters came from in the original
/// text (in `char`s), so a match can be highlighted on the name as the person typed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameToken {
    pub text: String,
    /// `source[i]` is the char index in the original string of the token's i-th char.
    pub source: Vec<usize>,
}

impl NameToken {
    /// The span (in chars of the original) covering the token's first `n` chars.
    pub fn span_of_first(&self, n: usize) -> Option<(usize, usize)> {
        let n = n.min(self.source.len());
        let first = *self.source.first()?;
        let last = *self.source.get(n.checked_sub(1)?)?;
        Some((first, last + 1))
    }

    /// The span (in chars of the original) covering token chars `from..to`.
    pub fn span_of(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        let first = *self.source.get(from)?;
        let last = *self.source.get(to.checked_sub(1)?)?;
        Some((first, last + 1))
    }

    pub fn whole_span(&self) -> Option<(usize, usize)> {
        self.span_of(0, self.source.len())
    }
}

/// Splits a name into lower-case, accent-folded tokens. Apostrophes join ("O'Brien" is
/// `obrien`, typed either way); any other non-alphanumeric character separates ("Mary-Jane").
pub fn name_tokens(name: &str) -> Vec<NameToken> {
    let mut tokens = Vec::new();
    let mut current = NameToken::default();
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '\'' | '’' | '‘' | '`' | 'ʼ') {
            continue;
        }
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                current.text.push(fold_accent(lower));
                current.source.push(i);
            }
        } else if !current.text.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.text.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The name key stored with a patient: its distinct tokens, space separated, first name first.
pub fn name_key(first_name: &str, last_name: &str) -> String {
    let mut seen = HashSet::new();
    let mut key = String::new();
    for token in name_tokens(first_name)
        .into_iter()
        .chain(name_tokens(last_name))
    {
        if seen.insert(token.text.clone()) {
            if !key.is_empty() {
                key.push(' ');
            }
            key.push_str(&token.text);
        }
    }
    key
}

/// Folds the accented Latin letters receptionists commonly type without accents.
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ł' | 'ľ' | 'ĺ' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ř' | 'ŕ' => 'r',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'ť' | 'ţ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

/// Every string reachable from `word` by deleting up to `max_deletes` characters, `word`
/// itself included, keeping only those of at least `min_chars` characters (SymSpell).
pub fn deletions(word: &str, max_deletes: usize, min_chars: usize) -> HashSet<String> {
    let mut all = HashSet::new();
    let start: Vec<char> = word.chars().collect();
    all.insert(word.to_owned());
    let mut frontier = vec![start];
    for _ in 0..max_deletes {
        let mut next = Vec::new();
        for chars in &frontier {
            if chars.len() <= min_chars {
                continue;
            }
            for skip in 0..chars.len() {
                let shorter: Vec<char> = chars
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, c)| *c)
                    .collect();
                if all.insert(shorter.iter().collect()) {
                    next.push(shorter);
                }
            }
        }
        frontier = next;
    }
    all
}

/// How many deletions a stored token is indexed under.
pub const TOKEN_MAX_DELETES: usize = 2;
/// The shortest deletion kept: a 3-character query word with one typo deletes down to 2.
pub const DELETION_MIN_CHARS: usize = 2;

/// How many typos a query word of this many characters may contain: none under 3 (too many
/// names would match), one up to 4, two from 5.
pub fn typo_budget(chars: usize) -> usize {
    match chars {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    }
}

/// The digits of a phone number, whatever its punctuation.
pub fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The key a phone is compared by: its last ten digits (a leading country code `1` or `+1`
/// is then irrelevant), reversed so that "ends with" is a range scan.
pub fn phone_rev(phone: &str) -> Option<String> {
    let d = digits(phone);
    if d.is_empty() {
        return None;
    }
    let tail = if d.len() > 10 { &d[d.len() - 10..] } else { &d };
    Some(tail.chars().rev().collect())
}

/// An MRN reduced to upper-case letters and digits.
pub fn mrn_key(mrn: &str) -> String {
    mrn.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A date of birth as a receptionist types it: `YYYY-MM-DD`, `MM/DD/YYYY` or `DD.MM.YYYY`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let format = if s.contains('-') {
        "%Y-%m-%d"
    } else if s.contains('/') {
        "%m/%d/%Y"
    } else if s.contains('.') {
        "%d.%m.%Y"
    } else {
        return None;
    };
    let date = NaiveDate::parse_from_str(s, format).ok()?;
    // chrono accepts two-digit years as years 0–99; nobody alive was born then.
    (date.format("%Y").to_string().len() == 4 && date > NaiveDate::MIN).then_some(date)
}

/// Optimal-string-alignment distance (an adjacent swap counts as one edit, as in "Jonh").
pub fn typo_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Similarity in 0..=1 of two normalised names (Jaro–Winkler: forgiving at the end of a word,
/// strict at its start, as names are typed).
pub fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
}

/// A typed word, normalised like stored name tokens.
#[derive(Debug, Clone)]
pub struct Term {
    pub text: String,
    pub chars: usize,
    pub typos: usize,
}

impl Term {
    pub fn new(text: String) -> Self {
        let chars = text.chars().count();
        Self {
            typos: typo_budget(chars),
            chars,
            text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TermMatch {
    Exact,
    Prefix,
    Infix,
    Typo,
}

/// How well one typed word matches one name token (both normalised), if at all.
pub fn match_term(term: &Term, token: &str) -> Option<(TermMatch, f64)> {
    if token == term.text {
        return Some((TermMatch::Exact, 1.0));
    }
    if token.starts_with(&term.text) {
        // From three letters on, the closer completion ranks first ("smi": Smith before
        // Smithers); one or two letters say too little, and the most recent visit decides.
        if term.chars < 3 {
            return Some((TermMatch::Prefix, 0.85));
        }
        let ratio = term.chars as f64 / token.chars().count().max(1) as f64;
        return Some((TermMatch::Prefix, 0.8 + 0.15 * ratio));
    }
    // The distance is at least the difference in length, and at least the bag distance (letters
    // one has that the other lacks): skip what cannot be within budget before computing it.
    if term.typos > 0
        && token.chars().count().abs_diff(term.chars) <= term.typos
        && bag_distance(&term.text, token) <= term.typos
    {
        let distance = typo_distance(&term.text, token);
        if distance <= term.typos {
            let likeness = similarity(&term.text, token);
            return Some((
                TermMatch::Typo,
                0.45 + 0.3 * likeness - 0.05 * (distance as f64 - 1.0),
            ));
        }
    }
    if term.chars >= 3 && token.contains(&term.text) {
        return Some((TermMatch::Infix, 0.55));
    }
    None
}

/// A lower bound of the edit distance (with or without transpositions): the larger of how many
/// letters `a` has that `b` lacks and the reverse, counted with repetition. Letters outside
/// `a`–`z` and digits are counted together, which only lowers the bound.
fn bag_distance(a: &str, b: &str) -> usize {
    let slot = |c: char| match c {
        'a'..='z' => c as usize - 'a' as usize,
        '0'..='9' => 26 + c as usize - '0' as usize,
        _ => 36,
    };
    let mut counts = [0i32; 37];
    for c in a.chars() {
        counts[slot(c)] += 1;
    }
    for c in b.chars() {
        counts[slot(c)] -= 1;
    }
    let (mut only_a, mut only_b) = (0, 0);
    for n in counts {
        if n > 0 {
            only_a += n as usize;
        } else {
            only_b += (-n) as usize;
        }
    }
    only_a.max(only_b)
}

/// The best match of a word among a name's tokens.
pub fn best_match(term: &Term, name_key: &str) -> Option<f64> {
    name_key
        .split(' ')
        .filter_map(|token| match_term(term, token).map(|(_, s)| s))
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        })
}

/// What the typed text asks for.
#[derive(Debug, Clone)]
pub enum Plan {
    DateOfBirth(NaiveDate),
    /// Phone digits (at most the last ten).
    Phone(String),
    Names {
        terms: Vec<Term>,
        date_of_birth: Option<NaiveDate>,
    },
}

/// Reads what the typed text asks for.
pub fn plan(q: &str) -> Plan {
    if let Some(date) = parse_date(q) {
        return Plan::DateOfBirth(date);
    }
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '+' | '.' | '/'));
    let digits = digits(q);
    if phone_like && digits.len() >= 4 {
        let tail = if digits.len() > 10 {
            digits[digits.len() - 10..].to_owned()
        } else {
            digits
        };
        return Plan::Phone(tail);
    }
    let mut terms = Vec::new();
    let mut date_of_birth = None;
    for chunk in q.split(|c: char| c.is_whitespace() || c == ',') {
        if chunk.is_empty() {
            continue;
        }
        if let Some(date) = parse_date(chunk) {
            date_of_birth = Some(date);
            continue;
        }
        for token in name_tokens(chunk) {
            // Names carry no digits; a number among words was an id or MRN, tried exactly.
            if !token.text.chars().any(|c| c.is_ascii_digit()) {
                terms.push(Term::new(token.text));
            }
        }
    }
    Plan::Names {
        terms,
        date_of_birth,
    }
}

/// A patient as a search sees it: the fields a typed text is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Searchable<'a> {
    pub id: &'a str,
    pub mrn: &'a str,
    /// [`name_key`] of the first and last name.
    pub name_key: &'a str,
    pub date_of_birth: NaiveDate,
    /// [`phone_rev`] of the phone, if any.
    pub phone_rev: Option<&'a str>,
}

/// A typed text, read once and matched against many patients with [`PatientQuery::score`].
#[derive(Debug, Clone)]
pub struct PatientQuery {
    plan: Plan,
    /// The whole text as an id (upper case) and as an MRN key, when it could be either.
    exact: Option<(String, String)>,
    /// For a phone: its digits reversed, as [`phone_rev`] keeps phones.
    phone_rev: Option<String>,
}

/// Whether `mrn` reduces to `key` (see [`mrn_key`]), without building the reduced string.
fn same_mrn(mrn: &str, key: &str) -> bool {
    mrn.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .eq(key.chars())
}

/// The score of an exact id or MRN: above any name match (those are at most 1).
pub const EXACT_SCORE: f64 = 2.0;

impl PatientQuery {
    /// Reads `typed`; `None` when it is blank.
    pub fn parse(typed: &str) -> Option<Self> {
        let q = typed.trim();
        if q.is_empty() {
            return None;
        }
        let exact = (!q.contains(char::is_whitespace) && q.chars().any(|c| c.is_ascii_digit()))
            .then(|| (q.to_uppercase(), mrn_key(q)));
        let plan = plan(q);
        let phone_rev = match &plan {
            Plan::Phone(digits) => Some(digits.chars().rev().collect()),
            _ => None,
        };
        Some(Self {
            plan,
            exact,
            phone_rev,
        })
    }

    /// What the text asks for.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How well `patient` matches, if at all: [`EXACT_SCORE`] for its id or MRN typed whole;
    /// otherwise in 0..=1 as the desk ranks — a date of birth 1, a phone 1 when all ten digits
    /// match and 0.8 when its end does, names the mean of each word's best [`match_term`] over
    /// the name's tokens (every word must match; a date typed with them must be the birth).
    pub fn score(&self, patient: &Searchable<'_>) -> Option<f64> {
        if let Some((upper, mrn)) = &self.exact {
            if patient.id.eq_ignore_ascii_case(upper)
                || (!mrn.is_empty() && same_mrn(patient.mrn, mrn))
            {
                return Some(EXACT_SCORE);
            }
        }
        match &self.plan {
            Plan::DateOfBirth(date) => (patient.date_of_birth == *date).then_some(1.0),
            Plan::Phone(_) => {
                let wanted = self.phone_rev.as_deref()?;
                let phone = patient.phone_rev?;
                if phone == wanted {
                    Some(1.0)
                } else if phone.starts_with(wanted) {
                    Some(0.8)
                } else {
                    None
                }
            }
            Plan::Names {
                terms,
                date_of_birth,
            } => {
                if date_of_birth.is_some_and(|d| d != patient.date_of_birth) {
                    return None;
                }
                if terms.is_empty() {
                    return date_of_birth.map(|_| 1.0);
                }
                let mut total = 0.0;
                for term in terms {
                    total += best_match(term, patient.name_key)?;
                }
                Some(total / terms.len() as f64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apostrophes_join_and_hyphens_split_name_tokens() {
        let tokens = name_tokens("O'Brien-Núñez");
        let texts: Vec<_> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["obrien", "nunez"]);
        // "obrien" starts at char 0 and ends at char 7 ("O'Brien"); "nunez" at 8..13.
        assert_eq!(tokens[0].whole_span(), Some((0, 7)));
        assert_eq!(tokens[1].whole_span(), Some((8, 13)));
        assert_eq!(tokens[0].span_of_first(2), Some((0, 3)));
    }

    #[test]
    fn deletions_include_the_word_and_stop_at_the_minimum_length() {
        let d = deletions("john", 2, 2);
        for expected in ["john", "ohn", "jhn", "jon", "joh", "jo", "hn", "jn"] {
            assert!(d.contains(expected), "{expected} missing from {d:?}");
        }
        assert!(d.iter().all(|v| v.chars().count() >= 2));
        // A swapped pair shares a deletion with the intended word.
        assert!(!deletions("jonh", 1, 2).is_disjoint(&deletions("john", 1, 2)));
    }

    #[test]
    fn dates_are_read_in_the_three_formats_a_desk_types() {
        let expected = NaiveDate::from_ymd_opt(1984, 3, 7);
        assert_eq!(parse_date("1984-03-07"), expected);
        assert_eq!(parse_date("03/07/1984"), expected);
        assert_eq!(parse_date("07.03.1984"), expected);
        assert_eq!(parse_date("1984-13-07"), None);
        assert_eq!(parse_date("smith"), None);
    }

    #[test]
    fn phones_compare_by_their_last_ten_digits() {
        assert_eq!(phone_rev("+1 (217) 555-0143"), phone_rev("217.555.0143"));
        assert_eq!(phone_rev("no digits"), None);
        assert_eq!(mrn_key("mrn 00-123"), "MRN00123");
    }

    fn patient<'a>(
        id: &'a str,
        mrn: &'a str,
        key: &'a str,
        phone: Option<&'a str>,
    ) -> Searchable<'a> {
        Searchable {
            id,
            mrn,
            name_key: key,
            date_of_birth: NaiveDate::from_ymd_opt(1984, 3, 7).expect("date"),
            phone_rev: phone,
        }
    }

    #[test]
    fn a_typo_still_finds_the_name_and_ranks_below_the_exact_spelling() {
        let query = PatientQuery::parse("jonh smith").expect("a query");
        let john = name_key("John", "Smith");
        let jonah = name_key("Jonah", "Smithers");
        let mary = name_key("Mary", "Smith");
        let exact = PatientQuery::parse("john smith").expect("a query");
        let typo = query
            .score(&patient("PAT-1", "MRN-1", &john, None))
            .expect("found");
        let right = exact
            .score(&patient("PAT-1", "MRN-1", &john, None))
            .expect("found");
        assert!(typo < right, "{typo} < {right}");
        assert!(typo > 0.5);
        // Every word must match somewhere.
        assert_eq!(query.score(&patient("PAT-2", "MRN-2", &mary, None)), None);
        // A prefix of a longer name matches, below the whole name.
        let smi = PatientQuery::parse("smi").expect("a query");
        let short = smi
            .score(&patient("PAT-1", "MRN-1", &john, None))
            .expect("found");
        let long = smi
            .score(&patient("PAT-3", "MRN-3", &jonah, None))
            .expect("found");
        assert!(short > long);
    }

    #[test]
    fn ids_mrns_phones_and_birth_dates_are_matched_whole_or_by_their_end() {
        let key = name_key("Ana", "Lopez");
        let phone = phone_rev("(217) 555-0143");
        let ana = patient("PAT-00042", "MRN-00123", &key, phone.as_deref());
        let score = |q: &str| PatientQuery::parse(q).and_then(|q| q.score(&ana));
        assert_eq!(score("pat-00042"), Some(EXACT_SCORE));
        assert_eq!(score("mrn00123"), Some(EXACT_SCORE));
        assert_eq!(score("217-555-0143"), Some(1.0));
        assert_eq!(score("0143"), Some(0.8));
        assert_eq!(score("9999"), None);
        assert_eq!(score("03/07/1984"), Some(1.0));
        assert_eq!(score("1984-03-08"), None);
        assert!(score("lopez 1984-03-07").is_some());
        assert_eq!(score("lopez 1984-03-08"), None);
        assert!(PatientQuery::parse("   ").is_none());
    }

    #[test]
    fn the_bag_distance_never_exceeds_the_typo_distance() {
        let words = [
            "john",
            "jonh",
            "jon",
            "joan",
            "smith",
            "smyth",
            "smiht",
            "mcallister",
            "macalister",
            "nunez",
            "obrien",
            "o2brien",
            "li",
            "lee",
            "x",
            "",
        ];
        for a in words {
            for b in words {
                assert!(
                    bag_distance(a, b) <= typo_distance(a, b),
                    "{a} / {b}: {} > {}",
                    bag_distance(a, b),
                    typo_distance(a, b)
                );
            }
        }
        assert_eq!(bag_distance("smith", "smyth"), 1);
        assert_eq!(bag_distance("jonh", "john"), 0);
        assert!(same_mrn("mrn 00-123", "MRN00123"));
        assert!(!same_mrn("MRN-00124", "MRN00123"));
    }
}
