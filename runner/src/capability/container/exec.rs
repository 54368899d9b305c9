//! `exec` with streaming: stdin from a granted file, stdout into a granted file
//! (compressed and hashed on the way) or captured, stderr's tail, and the exit
//! code read back once the output ends.

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::engine::{ExecChunk, ExecSpec};
use super::stream::{FileSink, Tail};
use super::{ContainerHost, engine, engine_error, io_error};
use crate::plugin::bindings::container::{ContainerError, ExecRequest, ExecResult};

/// Captured stdout is for small outputs; large ones go to a file.
const CAPTURE_LIMIT: usize = 1 << 20;
const STDERR_TAIL: usize = 64 << 10;

impl ContainerHost {
    pub(super) async fn run_exec(
        &self,
        name: &str,
        request: ExecRequest,
    ) -> Result<ExecResult, ContainerError> {
        let engine = engine().await?;
        let stdin = match &request.stdin_file {
            Some(file) => {
                let path = self.file(file, false)?;
                Some(
                    super::stream::open(&path, request.stdin_compression)
                        .await
                        .map_err(|e| io_error(file, e))?,
                )
            }
            None => None,
        };
        let mut sink = match &request.stdout_file {
            Some(file) => {
                let path = self.file(file, true)?;
                Some((
                    FileSink::create(&path, request.stdout_compression)
                        .await
                        .map_err(|e| io_error(file, e))?,
                    path,
                    file.clone(),
                ))
            }
            None => None,
        };
        let spec = ExecSpec {
            command: request.command,
            user: request.user,
            env: request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            workdir: request.workdir,
            stdin: stdin.is_some(),
        };
        let session = engine.exec_start(name, spec).await.map_err(engine_error)?;
        let (mut output, mut input) = (session.output, session.input);
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A command that exits without reading all its input breaks the
                // pipe; its exit code is what reports that, not this copy.
                let _ = tokio::io::copy(&mut stdin, &mut input).await;
            }
            let _ = input.shutdown().await;
        };
        let mut captured = Vec::new();
        let mut stdout_bytes = 0u64;
        let mut stdout_tail = Tail::new(4096);
        let mut stderr = Tail::new(STDERR_TAIL);
        let drain = async {
            while let Some(chunk) = output.next().await {
                match chunk.map_err(engine_error)? {
                    ExecChunk::Stdout(bytes) => match &mut sink {
                        Some((sink, _, file)) => {
                            sink.write(&bytes).await.map_err(|e| io_error(file, e))?
                        }
                        None => {
                            stdout_bytes += bytes.len() as u64;
                            stdout_tail.push(&bytes);
                            let room = CAPTURE_LIMIT.saturating_sub(captured.len());
                            captured.extend_from_slice(&bytes[..bytes.len().min(room)]);
                        }
                    },
                    ExecChunk::Stderr(bytes) => stderr.push(&bytes),
                }
            }
            Ok::<(), ContainerError>(())
        };
        let (_, drained) = tokio::join!(feed, drain);
        let finished = match drained {
            Ok(()) => match sink {
                Some((sink, path, file)) => match sink.finish().await {
                    Ok((info, raw, tail)) => {
                        stdout_bytes = raw;
                        stdout_tail = Tail::new(4096);
                        stdout_tail.push(&tail);
                        Ok(Some(info))
                    }
                    Err(e) => Err((io_error(&file, e), Some(path))),
                },
                None => Ok(None),
            },
            Err(error) => Err((error, sink.map(|(_, path, _)| path))),
        };
        let file = match finished {
            Ok(file) => file,
            Err((error, path)) => {
                if let Some(path) = path {
                    let _ = tokio::fs::remove_file(path).await;
                }
                return Err(error);
            }
        };
        let exit_code = engine
            .exec_exit_code(&session.id)
            .await
            .map_err(engine_error)?;
        Ok(ExecResult {
            exit_code,
            stdout: captured,
            stderr: stderr.into_bytes(),
            stdout_bytes,
            stdout_tail: stdout_tail.into_bytes(),
            file,
        })
    }
}
