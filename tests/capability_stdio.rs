//! A plugin's stdout and stderr (runner/src/capability/stdio): forwarded by
//! whole lines, so output of tasks running side by side and the runner's own
//! messages never land inside a plugin's line. (Bounds and floods: limits.rs.)

use crate::test::Test;

fn pieces(task: &str, name: &str) -> String {
    format!(
        "[tasks.{task}]\nplugin = \"{{fixture}}\"\nconfig = {{ mode = \"pieces\", name = \"{name}\", lines = 4, ms = 30 }}\n"
    )
}

#[test]
fn lines_written_in_pieces_by_tasks_side_by_side_stay_whole() {
    let tasks = [
        "[tasks.both]\ndepends = [\"left\", \"right\"]\n".to_string(),
        pieces("left", "LEFT"),
        pieces("right", "RIGHT"),
    ]
    .concat();
    let (output, _test) = Test::new().tasks(&tasks).args(&["-j", "2", "both"]).run();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for name in ["LEFT", "RIGHT"] {
        for i in 1..=4 {
            let line = format!("{name} line {i} of 4");
            assert!(
                stderr.lines().any(|l| l.ends_with(&line)),
                "`{line}` is not a whole line:\n{stderr}"
            );
        }
    }
    // Both ran at once: each started before the other finished.
    let position = |line: &str| stderr.find(line).unwrap();
    assert!(
        position("LEFT line 1") < position("RIGHT line 4")
            && position("RIGHT line 1") < position("LEFT line 4"),
        "the tasks did not run side by side:\n{stderr}"
    );
}
