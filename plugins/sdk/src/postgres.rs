//! PostgreSQL in granted containers: which of a set of containers is the
//! primary now (the leader of a Patroni cluster, or any set of servers
//! replicating from one), resolved at run time, so a task can name every
//! member and act on whichever leads when it runs.
//!
//! Each member is asked itself, through `container.exec`, whether it is in
//! recovery (`SELECT pg_is_in_recovery()`); nothing is believed from a name,
//! a label or an orchestrator's view. Each name goes through the host's
//! grant check when it is opened, as any container does.
//!
//! ```no_run
//! use run_plugin_sdk::postgres;
//! # fn main() -> Result<(), run_plugin_sdk::Error> {
//! let members = ["ha-patroni-1", "ha-patroni-2", "ha-patroni-3"];
//! let leader = postgres::primary(&members, "postgres")?;
//! println!("the primary is {}", leader.name());
//! # Ok(()) }
//! ```

use std::fmt;

use crate::Error;
use crate::containers::{self, Container, ContainerState, ExecRequest};

/// How long one member may take to answer: a paused or wedged server must
/// not hold the whole run.
const ANSWER_SECONDS: u32 = 20;

/// What one member said it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Not in recovery: it accepts writes.
    Primary,
    /// In recovery: a standby.
    Replica,
    /// The container is not running (exited, paused, …): it could not be asked.
    Down(ContainerState),
    /// It runs but did not answer the question; the reason, as psql gave it.
    NoAnswer(String),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Primary => f.write_str("primary"),
            Role::Replica => f.write_str("replica"),
            Role::Down(state) => write!(f, "{state}, not asked"),
            Role::NoAnswer(why) => write!(f, "no answer: {why}"),
        }
    }
}

/// One member and the role it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The container's name, as the task configured it.
    pub name: String,
    /// What it said.
    pub role: Role,
}

/// Asks every container in `names`, connecting as the database role `user`,
/// whether it is a primary. Opening a name the task does not grant fails
/// the whole survey with the host's denial.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// for m in run_plugin_sdk::postgres::survey(&["pg-1", "pg-2"], "postgres")? {
///     println!("{}: {}", m.name, m.role);
/// }
/// # Ok(()) }
/// ```
pub fn survey(names: &[impl AsRef<str>], user: &str) -> Result<Vec<Member>, Error> {
    names
        .iter()
        .map(|name| {
            let name = name.as_ref();
            let container = containers::open(name)?;
            Ok(Member {
                name: name.to_owned(),
                role: ask(&container, user)?,
            })
        })
        .collect()
}

/// The one primary among `names`, opened. Fails when none or more than one
/// says it is a primary, naming every member and its role.
///
/// ```no_run
/// # fn main() -> Result<(), run_plugin_sdk::Error> {
/// let db = run_plugin_sdk::postgres::primary(&["pg-1", "pg-2"], "postgres")?;
/// # Ok(()) }
/// ```
pub fn primary(names: &[impl AsRef<str>], user: &str) -> Result<Container, Error> {
    let members = survey(names, user)?;
    let name = the_primary(&members)?;
    containers::open(name)
}

