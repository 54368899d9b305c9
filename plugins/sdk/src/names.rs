//! Checks for config values a plugin turns into paths: a directory inside the
//! project, names that become parts of file names, and the directory a file
//! is granted by.
//!
//! ```
//! use run_plugin_sdk::names;
//! assert_eq!(names::relative_dir("backups/").as_deref(), Some("backups"));
//! assert!(names::file_name_part("nightly-1").is_ok());
//! ```

/// `dir` without trailing slashes when it is a relative directory that stays
/// inside the project (not empty, not absolute, no `..`); `None` otherwise.
///
/// ```
/// use run_plugin_sdk::names::relative_dir;
/// assert_eq!(relative_dir("out/dumps/").as_deref(), Some("out/dumps"));
/// assert_eq!(relative_dir("/etc"), None);
/// assert_eq!(relative_dir("out/../.."), None);
/// assert_eq!(relative_dir(""), None);
/// ```
pub fn relative_dir(dir: &str) -> Option<String> {
    let dir = dir.trim_end_matches('/');
    let inside = !dir.is_empty() && !dir.starts_with('/') && !dir.split('/').any(|p| p == "..");
    inside.then(|| dir.to_owned())
}

/// Whether `part` can be part of a file name: not empty, no separators, no
/// leading `.` (dot files are in-progress files) or `-`, and only letters,
/// digits, `-`, `_` and `.`, which no shell or other OS trips on. The error
/// says why, for a config message.
///
/// ```
/// use run_plugin_sdk::names::file_name_part;
/// assert!(file_name_part("pg-demo_1.2").is_ok());
/// assert_eq!(file_name_part(".hidden").unwrap_err(), "`.hidden` must not start with `.` or `-`");
/// assert_eq!(
///     file_name_part("a/b").unwrap_err(),
///     "`a/b` contains `/`; use letters, digits, `-`, `_` and `.`"
/// );
/// ```
pub fn file_name_part(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("must not be empty".into());
    }
    if part.starts_with('.') || part.starts_with('-') {
        return Err(format!("`{part}` must not start with `.` or `-`"));
    }
    if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "`{part}` contains `{c}`; use letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

/// The directory holding `file`, relative as given: `.` for a file at the top.
/// What a plugin declares (and a task grants) to reach a file, since grants
/// are directories.
///
/// ```
/// use run_plugin_sdk::names::dir_of;
/// assert_eq!(dir_of("demo/compose.yaml"), "demo");
/// assert_eq!(dir_of("./reports/scan.json"), "reports");
/// assert_eq!(dir_of("compose.yaml"), ".");
/// ```
pub fn dir_of(file: &str) -> String {
    let file = file.trim_start_matches("./");
    match file.rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    }
}
