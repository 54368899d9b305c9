//! A `run` started in the background whose stderr a test reads line by line:
//! to act at a given point of a run (signal it once a fault is applied).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::test::Test;

/// A `run` started in the background, its stderr read line by line.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub fn start(test: &Test, args: &[&str]) -> Running {
        let mut command = test.command();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `text`.
    pub fn wait_for(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!("no {text:?} on stderr; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits until each of `texts` was on a stderr line, in any order: for
    /// lines from two writers (the runner and a plugin) whose order is up to
    /// the scheduler.
    pub fn wait_for_all(&mut self, texts: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut missing: Vec<&str> = texts.to_vec();
        while !missing.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    missing.retain(|text| !line.contains(text));
                    self.seen.push(line);
                }
                Err(_) => panic!("no {missing:?} on stderr; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The `run` process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits for the exit; returns the status code and all of stderr.
    pub fn finish(mut self) -> (Option<i32>, String) {
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut rest);
        }
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        (
            status.code(),
            format!("{}\n--- stdout\n{rest}", self.seen.join("\n")),
        )
    }
}
