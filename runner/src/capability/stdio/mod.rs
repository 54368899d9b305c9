//! A plugin's stdout and stderr: bounded and asynchronous.
//!
//! wasmtime-wasi's inherited stdio writes with a blocking system call inside
//! the host call, so a plugin writing to a pipe nobody reads (`run t | less`,
//! not scrolled) blocked the runtime thread, and neither the task's timeout
//! nor Ctrl-C could stop it. Here a plugin's writes go into a buffer of
//! [`OUTPUT_BUFFER`] bytes drained by a background task; when it is full the
//! plugin's write waits asynchronously, the task's future stays droppable,
//! and a timeout or interrupt stops the plugin like any other wait. The
//! buffer is drained by whole lines ([`whole_lines`]), so the runner's
//! messages and other tasks' output never land inside a plugin's line.

mod whole_lines;

use std::io::Write as _;
use std::sync::Arc;

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{AsyncStdoutStream, IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable};

use crate::plugin::limits::OUTPUT_BUFFER;
use whole_lines::{Leftover, Release, WholeLines};

/// One plugin output stream; clones share the buffer.
#[derive(Clone)]
pub struct Output {
    stream: Arc<AsyncStdoutStream>,
    terminal: bool,
    release: Release,
}

impl Output {
    fn new(
        writer: impl AsyncWrite + Send + Sync + Unpin + 'static,
        terminal: bool,
        leftover: Leftover,
    ) -> Output {
        let release = Release::default();
        Output {
            stream: Arc::new(AsyncStdoutStream::new(
                OUTPUT_BUFFER,
                WholeLines::new(writer, release.clone(), leftover),
            )),
            terminal,
            release,
        }
    }

    /// The runner's stdout. Must be called inside the tokio runtime.
    pub fn stdout() -> Output {
        Output::new(
            tokio::io::stdout(),
            std::io::IsTerminal::is_terminal(&std::io::stdout()),
            Box::new(|piece| {
                let _ = std::io::stdout().write_all(piece);
            }),
        )
    }

    /// The runner's stderr. Must be called inside the tokio runtime.
    pub fn stderr() -> Output {
        Output::new(
            tokio::io::stderr(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            Box::new(|piece| {
                let _ = std::io::stderr().write_all(piece);
            }),
        )
    }

    /// A file capturing the task's output (for GitHub Actions groups).
    pub fn file(file: std::fs::File) -> Output {
        let leftover: Leftover = match file.try_clone() {
            Ok(mut clone) => Box::new(move |piece| {
                let _ = clone.write_all(piece);
            }),
            Err(_) => Box::new(|_| {}),
        };
        Output::new(tokio::fs::File::from_std(file), false, leftover)
    }

    /// Waits until everything the plugin wrote has been handed to the
    /// destination, so the runner's own report comes after it. Waiting is
    /// asynchronous: the caller's timeout still applies.
    /// A last line without a newline is forwarded too.
    pub async fn flush(&self) {
        self.release.release();
        let mut stream = self.stream.p2_stream();
        if stream.flush().is_ok() {
            stream.ready().await;
        }
    }
}

impl IsTerminal for Output {
    fn is_terminal(&self) -> bool {
        self.terminal
    }
}

impl StdoutStream for Output {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        self.stream.p2_stream()
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        self.stream.async_stream()
    }
}
