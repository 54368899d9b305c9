//! The one wasmtime `Engine` of the process, and the epoch ticker that lets a
//! running plugin be interrupted.

use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::limits::MAX_MEMORY;

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

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// The pooling allocator makes instantiation cheap, but reserves address space up
/// front; on a small VM that reservation can fail, so fall back to on-demand.
fn create() -> wasmtime::Result<Engine> {
    let mut pooled = base_config();
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(32)
        .total_core_instances(256)
        .total_memories(64)
        .total_tables(256)
        .total_stacks(32)
        .max_memory_size(MAX_MEMORY as usize);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    match Engine::new(&pooled) {
        Ok(engine) => Ok(engine),
        Err(error) => {
            tracing::debug!(
                "pooling allocator unavailable ({error:#}); using on-demand allocation"
            );
            Engine::new(&base_config())
        }
    }
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

/// A hex key for the engine's compilation settings: precompiled code is only
/// valid for the same wasmtime version and configuration. SHA-256 over what
/// `precompile_compatibility_hash` feeds a hasher, so the key is stable across
/// builds of the runner (std's `DefaultHasher` promises no such thing).
pub fn compatibility_key(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};

    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            unreachable!("only the digest is read")
        }
    }

    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}