/// The name of the one primary among `names` (as [`primary`]), logged with
/// every member's role: what a plugin acting on "the cluster's primary"
/// (backup, sanitize) resolves its container to.
pub fn primary_name(names: &[impl AsRef<str>], user: &str) -> Result<String, Error> {
    let members = survey(names, user)?;
    let primary = the_primary(&members)?.to_owned();
    crate::log::info(format!(
        "`{primary}` is the primary of {}",
        members
            .iter()
            .map(|m| format!("{} ({})", m.name, m.role))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(primary)
}

/// The name of the one member that reported [`Role::Primary`], or an error
/// naming every member and its role.
///
/// ```
/// use run_plugin_sdk::postgres::{Member, Role, the_primary};
/// let members = [
///     Member { name: "pg-1".into(), role: Role::Replica },
///     Member { name: "pg-2".into(), role: Role::Primary },
/// ];
/// assert_eq!(the_primary(&members).unwrap(), "pg-2");
/// ```
pub fn the_primary(members: &[Member]) -> Result<&str, Error> {
    let primaries: Vec<&Member> = members.iter().filter(|m| m.role == Role::Primary).collect();
    match primaries[..] {
        [one] => Ok(&one.name),
        [] => Err(Error::failed(format!(
            "no primary among {}: {}; nothing was done",
            members.len(),
            roles(members)
        ))),
        _ => Err(Error::failed(format!(
            "{} primaries among {} (a split brain, or a failover in progress): {}; nothing was done, \
             since writing to either could lose data",
            primaries.len(),
            members.len(),
            roles(members)
        ))),
    }
}

/// `a (primary), b (replica), …`
fn roles(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| format!("`{}` ({})", m.name, m.role))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ask(container: &Container, user: &str) -> Result<Role, Error> {
    let state = container.inspect()?.state;
    if state != ContainerState::Running {
        return Ok(Role::Down(state));
    }
    let request = ExecRequest::new([
        "psql",
        "-XAtq",
        "-U",
        user,
        "-d",
        "postgres",
        "-c",
        "SELECT pg_is_in_recovery()",
    ])
    .timeout_seconds(ANSWER_SECONDS);
    let out = match container.exec(&request) {
        Ok(out) => out,
        Err(e) => return Ok(Role::NoAnswer(e.message().to_owned())),
    };
    Ok(read_answer(
        out.exit_code,
        &out.stdout_text(),
        &out.stderr_text(),
    ))
}

/// psql's answer to `SELECT pg_is_in_recovery()` as a role.
fn read_answer(exit_code: i64, stdout: &str, stderr: &str) -> Role {
    match (exit_code, stdout.trim()) {
        (0, "f") => Role::Primary,
        (0, "t") => Role::Replica,
        (code, out) => {
            let why = [stderr.trim(), out]
                .into_iter()
                .find(|s| !s.is_empty())
                .map_or_else(
                    || format!("psql exited {code}"),
                    |s| first_line(s).to_owned(),
                );
            Role::NoAnswer(why)
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::{Member, Role, read_answer, the_primary};
    use crate::containers::ContainerState;

    fn member(name: &str, role: Role) -> Member {
        Member {
            name: name.into(),
            role,
        }
    }

    #[test]
    fn psql_answers_read_as_roles() {
        assert_eq!(read_answer(0, "f\n", ""), Role::Primary);
        assert_eq!(read_answer(0, "t\n", ""), Role::Replica);
        assert_eq!(
            read_answer(2, "", "psql: error: connection to server failed\nmore"),
            Role::NoAnswer("psql: error: connection to server failed".into())
        );
        assert_eq!(
            read_answer(126, "", ""),
            Role::NoAnswer("psql exited 126".into())
        );
    }

    #[test]
    fn exactly_one_primary_is_chosen() {
        let members = [
            member("ha-patroni-1", Role::Replica),
            member("ha-patroni-2", Role::Down(ContainerState::Exited)),
            member("ha-patroni-3", Role::Primary),
        ];
        assert_eq!(the_primary(&members).unwrap(), "ha-patroni-3");
    }

    #[test]
    fn no_primary_is_refused_naming_each_member_and_its_role() {
        let members = [
            member("ha-patroni-1", Role::Replica),
            member("ha-patroni-2", Role::Down(ContainerState::Paused)),
            member("ha-patroni-3", Role::NoAnswer("psql: error: x".into())),
        ];
        let e = the_primary(&members).unwrap_err();
        assert_eq!(
            e.message(),
            "no primary among 3: `ha-patroni-1` (replica), `ha-patroni-2` (paused, not asked), \
             `ha-patroni-3` (no answer: psql: error: x); nothing was done"
        );
    }

    #[test]
    fn two_primaries_are_refused_as_a_split_brain() {
        let members = [
            member("pg-1", Role::Primary),
            member("pg-2", Role::Primary),
            member("pg-3", Role::Replica),
        ];
        let e = the_primary(&members).unwrap_err();
        assert!(e.message().starts_with("2 primaries among 3"), "{e}");
        assert!(
            e.message()
                .contains("`pg-1` (primary), `pg-2` (primary), `pg-3` (replica)"),
            "{e}"
        );
    }
}
