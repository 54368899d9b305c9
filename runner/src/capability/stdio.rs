//! A plugin's stdout and stderr: bounded and asynchronous.
//!
//! wasmtime-wasi's inherited stdio writes with a blocking system call inside
//! the host call, so a plugin writing to a pipe nobody reads (`run t | less`,
//! not scrolled) blocked the runtime thread, and neither the task's timeout
//! nor Ctrl-C could stop it. Here a plugin's writes go into a buffer of
//! [`OUTPUT_BUFFER`] bytes drained by a background task; when it is full the
//! plugin's write waits asynchronously, the task's future stays droppable,
//! and a timeout or interrupt stops the plugin like any other wait.

use std::sync::Arc;

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{AsyncStdoutStream, IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable};

use crate::plugin::limits::OUTPUT_BUFFER;

/// One plugin output stream; clones share the buffer.
#[derive(Clone)]
pub struct Output {
    stream: Arc<AsyncStdoutStream>,
    terminal: bool,
}

impl Output {
    fn new(writer: impl AsyncWrite + Send + Sync + 'static, terminal: bool) -> Output {
        Output {
            stream: Arc::new(AsyncStdoutStream::new(OUTPUT_BUFFER, writer)),
            terminal,
        }
    }

    /// The runner's stdout. Must be called inside the tokio runtime.
    pub fn stdout() -> Output {
        Output::new(
            tokio::io::stdout(),
            std::io::IsTerminal::is_terminal(&std::io::stdout()),
        )
    }

    /// The runner's stderr. Must be called inside the tokio runtime.
    pub fn stderr() -> Output {
        Output::new(
            tokio::io::stderr(),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        )
    }

    /// A file capturing the task's output (for GitHub Actions groups).
    pub fn file(file: std::fs::File) -> Output {
        Output::new(tokio::fs::File::from_std(file), false)
    }

    /// Waits until everything the plugin wrote has been handed to the
    /// destination, so the runner's own report comes after it. Waiting is
    /// asynchronous: the caller's timeout still applies.
    pub async fn flush(&self) {
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
