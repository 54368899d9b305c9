//! The one wasmtime `Engine` of the process, and the epoch ticker that lets a
//! running plugin be interrupted.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::Engine;

/// How often the epoch advances. A plugin running wasm code yields to the async
/// runtime at every tick, which is what lets timeouts and Ctrl-C stop a busy loop.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Returns the process-wide engine, creating it (and the ticker) on first use.
pub fn engine() -> wasmtime::Result<&'static Engine> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine);
    }
    let engine = create()?;
    let engine = ENGINE.get_or_init(|| engine);
    start_ticker(engine.clone());
    Ok(engine)
}

fn create() -> wasmtime::Result<Engine> {
    let (engine, unpooled) = super::engine_config::create()?;
    if let Some(error) = unpooled {
        tracing::debug!("pooling allocator unavailable ({error:#}); using on-demand allocation");
    }
    Ok(engine)
}

fn start_ticker(engine: Engine) {
    std::thread::Builder::new()
        .name("run-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("failed to start the epoch thread");
}

pub use super::engine_config::compatibility_key;
