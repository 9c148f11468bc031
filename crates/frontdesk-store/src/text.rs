//! How names, phones, MRNs and dates are normalised for search and duplicate checks.

use std::collections::HashSet;

use chrono::NaiveDate;

/// One search token of a name, with where each of its characters came from in the original
/// text (in `char`s), so a match can be highlighted on the name as the person typed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct NameToken {
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
pub(crate) fn name_tokens(name: &str) -> Vec<NameToken> {
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
pub(crate) fn name_key(first_name: &str, last_name: &str) -> String {
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
pub(crate) fn deletions(word: &str, max_deletes: usize, min_chars: usize) -> HashSet<String> {
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
pub(crate) const TOKEN_MAX_DELETES: usize = 2;
/// The shortest deletion kept: a 3-character query word with one typo deletes down to 2.
pub(crate) const DELETION_MIN_CHARS: usize = 2;

/// How many typos a query word of this many characters may contain: none under 3 (too many
/// names would match), one up to 4, two from 5.
pub(crate) fn typo_budget(chars: usize) -> usize {
    match chars {
        0..=2 => 0,
        3..=4 => 1,
        _ => 2,
    }
}

/// The digits of a phone number, whatever its punctuation.
pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The key a phone is compared by: its last ten digits (a leading country code `1` or `+1`
/// is then irrelevant), reversed so that "ends with" is a range scan.
pub(crate) fn phone_rev(phone: &str) -> Option<String> {
    let d = digits(phone);
    if d.is_empty() {
        return None;
    }
    let tail = if d.len() > 10 { &d[d.len() - 10..] } else { &d };
    Some(tail.chars().rev().collect())
}

/// An MRN reduced to upper-case letters and digits.
pub(crate) fn mrn_key(mrn: &str) -> String {
    mrn.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A date of birth as a receptionist types it: `YYYY-MM-DD`, `MM/DD/YYYY` or `DD.MM.YYYY`.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
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
pub(crate) fn typo_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Similarity in 0..=1 of two normalised names (Jaro–Winkler: forgiving at the end of a word,
/// strict at its start, as names are typed).
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
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
}
