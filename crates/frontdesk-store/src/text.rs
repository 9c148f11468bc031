//! How names, phones and MRNs are normalised for search and duplicate checks: the pure code
//! lives in `practice_studio::search`, shared with the server's patient search.

pub(crate) use practice_studio::search::{
    deletions, mrn_key, name_key, name_tokens, phone_rev, similarity, NameToken,
    DELETION_MIN_CHARS, TOKEN_MAX_DELETES,
};
