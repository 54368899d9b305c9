//! Durations as people write them: `500ms`, `30s`, `5m`, `1h30m`, `1h 30m`,
//! parsed by humantime; its errors are turned into data the diagnostic explains.

use std::time::Duration;

use super::error::DurationProblem;

/// Parses a duration; zero is accepted here and rejected by the caller, which
/// knows which key it was.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationProblem::Empty);
    }
    let at = |position: usize| text[position..].chars().next().unwrap_or_default();
    humantime::parse_duration(text).map_err(|error| match error {
        humantime::DurationError::Empty => DurationProblem::Empty,
        humantime::DurationError::InvalidCharacter(position)
        | humantime::DurationError::NumberExpected(position) => {
            DurationProblem::ExpectedNumber(at(position))
        }
        humantime::DurationError::UnknownUnit { unit, .. } if unit.is_empty() => {
            DurationProblem::MissingUnit
        }
        humantime::DurationError::UnknownUnit { unit, .. } => DurationProblem::UnknownUnit(unit),
        humantime::DurationError::NumberOverflow => DurationProblem::TooLarge,
    })
}
