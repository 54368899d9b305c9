//! "Did you mean …?" for misspelt keys and names.

/// How similar (Jaro-Winkler, 0 to 1) a candidate must be to be suggested.
/// High enough that unrelated short names (`test`, `lint`) are not offered,
/// low enough for dropped or swapped letters and plurals (`descripton`,
/// `writes`, `gret`).
const THRESHOLD: f64 = 0.8;

/// The candidate closest to `input`, if any is close enough; ties go to the
/// earliest candidate, so suggestions follow file order.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(input, candidate);
        if score >= THRESHOLD && best.is_none_or(|(top, _)| score > top) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}
