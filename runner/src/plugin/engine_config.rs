//! The engine's configuration, shared by the runner and runner/build.rs
//! (which includes this file with `#[path]`): the built-in plugins are
//! precompiled at build time with exactly this configuration, so the running
//! engine's compatibility hash matches theirs and their code is loaded, not
//! compiled. Only wasmtime, sha2 and hex may be used here (build.rs has no
//! other dependencies), and no `crate::` paths.

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The most a task's `memory` may raise a plugin's memory to: what the
/// engine reserves per memory.
pub const MAX_MEMORY: u64 = 4 << 30;

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config
}

/// The pooling allocator makes instantiation cheap, but reserves address space
/// up front; on a small VM that reservation can fail, so fall back to
/// on-demand allocation. Returns the engine, and why pooling was not used.
pub fn create() -> wasmtime::Result<(Engine, Option<wasmtime::Error>)> {
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
        Ok(engine) => Ok((engine, None)),
        Err(error) => Ok((Engine::new(&base_config())?, Some(error))),
    }
}

/// A hex key for the engine's compilation settings: precompiled code is only
/// valid for the same wasmtime version and configuration (and the CPU
/// features it detected). SHA-256 over what `precompile_compatibility_hash`
/// feeds a hasher, so the key is stable across builds of the runner (std's
/// `DefaultHasher` promises no such thing).
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
