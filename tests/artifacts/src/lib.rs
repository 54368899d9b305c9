//! Paths of the test programs, built for wasm32-wasip2 by build.rs. For the
//! runner's tests only (a dev-dependency): release builds never build them.

/// The fixture plugin built from tests/programs (with the SDK).
pub const FIXTURE: &str = env!("RUN_TEST_PROGRAM_FIXTURE");

/// The hostile plugin built from tests/hostile (no SDK).
pub const HOSTILE: &str = env!("RUN_TEST_PROGRAM_HOSTILE");

include!(concat!(env!("OUT_DIR"), "/programs.rs"));
